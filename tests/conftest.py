from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from hotline.center.redis_server import EmbeddedRedis
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


@pytest.fixture
async def redis_server(tmp_path: Path, _tools_present: None) -> AsyncIterator[EmbeddedRedis]:
    """A real redis-server of the test's own (embedded: a unix socket in the test's directory)."""
    server = EmbeddedRedis(tmp_path)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def redis(redis_server: EmbeddedRedis) -> AsyncIterator[aioredis.Redis]:
    """A client of the test's own redis-server."""
    client = aioredis.from_url(redis_server.url)
    yield client
    await client.aclose()
