from __future__ import annotations

import math

import numpy as np
import pytest

from hotline.asr.vad import Segmenter, SpeechEnd, SpeechStart, VadConfig, VadState, frame_dbfs
from hotline.telephony.frames import FRAME_SAMPLES, SAMPLE_RATE, AudioFrame

rng = np.random.default_rng(7)


def frames_of(signal: np.ndarray, first_seq: int = 0) -> list[AudioFrame]:
    n = len(signal) // FRAME_SAMPLES
    return [AudioFrame(signal[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES].astype(np.int16).tobytes(), first_seq + i)
            for i in range(n)]


def voiced(seconds: float, amplitude: float = 8000) -> np.ndarray:
    """A crude vowel: harmonics of a 140 Hz pitch, amplitude-modulated at a syllable rate."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * math.pi * 140 * k * t) / k for k in range(1, 12))
    envelope = 0.6 + 0.4 * np.sin(2 * math.pi * 4 * t)
    return amplitude * tone * envelope / 3


def run(seg: Segmenter, frames: list[AudioFrame]) -> list[object]:
    events: list[object] = []
    for f in frames:
        events.extend(seg.push(f))
    return events


def test_silence_only_opens_nothing() -> None:
    seg = Segmenter()
    assert run(seg, frames_of(np.zeros(SAMPLE_RATE * 3))) == []
    assert seg.state is VadState.SILENCE


def test_white_noise_below_energy_floor_opens_nothing() -> None:
    noise = rng.normal(0, 60, SAMPLE_RATE * 3)  # about -55 dBFS: webrtcvad alone fires on white noise
    assert frame_dbfs(noise[:320].astype(np.int16).tobytes()) < -50
    assert run(Segmenter(), frames_of(noise)) == []


def test_speech_in_noise_gives_one_segment_with_offsets() -> None:
    signal = np.concatenate([np.zeros(SAMPLE_RATE), voiced(1.5), np.zeros(SAMPLE_RATE)])
    signal = signal + rng.normal(0, 60, len(signal))
    events = run(Segmenter(VadConfig(hangover_ms=400)), frames_of(signal))
    starts = [e for e in events if isinstance(e, SpeechStart)]
    ends = [e for e in events if isinstance(e, SpeechEnd)]
    assert len(starts) == 1 and len(ends) == 1
    assert 800 <= starts[0].offset_ms <= 1100
    assert 2400 <= ends[0].end_ms <= 2700
    assert not ends[0].truncated
    # the segment carries its audio, pre-roll included
    assert len(ends[0].pcm) == (ends[0].end_ms - ends[0].start_ms) // 20 * 640 + 400 // 20 * 640


def test_short_blip_is_not_speech() -> None:
    signal = np.concatenate([np.zeros(SAMPLE_RATE), voiced(0.04), np.zeros(SAMPLE_RATE)])
    assert run(Segmenter(VadConfig(onset_ms=100)), frames_of(signal)) == []


def test_max_utterance_length_cuts_the_segment() -> None:
    events = run(Segmenter(VadConfig(max_utterance_ms=1000)), frames_of(voiced(2.5)))
    ends = [e for e in events if isinstance(e, SpeechEnd)]
    assert ends and ends[0].truncated
    assert ends[0].end_ms - ends[0].start_ms <= 1000


def test_flush_closes_open_segment() -> None:
    seg = Segmenter()
    run(seg, frames_of(voiced(1.0)))
    assert seg.state is VadState.SPEECH
    events = seg.flush(1000)
    assert len(events) == 1 and isinstance(events[0], SpeechEnd)
    assert seg.state is VadState.SILENCE


@pytest.mark.parametrize("mode", [0, 3])
def test_modes_accepted(mode: int) -> None:
    assert Segmenter(VadConfig(mode=mode)).state is VadState.SILENCE
