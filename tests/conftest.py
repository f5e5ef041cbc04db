from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hotline.ivr.piper_voice import resolve_voice
from tests.support.tools import require
from tests.support.voices import piper_caller_wav


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


def synthesize(text: str, out: Path, voice: str = "en-us", rate: int = 8000, speed: int = 150,
               natural: bool = True) -> Path:
    """Caller speech as `rate` Hz mono s16 WAV (8 kHz = what a SIP caller sends): Piper's natural
    voice for English (what a person sounds like to the recogniser), espeak-ng for other voices or
    with `natural=False` (its robot voice tests the synthesiser as much as the recogniser)."""
    require("sox")
    raw = out.with_suffix(".raw.wav")
    engine, name = resolve_voice(voice, natural)
    if engine == "piper":
        piper_caller_wav(text, raw, name)
    else:
        require("espeak-ng")
        subprocess.run(["espeak-ng", "-v", name, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-V1", "-D", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(out)], check=True)
    raw.unlink()
    return out


@pytest.fixture(scope="session")
def track_parcel_wav(speech_dir: Path) -> Path:
    return synthesize("I want to track my parcel", speech_dir / "track_parcel_8k.wav")


@pytest.fixture(scope="session")
def _tools_present() -> None:
    for tool in ("redis-server", "sipp", "baresip", "espeak-ng", "sox", "tcpdump", "kamailio"):
        require(tool)
    assert shutil.which("python3")
