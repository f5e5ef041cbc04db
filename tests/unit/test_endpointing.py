"""Endpointing: the hangover changed while a call runs, and long segments cut at shorter pauses.
Real webrtcvad on espeak-ng speech (16 kHz) and on the synthetic vowel of test_vad."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from hotline.asr.vad import Segmenter, SpeechEnd, SpeechStart, VadConfig
from hotline.telephony.frames import FRAME_MS, SAMPLE_RATE
from tests.conftest import synthesize
from tests.unit.test_vad import frames_of, voiced


@pytest.fixture(scope="module")
def said(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """espeak-ng phrases at 16 kHz, leading and trailing silence trimmed."""
    out: dict[str, np.ndarray] = {}
    for name, text in {"first": "one two three four", "second": "five six seven eight",
                       "sentence": "I would like to know where my parcel is and when it will arrive"}.items():
        path = synthesize(text, tmp_path_factory.mktemp("said") / f"{name}.wav", rate=SAMPLE_RATE)
        with wave.open(str(path), "rb") as w:
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        loud = np.flatnonzero(np.abs(samples) > 300)
        out[name] = samples[loud[0]:loud[-1] + 1]
    return out


def silence(ms: int) -> np.ndarray:
    return np.zeros(SAMPLE_RATE * ms // 1000, dtype=np.int16)


def segments(seg: Segmenter, signal: np.ndarray) -> list[tuple[SpeechEnd, int]]:
    """Each SpeechEnd with the offset (ms) of the frame that closed it."""
    out = []
    for frame in frames_of(signal):
        out += [(e, frame.offset_ms + FRAME_MS) for e in seg.push(frame) if isinstance(e, SpeechEnd)]
    return out


def test_a_short_hangover_ends_the_utterance_sooner(said: dict[str, np.ndarray]) -> None:
    signal = np.concatenate([silence(500), said["sentence"], silence(1500)])
    speech_end = (500 * SAMPLE_RATE // 1000 + len(said["sentence"])) * 1000 // SAMPLE_RATE
    closed = {}
    for hangover in (500, 300):
        seg = Segmenter(VadConfig())
        seg.set_hangover(hangover)
        assert seg.hangover_ms == hangover
        (end, at), = segments(seg, signal)
        assert abs(end.end_ms - speech_end) <= 60 and not end.truncated
        closed[hangover] = at - end.end_ms
    assert closed == {500: 500, 300: 300}


def test_a_segment_closed_sooner_gives_the_recogniser_the_same_audio(said: dict[str, np.ndarray]) -> None:
    """Padded with silence to the configured hangover: what the recogniser was measured on."""
    signal = np.concatenate([silence(500), said["sentence"], silence(1500)])
    (usual, _), = segments(Segmenter(VadConfig()), signal)
    short = Segmenter(VadConfig())
    short.set_hangover(300)
    (sooner, _), = segments(short, signal)
    assert sooner.end_ms == usual.end_ms and len(sooner.pcm) == len(usual.pcm)
    assert sooner.pcm[-200 * 32:] == bytes(200 * 32)  # the last 200 ms: padding


def test_a_pause_between_groups_splits_only_a_short_hangover(said: dict[str, np.ndarray]) -> None:
    signal = np.concatenate([silence(500), said["first"], silence(400), said["second"], silence(1000)])
    assert len(segments(Segmenter(VadConfig()), signal)) == 1  # the default 500 ms hangover holds it
    seg = Segmenter(VadConfig())
    seg.set_hangover(300)
    assert len(segments(seg, signal)) == 2  # the IVR gathers spoken digits over both (test_ivr_engine)


def test_changing_the_hangover_applies_to_the_open_segment() -> None:
    seg = Segmenter(VadConfig(hangover_ms=500))
    events: list[object] = []
    for frame in frames_of(np.concatenate([voiced(1.0), np.zeros(SAMPLE_RATE * 2)])):
        if frame.offset_ms == 1400:  # 400 ms into the trailing silence
            assert not any(isinstance(e, SpeechEnd) for e in events)
            seg.set_hangover(300)  # already past: the next frame closes it
        got = seg.push(frame)
        if any(isinstance(e, SpeechEnd) for e in got):
            assert frame.offset_ms == 1400
        events += got
    assert sum(isinstance(e, SpeechStart) for e in events) == 1
    assert sum(isinstance(e, SpeechEnd) for e in events) == 1


def monologue(pause_ms: int, parts: int = 6) -> np.ndarray:
    """1.5 s stretches of vowel separated by `pause_ms` pauses (9 s and more)."""
    chunks = [np.zeros(SAMPLE_RATE // 2)]
    for _ in range(parts):
        chunks += [voiced(1.5), np.zeros(SAMPLE_RATE * pause_ms // 1000)]
    chunks.append(np.zeros(SAMPLE_RATE))
    return np.concatenate(chunks)


def test_a_long_segment_is_cut_at_a_shorter_pause_after_split_after_ms() -> None:
    ends = [e for e, _ in segments(Segmenter(VadConfig(split_after_ms=6000, split_pause_ms=200)), monologue(260))]
    assert len(ends) == 2
    first, second = ends
    assert not first.truncated and 6000 <= first.end_ms - first.start_ms <= 7600
    # the cut lies in a pause: the first segment ends where speech stopped, the next starts after it
    assert first.end_ms < second.start_ms + 200 < first.end_ms + 260 + 200
    assert second.end_ms - second.start_ms < 6000


def test_no_cut_before_split_after_ms_nor_at_pauses_shorter_than_split_pause() -> None:
    assert len(segments(Segmenter(VadConfig(split_after_ms=0)), monologue(260))) == 1  # off
    assert len(segments(Segmenter(VadConfig(split_after_ms=6000, split_pause_ms=200)), monologue(140))) == 1
    short = Segmenter(VadConfig(split_after_ms=6000, split_pause_ms=200))
    assert len(segments(short, monologue(260, parts=3))) == 1  # 5.5 s: never long enough


def test_split_keeps_words_whole_on_real_speech(said: dict[str, np.ndarray]) -> None:
    """A 10 s monologue of espeak sentences with 250 ms between them: every cut falls into one of
    those pauses, never inside a sentence (espeak's own pauses between words are under 200 ms)."""
    gap = 250
    chunks, pauses, at = [silence(300)], [], 300
    while at < 10_000:
        chunks.append(said["sentence"])
        at += len(said["sentence"]) * 1000 // SAMPLE_RATE
        pauses.append((at, at + gap))
        chunks.append(silence(gap))
        at += gap
    chunks.append(silence(1000))
    ends = [e for e, _ in segments(Segmenter(VadConfig(split_after_ms=6000, split_pause_ms=200)),
                                   np.concatenate(chunks))]
    assert len(ends) >= 2
    for end in ends[:-1]:
        assert any(a - 60 <= end.end_ms <= b for a, b in pauses), (end.end_ms, pauses)

