"""Moonshine base-en for real: the rebuilt model through the call pipeline, its loop guard, and the
cache manifest that catches a corrupt build (`make test` prepares the model with `hotline models
prepare`; moonshine_model_path() builds it otherwise)."""

from __future__ import annotations

import shutil
import threading
import time
import wave
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hotline.asr.events import Transcript
from hotline.asr.factory import AsrConfig, build_recognizer, resolve_engine
from hotline.asr.moonshine_engine import (
    MoonshineModel,
    MoonshineRecognizer,
    is_loop,
    max_tokens_for,
    tail_repeat,
    trim_loop,
)
from hotline.asr.moonshine_model import (
    MANIFEST,
    MODEL_FILES,
    MoonshineTokenizer,
    moonshine_model_path,
    read_manifest,
    verify,
)
from hotline.asr.pipeline import SpeechPipeline
from hotline.asr.recognizer import AsrOverloaded, ModelNotFound
from hotline.telephony.frames import AudioFrame, frame_bytes
from tests.conftest import synthesize

PHRASES = {
    "I want to track my parcel": ("track",),
    "Please transfer me to an agent": ("transfer", "agent"),
    "What are your opening hours": ("opening", "hours"),
    "Cancel my order": ("cancel", "order"),
}  # each heard right 8 times out of 8 at both rates (sox dithers: every synthesis differs slightly)


def pcm_of(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        return w.readframes(w.getnframes())


async def frames_at(rate: int, *chunks: bytes) -> AsyncIterator[AudioFrame]:
    pcm, size = b"".join(chunks), frame_bytes(rate)
    for seq, i in enumerate(range(0, len(pcm) - size + 1, size)):
        yield AudioFrame(pcm[i:i + size], seq)


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return moonshine_model_path()


@pytest.fixture(scope="module")
def recognizer(model_dir: Path) -> MoonshineRecognizer:
    rec = build_recognizer(AsrConfig(engine="moonshine", language="en"), ("parcel", "agent"))
    assert isinstance(rec, MoonshineRecognizer)
    return rec


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], bytes]:
    out = tmp_path_factory.mktemp("moonshine")
    return {(text, rate): pcm_of(synthesize(text, out / f"{i}-{rate}.wav", rate=rate, natural=False))
            for i, text in enumerate(PHRASES) for rate in (8000, 16000)}


def test_engine_choice(recognizer: MoonshineRecognizer) -> None:
    assert resolve_engine(AsrConfig(engine="moonshine")) == "moonshine"
    assert resolve_engine(AsrConfig(engine="auto", language="en")) == "moonshine"  # English's default
    assert resolve_engine(AsrConfig(engine="auto", language="en-GB")) == "moonshine"
    assert resolve_engine(AsrConfig(engine="auto", language="zh")) == "whisper"  # the only Mandarin model
    assert recognizer.name == "moonshine" and not recognizer.streaming and not recognizer.restricts_to_phrases
    assert recognizer.language == "en" and recognizer.model.startswith("moonshine-base-en:")
    with pytest.raises(ModelNotFound):
        MoonshineRecognizer("zh")
    stream = recognizer.open_stream()
    assert stream.set_language("en-US") and not stream.set_language("zh")
    stream.set_phrases(("yes", "no"))  # accepted and ignored: no grammar, no bias
    assert stream.accept(b"\x00" * 3200) is None
    assert stream.finish(b"\x00" * 1000).text == ""  # too short to decode


@pytest.mark.parametrize("rate", [16000, 8000])
async def test_recognises_phrases_through_the_pipeline(recognizer: MoonshineRecognizer,
                                                       speech: dict[tuple[str, int], bytes], rate: int) -> None:
    silence = b"\x00" * (rate * 2)  # 1 s of s16
    for text, words in PHRASES.items():
        pipeline = SpeechPipeline("caller", frames_at(rate, silence, speech[(text, rate)], silence), recognizer,
                                  rate=rate)
        pipeline.start()
        finals = [e for e in [e async for e in pipeline] if isinstance(e, Transcript) and e.final]
        await pipeline.aclose()
        assert len(finals) == 1 and finals[0].engine == "moonshine", finals
        heard = finals[0].text.lower()
        assert all(w in heard for w in words), (text, heard)
        assert 800 <= finals[0].start_ms <= 1100 and finals[0].latency_ms > 0


def test_decoding_is_cheap_and_the_session_shared(recognizer: MoonshineRecognizer,
                                                  speech: dict[tuple[str, int], bytes]) -> None:
    pcm = speech[("Please transfer me to an agent", 16000)]
    recognizer.transcribe(pcm)
    started = time.process_time()
    recognizer.transcribe(pcm)
    cpu = time.process_time() - started
    assert cpu < 0.5, cpu  # ~0.07 CPU-s measured for ~2 s of speech (Whisper base: ~0.9)
    other = MoonshineRecognizer()
    assert other._model is recognizer._model  # one onnxruntime session pair per process


def test_overload_refuses_beyond_the_queue(recognizer: MoonshineRecognizer,
                                           speech: dict[tuple[str, int], bytes]) -> None:
    rec = MoonshineRecognizer(max_pending=1)
    pcm = speech[("I want to track my parcel", 16000)]
    outcomes: list[str] = []
    with rec._lock:  # a segment is being decoded: the next one waits...
        waiting = threading.Thread(target=lambda: outcomes.append(rec.transcribe(pcm)))
        waiting.start()
        deadline = time.monotonic() + 10
        while rec._pending < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(AsrOverloaded):  # ...and one more is refused
            rec.transcribe(pcm)
    waiting.join(30)
    assert rec.refused == 1 and len(outcomes) == 1 and "track" in outcomes[0].lower()


def test_loop_detection() -> None:
    assert tail_repeat([]) == (1, 0) and tail_repeat([5]) == (1, 1)
    assert tail_repeat([1, 2, 3, 4]) == (1, 1)
    assert tail_repeat([9, 7, 7, 7]) == (1, 3)
    assert tail_repeat([0, 1, 2, 3, 1, 2, 3, 1, 2, 3]) == (3, 3)
    assert tail_repeat([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]) == (2, 6)
    # short repetitions are speech ("no no no", a run of zeros in a number)...
    assert not is_loop(*tail_repeat([4] * 6)) and not is_loop(*tail_repeat([1, 2, 3] * 3))
    # ...a long one is the decoder going round in circles
    looping = [10, 11] + [1, 2, 3] * 5
    assert is_loop(*tail_repeat(looping)) and trim_loop(looping) == [10, 11, 1, 2, 3]
    assert trim_loop([10, 11, 12]) == [10, 11, 12]
    assert max_tokens_for(16000) == 10 and max_tokens_for(0) == 4


class FakeSession:
    """An onnxruntime session stand-in: the encoder gives a dummy state, the decoder the logits
    `step(n)` for its n-th step (and empty caches)."""

    def __init__(self, outputs: list[str], step: Callable[[int], np.ndarray] | None = None) -> None:
        self.outputs, self.step, self.steps = outputs, step, 0

    def run(self, _names: Any, feeds: dict[str, Any]) -> list[np.ndarray]:
        if self.step is None:
            return [np.zeros((1, 5, 4), np.float32)]
        logits = self.step(self.steps).reshape(1, 1, -1)
        self.steps += 1
        return [logits, *(np.zeros((1, 2, self.steps, 4), np.float32) for _ in self.outputs[1:])]


def fake_model(step: Callable[[int], np.ndarray]) -> tuple[MoonshineModel, FakeSession]:
    model = MoonshineModel.__new__(MoonshineModel)
    model._encoder = FakeSession([])
    model._decoder = decoder = FakeSession(["logits", "present.0.decoder.key", "present.0.encoder.key"], step)
    model._outputs = decoder.outputs
    model._past = ["past_key_values.0.decoder.key", "past_key_values.0.encoder.key"]
    model._heads, model._head_dim, model.vocab = 2, 4, 300
    model.loops_cut = model.first_eos_overruled = model.token_cap_hit = 0
    return model, decoder


def one_hot(token: int, size: int = 300) -> np.ndarray:
    logits = np.zeros(size, np.float32)
    logits[token] = 1.0
    return logits


def test_generation_stops_at_a_loop() -> None:
    """A decoder that keeps emitting 'a b c a b c ...': greedy decoding stops early and trims it."""
    model, decoder = fake_model(lambda n: one_hot(100 + n % 3))
    tokens = model.generate(np.zeros(16000 * 30, np.float32), max_tokens=200)
    assert tokens == [100, 101, 102] and model.loops_cut == 1
    assert decoder.steps == 12  # stopped as soon as the loop was long enough, not at the cap
    model, decoder = fake_model(lambda n: one_hot(100 + n))
    assert len(model.generate(np.zeros(16000, np.float32), max_tokens=max_tokens_for(16000))) == 10  # the cap
    # both endings are suspect (the recognition service hands such segments to Whisper); a clean end is not
    model, _ = fake_model(lambda n: one_hot(100 + n % 3))
    assert model.generate_checked(np.zeros(16000 * 30, np.float32), max_tokens=200) == ([100, 101, 102], True)
    model, _ = fake_model(lambda n: one_hot(100 + n))
    assert model.generate_checked(np.zeros(16000, np.float32), max_tokens=10)[1] and model.token_cap_hit == 1
    model, _ = fake_model(lambda n: one_hot(100 + n) if n < 3 else one_hot(MoonshineTokenizer.EOS))
    assert model.generate_checked(np.zeros(16000, np.float32), max_tokens=10) == ([100, 101, 102], False)


def test_a_doubtful_end_of_text_on_the_first_step_is_overruled() -> None:
    def step(first: np.ndarray) -> Callable[[int], np.ndarray]:
        return lambda n: first if n == 0 else one_hot(MoonshineTokenizer.EOS)

    doubtful = np.zeros(300, np.float32)
    doubtful[[MoonshineTokenizer.EOS, 42]] = 8.0, 7.0  # P(end) ~0.7: speech heard as nothing
    model, _ = fake_model(step(doubtful))
    assert model.generate(np.zeros(16000, np.float32), 10) == [42] and model.first_eos_overruled == 1
    certain = np.zeros(300, np.float32)
    certain[[MoonshineTokenizer.EOS, 42]] = 12.0, 7.0  # P(end) ~0.99: silence, noise, a tone
    model, _ = fake_model(step(certain))
    assert model.generate(np.zeros(16000, np.float32), 10) == [] and model.first_eos_overruled == 0


def test_tokenizer_decodes_pieces_and_bytes(model_dir: Path) -> None:
    tok = MoonshineTokenizer(model_dir / "tokenizer.bin")
    assert len(tok) == 32000
    piece = {t: i for i, t in enumerate(tok.tokens)}
    ids = [MoonshineTokenizer.BOS, piece["\u2581the".encode()], 3 + 0xC3, 3 + 0xA9, MoonshineTokenizer.EOS]
    assert tok.decode(ids) == "theé"


def test_corrupt_or_partial_build_is_detected_and_rebuilt(model_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_MODEL_DIR", str(tmp_path))
    cached = tmp_path / "moonshine-base-en"
    shutil.copytree(model_dir, cached)
    assert verify(cached) is None and moonshine_model_path() == cached
    reference = read_manifest(model_dir)
    assert reference is not None
    with (cached / "decoder.onnx").open("r+b") as fh:  # one flipped byte, same size
        fh.seek(1 << 20)
        byte = fh.read(1)
        fh.seek(1 << 20)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert verify(cached) == "decoder.onnx checksum mismatch"
    with (cached / "encoder.onnx").open("r+b") as fh:
        fh.truncate(1000)
    assert "encoder.onnx has 1000 bytes" in (verify(cached) or "")
    (cached / MANIFEST).unlink()
    assert verify(cached) == "no manifest"
    assert moonshine_model_path() == cached  # rebuilt from the package...
    rebuilt = read_manifest(cached)
    assert rebuilt is not None and verify(cached) is None
    assert rebuilt["files"] == reference["files"]  # ...byte for byte the same model
    assert set(rebuilt["files"]) == set(MODEL_FILES)
    assert rebuilt["checks"]["int8_word_agreement"] >= 0.8
    with pytest.raises(ModelNotFound):
        moonshine_model_path(str(tmp_path / "nowhere"))
