"""Moonshine base-en engine: English only, one final result per VAD segment.

Moonshine's encoder works on the segment's own length (Whisper's always on 30 s), so a short
answer costs a fraction of what Whisper charges. Decoding is greedy with the merged decoder's KV
cache, capped at ~6.5 tokens per second of audio, and stops when the output falls into a loop
(a repeated n-gram at its end), which is then trimmed to one occurrence. An end of text as the
very first token is taken only when the model is sure of it (see FIRST_EOS_MAX).

One onnxruntime session pair per process (one thread each); segments are decoded one at a time so
concurrent calls queue instead of oversubscribing the CPU, and beyond `max_pending` waiting
segments new ones are refused with AsrOverloaded (the post-call transcript still covers them).
Moonshine cannot be biased: menu phrases and hints are accepted and ignored.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hotline.asr.moonshine_build import DECODER, ENCODER, TOKENIZER
from hotline.asr.moonshine_model import MoonshineTokenizer, moonshine_model_path
from hotline.asr.preempt import checkpoint
from hotline.asr.recognizer import AsrOverloaded, Hypothesis, ModelNotFound
from hotline.telephony.resample import resample_s16

TOKENS_PER_SECOND = 6.5
EXTRA_TOKENS = 4
MIN_SAMPLES = 1600  # under 0.1 s: nothing to decode
# a loop: an n-gram of up to LOOP_MAX_N tokens repeated LOOP_MIN_REPEATS times covering at least
# LOOP_MIN_TOKENS tokens ("no no no" and "zero zero zero zero" are speech, not a loop)
LOOP_MAX_N = 16
LOOP_MIN_REPEATS = 4
LOOP_MIN_TOKENS = 12
# End of text as the very first token with less than this probability is outvoted by the next best
# token: band-limited speech (espeak at 8 kHz: "no thank you", "yes please", "two") came out empty
# with P 0.2-0.77, while silence, noise, tones, DTMF and clicks give 0.91-1.0 and stay empty.
FIRST_EOS_MAX = 0.85


def tail_repeat(seq: Sequence[Hashable], max_n: int = LOOP_MAX_N) -> tuple[int, int]:
    """(n, k): the n-gram repeated k times back to back at the end of `seq` that covers the most
    items (k = 1 when nothing repeats); among equal coverage the shortest n."""
    best = (1, 1 if seq else 0)
    for n in range(1, min(max_n, len(seq) // 2) + 1):
        k = 1
        while (k + 1) * n <= len(seq) and seq[len(seq) - (k + 1) * n:len(seq) - k * n] == seq[len(seq) - n:]:
            k += 1
        if k > 1 and n * k > best[0] * best[1]:
            best = (n, k)
    return best


def is_loop(n: int, k: int) -> bool:
    return k >= LOOP_MIN_REPEATS and n * k >= LOOP_MIN_TOKENS


def trim_loop(tokens: list[int]) -> list[int]:
    """`tokens` with a trailing loop cut down to one occurrence of its n-gram."""
    n, k = tail_repeat(tokens)
    return tokens[:len(tokens) - n * (k - 1)] if is_loop(n, k) else tokens


def max_tokens_for(samples: int) -> int:
    return int(samples / 16000 * TOKENS_PER_SECOND) + EXTRA_TOKENS


class MoonshineModel:
    """An encoder/decoder session pair and greedy decoding (16 kHz float32 mono in, token ids out)."""

    def __init__(self, encoder: Path, decoder: Path, threads: int = 1) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        providers = ["CPUExecutionProvider"]
        self._encoder = ort.InferenceSession(str(encoder), options, providers=providers)
        self._decoder = ort.InferenceSession(str(decoder), options, providers=providers)
        self._past = [i.name for i in self._decoder.get_inputs() if i.name.startswith("past_key_values.")]
        self._outputs = [o.name for o in self._decoder.get_outputs()]
        past_input = next(i for i in self._decoder.get_inputs() if i.name in self._past)
        self._heads, self._head_dim = int(past_input.shape[1]), int(past_input.shape[3])
        self.vocab = int(self._decoder.get_outputs()[0].shape[-1])
        self.loops_cut = 0
        self.token_cap_hit = 0
        self.first_eos_overruled = 0
        self.lock = threading.Lock()  # held by whoever decodes: one segment at a time per process

    def generate(self, audio: np.ndarray, max_tokens: int, vocab: int | None = None) -> list[int]:
        """Greedy token ids (without <s> and </s>); `vocab` limits the ids that can be chosen."""
        return self.generate_checked(audio, max_tokens, vocab)[0]

    def generate_checked(self, audio: np.ndarray, max_tokens: int, vocab: int | None = None) -> tuple[list[int], bool]:
        """(token ids, suspect): suspect when decoding fell into a loop (cut) or ran out of tokens
        before the end of text, the cases where another engine should have a look."""
        hidden = self._encoder.run(None, {"input_values": audio.reshape(1, -1).astype(np.float32)})[0]
        empty = np.zeros((1, self._heads, 0, self._head_dim), dtype=np.float32)
        feeds: dict[str, Any] = {name: empty for name in self._past}
        feeds["encoder_hidden_states"] = hidden
        tokens: list[int] = []
        token, cache = MoonshineTokenizer.BOS, False
        limit = vocab or self.vocab
        for _ in range(max_tokens):
            checkpoint()  # a partial gives way to a waiting final here (hotline.asr.preempt)
            feeds["input_ids"] = np.array([[token]], dtype=np.int64)
            feeds["use_cache_branch"] = np.array([cache], dtype=np.bool_)
            outputs = self._decoder.run(None, feeds)
            logits = outputs[0][0, -1, :limit]
            token = int(np.argmax(logits))
            if token == MoonshineTokenizer.EOS and not cache and _probability(logits, token) < FIRST_EOS_MAX:
                self.first_eos_overruled += 1
                logits = logits.copy()
                logits[token] = -np.inf
                token = int(np.argmax(logits))
            if token == MoonshineTokenizer.EOS:
                return tokens, False
            tokens.append(token)
            n, k = tail_repeat(tokens)
            if is_loop(n, k):
                self.loops_cut += 1
                return tokens[:len(tokens) - n * (k - 1)], True
            for name, value in zip(self._outputs[1:], outputs[1:], strict=True):
                # the cached branch returns placeholders for the cross-attention keys/values:
                # those computed on the first step are kept
                if not cache or ".decoder." in name:
                    feeds[name.replace("present.", "past_key_values.")] = value
            cache = True
        self.token_cap_hit += 1
        return tokens, True


def _probability(logits: np.ndarray, token: int) -> float:
    return float(1.0 / np.exp(logits - logits[token]).sum())


def transcribe_with(encoder: Path, decoder: Path, audio: np.ndarray) -> str:
    """Text of `audio` (16 kHz float32) with a given model pair and the packaged tokenizer (the
    build compares its stages with this)."""
    from hotline.asr.moonshine_model import packaged_model_dir

    packaged = packaged_model_dir()
    tokenizer_dir = packaged if packaged is not None else encoder.parent
    tokenizer = MoonshineTokenizer(tokenizer_dir / TOKENIZER)
    model = MoonshineModel(encoder, decoder)
    return tokenizer.decode(model.generate(audio, max_tokens_for(audio.size), len(tokenizer)))


_shared: dict[Path, tuple[MoonshineModel, MoonshineTokenizer]] = {}
_shared_lock = threading.Lock()


def _load(path: Path) -> tuple[MoonshineModel, MoonshineTokenizer]:
    """One session pair per process and model directory, whatever the number of recognizers."""
    with _shared_lock:
        if path not in _shared:
            _shared[path] = (MoonshineModel(path / ENCODER, path / DECODER), MoonshineTokenizer(path / TOKENIZER))
        return _shared[path]


class MoonshineRecognizer:
    name = "moonshine"
    restricts_to_phrases = False
    streaming = False

    def __init__(self, language: str = "en", model_dir: str | None = None, max_pending: int = 0,
                 concurrent: bool = False) -> None:
        """`max_pending`: segments allowed to wait or decode at once in this process before new
        ones are refused with AsrOverloaded (0 = unbounded). `concurrent`: decode from several
        threads at once (the recognition service's decoders; onnxruntime sessions allow it)."""
        if language.split("-")[0].lower() != "en":
            raise ModelNotFound(f"Moonshine base-en recognises English only, not {language!r}")
        path = moonshine_model_path(model_dir)
        self.model = f"moonshine-base-en:{path}" if model_dir is None else str(path)
        self.language = "en"
        self._model, self._tokenizer = _load(path)
        self._lock = contextlib.nullcontext() if concurrent else self._model.lock  # shared by every recognizer
        self._pending = 0
        self._pending_lock = threading.Lock()
        self.max_pending = max_pending
        self.refused = 0

    @property
    def loops_cut(self) -> int:
        """Decodes stopped by the repetition guard (in this process)."""
        return self._model.loops_cut

    @property
    def first_eos_overruled(self) -> int:
        return self._model.first_eos_overruled

    def transcribe(self, pcm: bytes, rate: int = 16000) -> str:
        return self.transcribe_checked(pcm, rate)[0]

    def transcribe_checked(self, pcm: bytes, rate: int = 16000) -> tuple[str, bool]:
        """(text, suspect): see MoonshineModel.generate_checked."""
        samples = np.frombuffer(pcm, dtype=np.int16)
        if rate != 16000 and samples.size:  # Moonshine was trained on 16 kHz audio
            samples = resample_s16(samples, rate, 16000)
        if samples.size < MIN_SAMPLES:
            return "", False
        audio = samples.astype(np.float32) / 32768.0
        with self._pending_lock:
            if self.max_pending and self._pending >= self.max_pending:
                self.refused += 1
                raise AsrOverloaded(f"{self._pending} segments already queued for moonshine")
            self._pending += 1
        try:
            with self._lock:
                tokens, suspect = self._model.generate_checked(audio, max_tokens_for(audio.size), len(self._tokenizer))
            return self._tokenizer.decode(tokens), suspect
        finally:
            with self._pending_lock:
                self._pending -= 1

    def open_stream(self, rate: int = 16000) -> _MoonshineStream:
        return _MoonshineStream(self, rate)


class _MoonshineStream:
    def __init__(self, engine: MoonshineRecognizer, rate: int) -> None:
        self._engine = engine
        self._rate = rate

    def accept(self, pcm: bytes) -> Hypothesis | None:
        return None

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        pass  # Moonshine can neither be restricted to a grammar nor biased by a prompt

    def set_language(self, language: str) -> bool:
        return language.split("-")[0].lower() == "en"

    def finish(self, segment_pcm: bytes) -> Hypothesis:
        return Hypothesis(self._engine.transcribe(segment_pcm, self._rate))

    def close(self) -> None:
        pass
