from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.tools import require


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


def synthesize(text: str, out: Path, voice: str = "en-us", rate: int = 8000, speed: int = 150) -> Path:
    """espeak-ng speech converted to `rate` Hz mono s16 WAV (8 kHz = what a SIP caller sends)."""
    require("espeak-ng")
    require("sox")
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(out)], check=True)
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
