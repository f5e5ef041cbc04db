"""Per-leg speech pipeline: frames -> VAD -> recognizer stream -> transcript events.

VAD runs on the loop (a few microseconds a frame) so frames are always drained; recognizer work
goes to the leg's single-thread executor in submission order and never blocks frame intake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hotline.asr.events import RecognitionUnavailable, SpeechStarted, Transcript, Word
from hotline.asr.recognizer import AsrOverloaded, Hypothesis, Recognizer
from hotline.asr.vad import Segmenter, SpeechEnd, SpeechStart, VadConfig, VadState
from hotline.telephony.frames import FRAME_MS, AudioFrame

log = logging.getLogger(__name__)

PipelineEvent = SpeechStarted | Transcript | RecognitionUnavailable
_END = object()
FEED_FRAMES = 5  # streaming engines get 100 ms per call: fewer thread hops, same partial cadence


class SpeechPipeline:
    def __init__(
        self,
        speaker: str,
        frames: AsyncIterable[AudioFrame],
        recognizer: Recognizer,
        vad: VadConfig | None = None,
        tap: Callable[[bytes], None] | None = None,
        rate: int = 16000,
    ) -> None:
        """`tap` sees every frame's audio as it arrives (the call recorder)."""
        self.speaker = speaker
        self._frames = frames
        self._tap = tap
        self._recognizer = recognizer
        self._segmenter = Segmenter(vad or VadConfig(), rate)
        self._stream = recognizer.open_stream(rate)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"asr-{speaker}")
        self._jobs: asyncio.Queue[tuple[str, asyncio.Future[Any]] | None] = asyncio.Queue()  # None ends
        self._events: asyncio.Queue[object] = asyncio.Queue()
        self._arrivals: deque[tuple[int, float]] = deque(maxlen=200)  # (frame offset, loop time)
        self._segment_no = 0
        self._seg_start = 0
        self._pending: list[bytes] = []  # audio of the open segment not yet fed to a streaming engine
        self._tasks: list[asyncio.Task[None]] = []
        self.asr_errors = 0

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._intake(), name=f"vad-{self.speaker}"),
            asyncio.create_task(self._results(), name=f"asr-{self.speaker}"),
        ]

    def _submit(self, kind: str, fn: Callable[..., Any], *args: Any) -> None:
        loop = asyncio.get_running_loop()
        self._jobs.put_nowait((kind, loop.run_in_executor(self._executor, fn, *args)))

    async def _intake(self) -> None:
        loop = asyncio.get_running_loop()
        last_offset = 0
        try:
            async for frame in self._frames:
                now = loop.time()
                if self._tap is not None:
                    self._tap(frame.pcm)
                self._arrivals.append((frame.offset_ms, now))
                last_offset = frame.offset_ms + FRAME_MS
                was_open = self._segmenter.state in (VadState.SPEECH, VadState.HANGOVER)
                for event in self._segmenter.push(frame):
                    self._on_vad(event, now)
                if was_open and self._segmenter.state is not VadState.SILENCE and self._recognizer.streaming:
                    self._pending.append(frame.pcm)
                    if len(self._pending) >= FEED_FRAMES:
                        self._feed()
            for event in self._segmenter.flush(last_offset):
                self._on_vad(event, loop.time())
        finally:
            self._jobs.put_nowait(None)

    def _on_vad(self, event: SpeechStart | SpeechEnd, now: float) -> None:
        if isinstance(event, SpeechStart):
            self._segment_no += 1
            self._events.put_nowait(SpeechStarted(self.speaker, event.offset_ms))
            if self._recognizer.streaming:
                # the segment so far (pre-roll + onset) has not been fed yet
                self._pending = [self._segmenter.current_audio()]
                self._feed()
            self._seg_start = event.offset_ms
        else:
            if self._pending:
                self._feed()
            eos = self._arrival_of(event.end_ms) or now
            self._submit("final", self._finish, event, eos)

    def set_phrases(self, phrases: tuple[str, ...] | None) -> None:
        """Grammar mode on (phrases) or off (None); applied in order with the audio already fed."""
        self._submit("control", self._stream.set_phrases, phrases)

    def set_language(self, language: str) -> None:
        """Recognise `language` from the next segment on (where the engine can switch)."""
        self._submit("control", self._stream.set_language, language)

    def set_hangover(self, ms: int) -> None:
        """Non-speech that ends an utterance from now on: short where a short answer is expected,
        so the IVR can answer sooner. Applies at once (the VAD runs on the loop)."""
        self._segmenter.set_hangover(ms)

    def _feed(self) -> None:
        self._submit("partial", self._stream.accept, b"".join(self._pending))
        self._pending = []

    def _finish(self, event: SpeechEnd, eos: float) -> tuple[SpeechEnd, float, Hypothesis | None]:
        try:
            return event, eos, self._stream.finish(event.pcm)
        except AsrOverloaded:
            return event, eos, None

    def _arrival_of(self, offset_ms: int) -> float | None:
        for off, t in reversed(self._arrivals):
            if off < offset_ms:
                return t
        return None

    async def _results(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            job = await self._jobs.get()
            if job is None:
                break
            kind, fut = job
            try:
                result = await fut
            except Exception:
                self.asr_errors += 1
                log.exception("recognizer failed", extra={"speaker": self.speaker})
                continue
            if kind == "control":
                continue
            if kind == "partial":
                if result:
                    self._events.put_nowait(
                        Transcript(self.speaker, result.text, False, self._seg_start, 0,
                                   result.engine or self._recognizer.name,
                                   segment=self._segment_no, words=self._words(result, self._seg_start))
                    )
            else:
                event, eos, hyp = result
                latency = (loop.time() - eos) * 1000.0
                if hyp is None:
                    self._events.put_nowait(
                        RecognitionUnavailable(self.speaker, event.start_ms, event.end_ms, "overloaded"))
                elif hyp.text:
                    self._events.put_nowait(
                        Transcript(self.speaker, hyp.text, True, event.start_ms, event.end_ms,
                                   hyp.engine or self._recognizer.name, latency_ms=latency, segment=self._segment_no,
                                   words=self._words(hyp, event.start_ms))
                    )
        self._events.put_nowait(_END)

    @staticmethod
    def _words(hyp: Hypothesis, segment_start_ms: int) -> tuple[Word, ...]:
        return tuple(Word(w, segment_start_ms + int(s * 1000), segment_start_ms + int(e * 1000), c)
                     for w, s, e, c in hyp.words)

    async def __aiter__(self) -> AsyncIterator[PipelineEvent]:
        while True:
            item = await self._events.get()
            if item is _END:
                return
            yield item  # type: ignore[misc]

    async def aclose(self, timeout: float = 30.0) -> None:
        """Wait for queued recognition to finish (finals are never dropped), then release."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), timeout)
        for task in self._tasks:
            task.cancel()
        self._executor.submit(self._stream.close)
        self._executor.shutdown(wait=False)
