"""Batched Whisper decoding: segments from several calls share one encoder pass.

Whisper's encoder always works on 30 s of audio, so its cost per segment is nearly fixed; when
callers finish speaking at the same time their segments are stacked into one batch instead of
queueing one after another. One thread per process owns the model; callers block on their job.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

NO_SPEECH_PROB = 0.6  # faster-whisper's defaults for dropping a segment as silence
LOGPROB_FLOOR = -1.0


@dataclass
class _Job:
    audio: np.ndarray
    prompt: str | None
    done: threading.Event = field(default_factory=threading.Event)
    text: str = ""
    error: BaseException | None = None


class WhisperBatcher:
    def __init__(self, model: Any, language: str, max_batch: int = 4) -> None:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self._model = model
        self._tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                                    language=language)
        self._suppress = get_suppressed_tokens(self._tokenizer, [-1])
        self.max_batch = max_batch
        self._queue: queue.Queue[_Job] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="whisper-batch", daemon=True)
        self._thread.start()
        self.batches = 0
        self.segments = 0

    def decode(self, audio: np.ndarray, prompt: str | None) -> str:
        job = _Job(audio, prompt)
        self._queue.put(job)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.text

    def _run(self) -> None:
        held: list[_Job] = []
        while True:
            first = held.pop(0) if held else self._queue.get()
            batch = [first]
            while True:
                try:
                    held.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # one prompt per batch: jobs with another prompt wait for the next pass
            for job in list(held):
                if len(batch) < self.max_batch and job.prompt == first.prompt:
                    batch.append(job)
                    held.remove(job)
            try:
                texts = self._decode_batch(batch)
                for job, text in zip(batch, texts, strict=True):
                    job.text = text
            except Exception as exc:  # the callers see it; the thread goes on
                for job in batch:
                    job.error = exc
            for job in batch:
                job.done.set()

    def _decode_batch(self, batch: list[_Job]) -> list[str]:
        from faster_whisper.audio import pad_or_trim

        m, tok = self._model, self._tokenizer
        features = np.stack([pad_or_trim(m.feature_extractor(job.audio)) for job in batch]).astype(np.float32)
        encoded = m.encode(features)
        previous = tok.encode(" " + batch[0].prompt.strip()) if batch[0].prompt else []
        prompt = m.get_prompt(tok, previous_tokens=previous, without_timestamps=True)
        results = m.model.generate(encoded, [list(prompt) for _ in batch], beam_size=1, max_length=m.max_length,
                                   suppress_blank=True, suppress_tokens=self._suppress,
                                   return_scores=True, return_no_speech_prob=True)
        self.batches += 1
        self.segments += len(batch)
        texts = []
        for result in results:
            tokens = [t for t in result.sequences_ids[0] if t < tok.eot]
            avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            if result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < LOGPROB_FLOOR:
                texts.append("")
            else:
                texts.append(tok.decode(tokens).strip())
        return texts
