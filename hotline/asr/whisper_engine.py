"""faster-whisper engine: one final result per VAD segment, language forced.

One model per process. With `batch_size` > 1, segments of calls that finish speaking at the
same time are decoded together (one encoder pass, see whisper_batch); otherwise decoding is
serialised so that concurrent calls queue instead of oversubscribing the CPU.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hotline.asr.models import whisper_model_path
from hotline.asr.recognizer import AsrOverloaded, Hypothesis
from hotline.asr.whisper_batch import WhisperBatcher
from hotline.ivr.numbers import DIGIT_WORDS as SPOKEN_DIGITS
from hotline.telephony.resample import resample_s16

DIGIT_WORDS = frozenset(w for words in SPOKEN_DIGITS.values() for w in words)


_YES_NO = {"yes", "no", "是", "不是", "对", "不对"}


class WhisperRecognizer:
    name = "whisper"
    restricts_to_phrases = False
    streaming = False

    def __init__(self, language: str = "en", model_dir: str | None = None, cpu_threads: int = 1,
                 hints: tuple[str, ...] = (), max_pending: int = 0, batch_size: int = 1,
                 concurrency: int = 1) -> None:
        """`max_pending`: segments allowed to wait or decode at once in this process before new
        ones are refused with AsrOverloaded (0 = unbounded). `concurrency`: segments decoded at
        once (one CTranslate2 worker each; the recognition service runs one per decoder)."""
        from faster_whisper import WhisperModel

        path: Path = whisper_model_path(model_dir)
        self.model = f"whisper-base:{path}" if model_dir is None else str(path)
        self.language = language.split("-")[0]
        self._model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=cpu_threads,
                                   num_workers=max(1, concurrency))
        self._lock = threading.BoundedSemaphore(max(1, concurrency))
        self._pending = 0
        self._pending_lock = threading.Lock()
        self.max_pending = max_pending
        self.refused = 0
        # biasing towards expected words: telephone-band speech confuses "parcel" with "power soul"
        # (a "Vocabulary: a, b." prompt worked where faster-whisper's bare `hotwords` did not)
        self._prompt = f"Vocabulary: {', '.join(hints)}." if hints else None
        self._batcher = WhisperBatcher(self._model, self.language, batch_size) if batch_size > 1 else None

    def transcribe(self, pcm: bytes, phrases: Sequence[str] | None = None, rate: int = 16000,
                   language: str | None = None) -> str:
        samples = np.frombuffer(pcm, dtype=np.int16)
        if rate != 16000 and samples.size:  # Whisper's features are defined at 16 kHz
            samples = resample_s16(samples, rate, 16000)
        audio = samples.astype(np.float32) / 32768.0
        if audio.size < 1600:  # under 0.1 s: nothing to decode
            return ""
        with self._pending_lock:
            if self.max_pending and self._pending >= self.max_pending:
                self.refused += 1
                raise AsrOverloaded(f"{self._pending} segments already queued for whisper")
            self._pending += 1
        try:
            language = language or self.language
            text = self._decode(audio, phrases, language)
            return simplified(text) if language.startswith("zh") else text
        finally:
            with self._pending_lock:
                self._pending -= 1

    def _prompt_for(self, phrases: Sequence[str] | None, language: str) -> str | None:
        # Measured on telephone-band speech (see docs/flows.md): digit words as a prompt made Whisper
        # complete the sequence ("seven nine" -> "seven eight"); numerals keep it on digits. A yes/no
        # list was echoed back ("Yes, no.") and the menu vocabulary turned "yes" into "Thank you." or
        # nothing; a question prompt gets short answers right.
        if not phrases:
            return self._prompt if language == self.language else None
        if set(phrases) <= _YES_NO:
            return "是不是？" if language.startswith("zh") else "Yes or no?"
        if set(phrases) <= DIGIT_WORDS:
            return "0 1 2 3 4 5 6 7 8 9"
        return f"Vocabulary: {', '.join(phrases)}."

    def _decode(self, audio: np.ndarray, phrases: Sequence[str] | None, language: str) -> str:
        prompt = self._prompt_for(phrases, language)
        if self._batcher is not None and language == self.language:
            return self._batcher.decode(audio, prompt)
        with self._lock:
            segments, _info = self._model.transcribe(
                audio,
                language=language,
                beam_size=1,
                vad_filter=False,
                condition_on_previous_text=False,
                without_timestamps=True,
                initial_prompt=prompt,
            )
            text = " ".join(s.text.strip() for s in segments)
        return text.strip()

    def open_stream(self, rate: int = 16000) -> _WhisperStream:
        return _WhisperStream(self, rate)


@functools.cache
def _to_simplified() -> Any:
    from opencc import OpenCC  # type: ignore[import-untyped]

    return OpenCC("t2s")


def simplified(text: str) -> str:
    """Chinese in simplified characters. Whisper writes Mandarin in traditional characters about as
    often as in simplified ones; the flows' words, the knowledge base and the agents read
    simplified (measured: a caller's "东西都摔坏了" came back "東西都摔壞了" and missed its menu
    choice)."""
    return _to_simplified().convert(text) if text else text


class _WhisperStream:
    def __init__(self, engine: WhisperRecognizer, rate: int) -> None:
        self._engine = engine
        self._rate = rate
        self._phrases: tuple[str, ...] | None = None
        self._language: str | None = None

    def accept(self, pcm: bytes) -> Hypothesis | None:
        return None

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        # Whisper cannot be restricted to a grammar: the phrases bias it through the prompt
        self._phrases = tuple(phrases) if phrases else None

    def set_language(self, language: str) -> bool:
        self._language = language  # Whisper is multilingual: any language it knows, per segment
        return True

    def finish(self, segment_pcm: bytes) -> Hypothesis:
        return Hypothesis(self._engine.transcribe(segment_pcm, self._phrases, self._rate, self._language))

    def close(self) -> None:
        pass
