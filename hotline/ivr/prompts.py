"""Prompt audio: text spoken by Piper (natural English, `hotline.ivr.piper_voice`) or espeak-ng
(Chinese, and the fallback), or recorded files, converted to the bridge rate and cached as WAV by
text and voice.

A prompt with variables is rendered while the caller waits, so one that is not cached yet is
rendered sentence by sentence (`pieces`): the first sentence can play while the next ones are
rendered. Static prompts are rendered whole at start-up and stay whole.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path

from hotline.ivr.piper_voice import resolve_voice, shared_voices
from hotline.telephony.frames import SAMPLE_RATE

log = logging.getLogger(__name__)


class PromptError(Exception):
    retryable = False


# a sentence ends at . ! ? (then a space and a capital or a digit, so "e.g. this" and "3.5" stay
# whole) or at Chinese 。！？; titles such as "Mr." do not end one
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(]?[A-Z0-9])|(?<=[。！？])\s*(?=\S)")
_TITLES = ("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "No.", "Mt.", "Jr.", "Sr.")


def split_sentences(text: str) -> list[str]:
    """`text` in sentences, in order; joined by single spaces they give `text` back (apart from
    whitespace)."""
    parts: list[str] = []
    for piece in _SENTENCE_END.split(text.strip()):
        piece = piece.strip()
        if not piece:
            continue
        if parts and parts[-1].endswith(_TITLES):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return parts


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

    def cached(self, text: str, voice: str | None = None) -> bool:
        path = self.path_for(text, voice)
        return path.name in self._memory or path.is_file()

    def pieces(self, text: str, voice: str | None = None) -> list[str]:
        """The texts to render and play one after another for `text`: itself when it is cached
        (static prompts are rendered at start-up) or one sentence long, else its sentences."""
        if self.cached(text, voice):
            return [text]
        return split_sentences(text) or [text]

    async def get(self, text: str, voice: str | None = None) -> bytes:
        engine, name = resolve_voice(voice or self.voice, self.natural)
        if engine == "piper":
            shared_voices().preload(name)
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
        tmp = path.with_suffix(f".{os.getpid()}.piper.wav")
        try:
            pcm = await asyncio.to_thread(shared_voices().synthesize_pcm, text, model, self.rate)
            with wave.open(str(tmp), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(self.rate)
                w.writeframes(pcm)
            tmp.replace(path)
        except Exception as exc:  # noqa: BLE001 (any Piper failure falls back to espeak-ng)
            log.warning("Piper failed, espeak-ng speaks this prompt", extra={"error": type(exc).__name__})
            await self._render(text, "en-us", path)
        finally:
            tmp.unlink(missing_ok=True)

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
