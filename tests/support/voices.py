"""Synthetic callers: Piper's natural English voice, made repeatable; Kokoro's Mandarin voice
(`mandarin_caller_wav`), which has no noise to switch off.

Piper samples noise inside its model, so two syntheses of one text differ and a test would hear a
slightly different caller on every run. With the noise scales at zero it says a text the same way
every time (checked by test_recognition_service), which keeps recognition tests reproducible."""

from __future__ import annotations

import math
import struct
import threading
import wave
from functools import cache
from pathlib import Path
from typing import Any

from hotline.ivr.piper_voice import DEFAULT_MODEL, model_file

_lock = threading.Lock()


@cache
def _voice(name: str) -> Any:
    from piper import PiperVoice

    path = model_file(name)
    assert path is not None, f"Piper voice {name} is not installed"
    return PiperVoice.load(path)


def piper_caller_wav(text: str, out: Path, name: str = DEFAULT_MODEL) -> Path:
    """`text` in Piper's voice, at the model's own rate, the same bytes on every call."""
    from piper import SynthesisConfig

    with _lock:
        voice = _voice(name)
        with wave.open(str(out), "wb") as wav:
            voice.synthesize_wav(text, wav, syn_config=SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0))
    return out


def mandarin_caller_wav(text: str, out: Path, rate: int = 8000) -> Path:
    """Mandarin `text` in Kokoro's voice (the prompts' voice, `jf_gongitsune`) as `rate` Hz mono
    16-bit WAV; digit strings are read digit by digit."""
    from hotline.ivr.kokoro_voice import shared_voices

    pcm = shared_voices().synthesize_pcm(text, rate=rate)
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return out


def tone_wav(path: Path, seconds: float, rate: int = 16000) -> None:
    """A 440 Hz tone: a recording that plays, for pages that show one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i / rate)))
                               for i in range(int(seconds * rate))))
