"""Typed events produced by the speech pipeline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    speaker: str
    offset_ms: int


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start_ms: int
    end_ms: int
    confidence: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """A partial (`final=False`) or final recognition result for one VAD segment.

    Offsets are milliseconds from the start of the leg. `latency_ms` is the time from the end of
    speech (VAD segment close) to this final result; 0 for partials.
    """

    speaker: str
    text: str
    final: bool
    start_ms: int
    end_ms: int
    engine: str
    latency_ms: float = 0.0
    segment: int = 0
    words: tuple[Word, ...] = ()  # word timings, where the engine gives them


@dataclass(frozen=True, slots=True)
class RecognitionUnavailable:
    """A segment could not be recognised live (engine overloaded); `reason` says why."""

    speaker: str
    start_ms: int
    end_ms: int
    reason: str
