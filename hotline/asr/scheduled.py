"""A Recognizer whose segments are decoded by a scheduler, in this process or in the node's
recognition service: the per-leg streams only keep a call's language, phrases and open segment.

Partial policy: Moonshine and Whisper are not streaming, so a partial is a decode of the segment
so far. Re-decoding costs grow with the segment, and short answers gain nothing from partials
(their final arrives as quickly), so a stream asks for one only once the segment is
`PARTIAL_MIN_S` long and then every `PARTIAL_EVERY_S`; the scheduler runs them only when no
final waits and a decoder is idle, and drops them otherwise. Results come back asynchronously:
`accept` never waits for a decode, so finals are never delayed by partials on the leg.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol

from hotline.asr.engines import EngineSet
from hotline.asr.factory import AsrConfig, build_recognizer, resolve_engine
from hotline.asr.recognizer import Hypothesis, Recognizer
from hotline.asr.scheduler import Job, Scheduler, SchedulerConfig

PARTIAL_MIN_S = 2.0
PARTIAL_EVERY_S = 1.0
_ids = itertools.count(1)


class DecodeBackend(Protocol):
    def final(self, stream: str, pcm: bytes, rate: int, language: str, phrases: Sequence[str] | None) -> Hypothesis:
        """Blocks until the segment is decoded; AsrOverloaded when it cannot be."""

    def partial(self, stream: str, pcm: bytes, rate: int, language: str) -> Future[Hypothesis]:
        """A decode of an open segment that may be skipped (the future then fails)."""


class LocalBackend:
    """Engines and scheduler in this process (the recognition service itself, tools, benches)."""

    def __init__(self, engines: EngineSet, scheduler: Scheduler) -> None:
        self.engines, self.scheduler = engines, scheduler

    def final(self, stream: str, pcm: bytes, rate: int, language: str, phrases: Sequence[str] | None) -> Hypothesis:
        return self.submit_final(stream, pcm, rate, language, phrases).result()

    def submit_final(self, stream: str, pcm: bytes, rate: int, language: str,
                     phrases: Sequence[str] | None) -> Future[Hypothesis]:
        job = Job(stream, "final", len(pcm) / (2 * rate), lambda: self.engines.decode(pcm, rate, language, phrases))
        return self.scheduler.submit(job)

    def partial(self, stream: str, pcm: bytes, rate: int, language: str) -> Future[Hypothesis]:
        job = Job(stream, "partial", len(pcm) / (2 * rate), lambda: self.engines.partial(pcm, rate, language))
        return self.scheduler.submit(job)

    def close(self) -> None:
        self.scheduler.close()


class ScheduledRecognizer:
    restricts_to_phrases = False

    def __init__(self, backend: DecodeBackend, language: str, engine: str, model: str, partials: bool) -> None:
        self.backend = backend
        self.language = language
        self.name = engine
        self.model = model
        self.streaming = partials  # the pipeline feeds open segments only to streaming recognizers

    def open_stream(self, rate: int = 16000) -> ScheduledStream:
        return ScheduledStream(self, rate)


def local_recognizer(engines: EngineSet, config: SchedulerConfig | None = None,
                     partials: bool | None = None) -> ScheduledRecognizer:
    cfg = engines.cfg
    engines.load(cfg.language)
    backend = LocalBackend(engines, Scheduler(config or SchedulerConfig(decoders=1, max_queued=64)))
    return ScheduledRecognizer(backend, cfg.language, engines.primary, engines.model_of(engines.primary),
                               cfg.partials if partials is None else partials)


def in_process_recognizer(cfg: AsrConfig, vocabulary: tuple[str, ...] = (), partials: bool = False) -> Recognizer:
    """What a node's workers get from the recognition service, in this process (tools, benches):
    English to Moonshine, other languages to Whisper, per segment; Vosk as it is."""
    if resolve_engine(cfg) == "vosk":
        return build_recognizer(cfg, vocabulary)
    return local_recognizer(EngineSet(cfg, vocabulary), partials=partials)


class ScheduledStream:
    def __init__(self, recognizer: ScheduledRecognizer, rate: int) -> None:
        self._rec = recognizer
        self._rate = rate
        self._id = f"s{next(_ids)}"
        self._language = recognizer.language
        self._phrases: tuple[str, ...] | None = None
        self._audio: list[bytes] = []
        self._bytes = 0
        self._asked_at = 0  # segment bytes when the last partial was asked for
        self._partial: Future[Hypothesis] | None = None
        self._last_text = ""

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        self._phrases = tuple(phrases) if phrases else None

    def set_language(self, language: str) -> bool:
        self._language = language  # the service routes each segment to the engine for its language
        return True

    def accept(self, pcm: bytes) -> Hypothesis | None:
        self._audio.append(pcm)
        self._bytes += len(pcm)
        bps = 2 * self._rate
        result = None
        if self._partial is not None and self._partial.done():
            done, self._partial = self._partial, None
            if done.exception() is None:
                hyp = done.result()
                if hyp.text and hyp.text != self._last_text:
                    self._last_text = hyp.text
                    result = hyp
        if (self._rec.streaming and self._partial is None and self._bytes >= PARTIAL_MIN_S * bps
                and self._bytes - self._asked_at >= PARTIAL_EVERY_S * bps):
            self._asked_at = self._bytes
            self._partial = self._rec.backend.partial(self._id, b"".join(self._audio), self._rate, self._language)
        return result

    def finish(self, segment_pcm: bytes) -> Hypothesis:
        self._audio, self._bytes, self._asked_at = [], 0, 0
        self._partial, self._last_text = None, ""  # a partial still running belongs to this segment
        return self._rec.backend.final(self._id, segment_pcm, self._rate, self._language, self._phrases)

    def close(self) -> None:
        self._audio = []
