"""Voice activity segmentation: 20 ms frames in, speech start/end events out.

webrtcvad decides per frame; this module adds the hysteresis a telephone call needs: a minimum
run of speech frames before a segment opens (onset), a hangover of non-speech before it closes,
a maximum utterance length, and an energy floor below which a frame never counts as speech.

The hangover is the price of every turn (the IVR cannot answer before it has run out), so the
call session shortens it where a short, complete answer is expected (`set_hangover`). Long
segments are cut at a shorter pause once they have run `split_after_ms`, so the recogniser gets
pieces it decodes quickly instead of one long monologue at the end.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import webrtcvad

from hotline.telephony.frames import FRAME_MS, SAMPLE_RATE, AudioFrame


class VadState(enum.Enum):
    SILENCE = "silence"
    ONSET = "onset"  # speech frames seen, not yet enough to open a segment
    SPEECH = "speech"
    HANGOVER = "hangover"  # segment open, trailing non-speech being counted


@dataclass(frozen=True, slots=True)
class VadConfig:
    mode: int = 2
    onset_ms: int = 100
    hangover_ms: int = 500  # while no particular answer is expected (announcements, bridged calls)
    short_hangover_ms: int = 300  # a menu phrase, spoken digits, yes or no (bench.endpointing)
    open_hangover_ms: int = 700  # an answer in the caller's own words (`ask` nodes): room to think
    split_after_ms: int = 6000  # a segment this long closes at a `split_pause_ms` pause; 0: never
    split_pause_ms: int = 200
    max_utterance_ms: int = 15000
    pre_roll_ms: int = 200
    energy_floor_dbfs: float = -50.0


@dataclass(frozen=True, slots=True)
class SpeechStart:
    offset_ms: int


@dataclass(frozen=True, slots=True)
class SpeechEnd:
    """A finished segment. `pcm` holds the segment's audio including pre-roll."""

    start_ms: int
    end_ms: int
    pcm: bytes
    truncated: bool = False


VadEvent = SpeechStart | SpeechEnd


def frame_dbfs(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32)
    rms = math.sqrt(float(np.mean(samples * samples))) if samples.size else 0.0
    return 20.0 * math.log10(max(rms, 1e-9) / 32768.0)


@dataclass
class Segmenter:
    """Synchronous and pure apart from webrtcvad: feed frames with `push`, act on returned events."""

    config: VadConfig = field(default_factory=VadConfig)
    rate: int = SAMPLE_RATE
    state: VadState = VadState.SILENCE

    def __post_init__(self) -> None:
        self._vad = webrtcvad.Vad(self.config.mode)
        self._onset_frames = max(1, self.config.onset_ms // FRAME_MS)
        self._hangover_frames = max(1, self.config.hangover_ms // FRAME_MS)
        self._split_frames = self.config.split_after_ms // FRAME_MS
        self._split_pause_frames = max(1, self.config.split_pause_ms // FRAME_MS)
        self._max_frames = max(1, self.config.max_utterance_ms // FRAME_MS)
        self._pre_roll: deque[AudioFrame] = deque(maxlen=max(1, self.config.pre_roll_ms // FRAME_MS))
        self._segment: list[bytes] = []
        self._start_ms = 0
        self._run = 0  # consecutive speech (ONSET) or non-speech (HANGOVER) frames

    @property
    def hangover_ms(self) -> int:
        return self._hangover_frames * FRAME_MS

    def set_hangover(self, ms: int) -> None:
        """Non-speech that closes a segment from now on; a segment already past it closes at the
        next frame."""
        self._hangover_frames = max(1, ms // FRAME_MS)

    def is_speech(self, frame: AudioFrame) -> bool:
        if frame_dbfs(frame.pcm) < self.config.energy_floor_dbfs:
            return False
        return bool(self._vad.is_speech(frame.pcm, self.rate))

    def push(self, frame: AudioFrame) -> list[VadEvent]:
        speech = self.is_speech(frame)
        events: list[VadEvent] = []
        if self.state is VadState.SILENCE:
            if speech:
                self.state, self._run = VadState.ONSET, 1
                self._segment = [f.pcm for f in self._pre_roll]
                self._start_ms = self._pre_roll[0].offset_ms if self._pre_roll else frame.offset_ms
                self._segment.append(frame.pcm)
            else:
                self._pre_roll.append(frame)
        elif self.state is VadState.ONSET:
            self._segment.append(frame.pcm)
            if speech:
                self._run += 1
                if self._run >= self._onset_frames:
                    self.state, self._run = VadState.SPEECH, 0
                    events.append(SpeechStart(self._start_ms))
            else:
                # a blip, not speech: return to silence and keep the audio as pre-roll
                self.state = VadState.SILENCE
                self._pre_roll.append(frame)
                self._segment = []
        else:
            self._segment.append(frame.pcm)
            if speech:
                self.state, self._run = VadState.SPEECH, 0
            else:
                self.state = VadState.HANGOVER
                self._run += 1
            end_ms = frame.offset_ms + FRAME_MS
            if self.state is VadState.HANGOVER and (self._run >= self._hangover_frames or self._split_due()):
                events.append(self._close(end_ms - self._run * FRAME_MS, truncated=False))
            elif len(self._segment) >= self._max_frames:
                events.append(self._close(end_ms, truncated=True))
        return events

    def _split_due(self) -> bool:
        """A segment that had run `split_after_ms` (pre-roll included) when a pause began ends once
        the pause has lasted `split_pause_ms`."""
        return (0 < self._split_frames <= len(self._segment) - self._run
                and self._run >= self._split_pause_frames)

    def current_audio(self) -> bytes:
        """Audio of the segment being collected (pre-roll included)."""
        return b"".join(self._segment)

    def flush(self, end_ms: int) -> list[VadEvent]:
        """End of input: close an open segment."""
        if self.state in (VadState.SPEECH, VadState.HANGOVER):
            return [self._close(end_ms - self._run * FRAME_MS, truncated=True)]
        self.state = VadState.SILENCE
        return []

    def _close(self, end_ms: int, truncated: bool) -> SpeechEnd:
        """The segment's audio ends in at least `config.hangover_ms` of non-speech, padded with
        silence when a shorter pause closed it: recognisers were measured on such segments, and
        Moonshine's text changed with 200 ms less of it ("trap" for "track" over a SIPp call)."""
        pcm = b"".join(self._segment)
        missing = self.config.hangover_ms // FRAME_MS - self._run
        if not truncated and missing > 0:
            pcm += bytes(len(self._segment[-1]) * missing)
        event = SpeechEnd(self._start_ms, end_ms, pcm, truncated)
        self.state, self._run, self._segment = VadState.SILENCE, 0, []
        self._pre_roll.clear()
        return event
