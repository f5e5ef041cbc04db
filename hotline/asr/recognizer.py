"""The one interface every speech engine implements.

A `Recognizer` is shared by all calls of a process (it owns the loaded model); each call leg
opens a `RecognizerStream`. Streams are synchronous and are driven from one thread per leg, so an
engine never sees concurrent calls on one stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from hotline.system.errors import HotlineError


class AsrError(HotlineError):
    retryable = False


class ModelNotFound(AsrError):
    """No model could be resolved for the configured engine/language."""


class AsrOverloaded(AsrError):
    """The engine's queue is full: this segment is not recognised live (the post-call
    transcription still covers it from the recording)."""

    retryable = True

    retryable = True


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """Recognised text; `words` are (word, start s, end s, confidence) from the start of the
    segment's audio, where the engine gives them."""

    text: str
    words: tuple[tuple[str, float, float, float], ...] = ()
    engine: str = ""  # the engine that produced it, where a recognizer routes between several


class RecognizerStream(Protocol):
    def accept(self, pcm: bytes) -> Hypothesis | None:
        """Feed audio of the open segment (16 kHz s16 mono); returns a new partial, if any."""

    def finish(self, segment_pcm: bytes) -> Hypothesis:
        """Close the segment and return its final result. `segment_pcm` is the whole segment,
        for engines that decode per segment rather than streaming."""

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """From the next segment on, listen for these phrases only (grammar mode; engines that
        cannot restrict use them as a bias); None returns to open vocabulary."""

    def set_language(self, language: str) -> bool:
        """From the next segment on, recognise `language`; False if this engine cannot switch (a
        Vosk model is one language)."""

    def close(self) -> None: ...


class Recognizer(Protocol):
    name: str
    model: str
    language: str
    streaming: bool  # True when partials come from `accept`
    # True: `set_phrases` restricts what can be recognised (a grammar); False: phrases only bias it
    restricts_to_phrases: bool

    def open_stream(self, rate: int = 16000) -> RecognizerStream:
        """A stream for one leg whose audio arrives at `rate` Hz."""
