"""Recorded prompt files (any WAV sox reads) are converted to the bridge rate and cached."""

from __future__ import annotations

import subprocess
from pathlib import Path

from hotline.ivr.prompts import PromptCache, PromptError
from tests.support.tools import require


async def test_a_recorded_prompt_is_converted_once(tmp_path: Path) -> None:
    source = tmp_path / "welcome.wav"
    subprocess.run([require("sox"), "-n", "-r", "44100", "-c", "2", str(source), "synth", "1.5", "sine", "440"],
                   check=True)
    cache = PromptCache(tmp_path / "cache", rate=8000)
    pcm = await cache.get_file(str(source))
    assert len(pcm) == 8000 * 2 * 3 // 2  # 1.5 s of 8 kHz mono 16-bit
    assert len(list((tmp_path / "cache").glob("*.wav"))) == 1
    assert await cache.get_file(str(source)) is pcm  # served from memory


async def test_a_missing_or_unreadable_recording_is_a_prompt_error(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path / "cache")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    for path in (tmp_path / "none.wav", bad):
        try:
            await cache.get_file(str(path))
        except PromptError as exc:
            assert str(path.name) in str(exc) or "convert" in str(exc)
        else:
            raise AssertionError(f"{path} did not fail")
