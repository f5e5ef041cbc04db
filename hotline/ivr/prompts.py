"""Prompt audio: text spoken by Piper (natural English, `hotline.ivr.piper_voice`) or espeak-ng
(Chinese, and the fallback), or recorded files, converted to the bridge rate and cached as WAV by
text and voice."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

from hotline.ivr.piper_voice import resolve_voice, shared_voices
from hotline.telephony.frames import SAMPLE_RATE

log = logging.getLogger(__name__)


class PromptError(Exception):
    retryable = False


def read_wav_pcm(path: Path, rate: int = SAMPLE_RATE) -> bytes:
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != rate or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise PromptError(f"{path}: prompt WAV must be {rate} Hz mono 16-bit")
        return w.readframes(w.getnframes())


class PromptCache:
    """Renders prompts once per (voice, text) and keeps them on disk and in memory."""

    def __init__(self, directory: Path, voice: str = "en-us", speed: int = 165, rate: int = SAMPLE_RATE,
                 natural: bool = True) -> None:
        self.directory = directory
        self.rate = rate
        self.voice = voice
        self.speed = speed
        self.natural = natural  # English in Piper's voice when it is installed
        self._memory: dict[str, bytes] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def path_for(self, text: str, voice: str | None = None) -> Path:
        engine, name = resolve_voice(voice or self.voice, self.natural)
        label = f"piper:{name}" if engine == "piper" else voice or self.voice
        key = hashlib.sha256(f"{label}|{self.speed}|{self.rate}|{text}".encode()).hexdigest()[:24]
        return self.directory / f"{key}.wav"

    async def get(self, text: str, voice: str | None = None) -> bytes:
        engine, name = resolve_voice(voice or self.voice, self.natural)
        if engine == "piper":
            return await self._cached(self.path_for(text, voice), lambda path: self._render_piper(text, name, path))
        return await self._cached(self.path_for(text, voice), lambda path: self._render(text, name, path))

    async def get_file(self, source: str) -> bytes:
        """A recorded prompt (any WAV sox reads), converted once to the bridge rate and cached."""
        src = Path(source)
        try:
            stamp = f"{src.stat().st_mtime_ns}"
        except OSError as exc:
            raise PromptError(f"recorded prompt missing: {source}") from exc
        path = self.path_for(f"file:{src.resolve()}:{stamp}", "recording")
        return await self._cached(path, lambda out: self._convert(src, out))

    async def _cached(self, path: Path, produce: Callable[[Path], Awaitable[None]]) -> bytes:
        """The PCM of `path`: from memory, else from disk, else made once by `produce` (one caller
        at a time per file; the others wait for it)."""
        cached = self._memory.get(path.name)
        if cached is not None:
            return cached
        async with self._locks.setdefault(path.name, asyncio.Lock()):
            if path.name not in self._memory:
                if not path.is_file():
                    await produce(path)
                self._memory[path.name] = read_wav_pcm(path, self.rate)
        return self._memory[path.name]

    async def _convert(self, src: Path, path: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.wav")
        proc = await asyncio.create_subprocess_exec(
            "sox", str(src), "-r", str(self.rate), "-c", "1", "-b", "16", "-e", "signed-integer", str(tmp),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode != 0 or not tmp.is_file():
            tmp.unlink(missing_ok=True)
            raise PromptError(f"cannot convert recorded prompt ({proc.returncode}): {err.decode(errors='replace')}")
        tmp.replace(path)

    async def _render_piper(self, text: str, model: str, path: Path) -> None:
        """Piper's natural voice; espeak-ng when Piper fails (the caller hears a robot, not silence)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        raw = path.with_suffix(f".{os.getpid()}.piper.wav")
        try:
            await asyncio.to_thread(shared_voices().synthesize_wav, text, model, raw)
            await self._convert(raw, path)
        except Exception as exc:  # noqa: BLE001 (any Piper failure falls back to espeak-ng)
            log.warning("Piper failed, espeak-ng speaks this prompt", extra={"error": type(exc).__name__})
            await self._render(text, "en-us", path)
        finally:
            raw.unlink(missing_ok=True)

    async def _render(self, text: str, voice: str, path: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.wav")
        # espeak-ng writes 22.05 kHz; sox resamples to the bridge rate
        cmd = (
            f"espeak-ng -v {voice} -s {self.speed} --stdout -- \"$HOTLINE_TEXT\" | "
            f"sox -t wav - -r {self.rate} -c 1 -b 16 -e signed-integer {tmp}"
        )
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", cmd,
            env={**os.environ, "HOTLINE_TEXT": text},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        if proc.returncode != 0 or not tmp.is_file():
            tmp.unlink(missing_ok=True)
            raise PromptError(f"TTS failed ({proc.returncode}): {err.decode(errors='replace').strip()}")
        tmp.replace(path)
