"""Prompt audio: text spoken by Piper (natural English, `hotline.ivr.piper_voice`), Kokoro (natural
Mandarin, `hotline.ivr.kokoro_voice`) or espeak-ng (the fallback), or recorded files, converted to
the bridge rate and cached as WAV by text and voice.

A prompt with variables is rendered while the caller waits, so one that is not cached yet is
rendered sentence by sentence (`pieces`): the first sentence can play while the next ones are
rendered. Static prompts are rendered whole at start-up and stay whole.

Numbers read digit by digit (a parcel number, a case reference: `{name:digits}` in a flow) are
spliced, not synthesised: a sentence with a run of three or more single digits is put together
from the cached audio of its words around the run and of each digit, with short pauses. Every
caller's number is different, so rendering those sentences whole made each caller wait for the
synthesiser (at 24 callers on 2 cores that wait was the turn's p95) and filled the cache with
audio nobody hears twice; the pieces are few and rendered once (`prerender_prompts` renders the
words of the demo's templates at start-up).
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

import numpy as np

from hotline.ivr.piper_voice import MANDARIN_ESPEAK, resolve_voice
from hotline.ivr.synthesis import LOCAL, Synthesizer
from hotline.system.errors import HotlineError
from hotline.telephony.frames import SAMPLE_RATE

log = logging.getLogger(__name__)


class PromptError(HotlineError):
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


# three or more single digits separated by spaces: how `{name:digits}` reads a number
_DIGIT_RUN = re.compile(r"(?<![\w.,])\d(?: \d){2,}(?![\w.,])")
_WORDS = re.compile(r"\w")
SPLICE_THRESHOLD = 300  # int16 amplitude (about -40 dBFS): below it a clip's ends are trimmed
SPLICE_MARGIN_MS = 20  # kept around a clip's sound when trimming
DIGIT_GAP_MS = 130  # between two digits of a number
WORD_GAP_MS = 90  # between words and the number
SENTENCE_END_MS = 150  # after the last piece (a sentence ends with a pause)


def digit_runs(text: str) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_digit_run) in order, or [] when it has no digit run."""
    out: list[tuple[str, bool]] = []
    at = 0
    for m in _DIGIT_RUN.finditer(text):
        out += [(text[at:m.start()], False), (m.group(0), True)]
        at = m.end()
    if not out:
        return []
    out.append((text[at:], False))
    return [(piece.strip(), run) for piece, run in out if piece.strip()]


def trim_silence(pcm: bytes, rate: int) -> bytes:
    """`pcm` without the quiet at either end (a margin of `SPLICE_MARGIN_MS` kept)."""
    loud = np.flatnonzero(np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32)) > SPLICE_THRESHOLD)
    if loud.size == 0:
        return b""
    margin = 2 * (rate * SPLICE_MARGIN_MS // 1000)
    return pcm[max(0, 2 * int(loud[0]) - margin):2 * (int(loud[-1]) + 1) + margin]


def silence(ms: int, rate: int) -> bytes:
    return b"\x00\x00" * (rate * ms // 1000)


def read_wav_pcm(path: Path, rate: int = SAMPLE_RATE) -> bytes:
    with wave.open(str(path), "rb") as w:
        if w.getframerate() != rate or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise PromptError(f"{path}: prompt WAV must be {rate} Hz mono 16-bit")
        return w.readframes(w.getnframes())


class PromptCache:
    """Renders prompts once per (voice, text) and keeps them on disk and in memory."""

    def __init__(self, directory: Path, voice: str = "en-us", speed: int = 165, rate: int = SAMPLE_RATE,
                 natural: bool = True, synthesizer: Synthesizer = LOCAL) -> None:
        self.directory = directory
        self.synthesizer = synthesizer  # natural voices: this process, or the node's speech service
        self.rate = rate
        self.voice = voice
        self.speed = speed
        self.natural = natural  # English in Piper's voice when it is installed
        self._memory: dict[str, bytes] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def path_for(self, text: str, voice: str | None = None) -> Path:
        engine, name = resolve_voice(voice or self.voice, self.natural)
        # espeak-ng under the name it speaks with: `cmn` now speaks as cmn-latn-pinyin, not as before
        label = f"{engine}:{name}" if engine in ("piper", "kokoro") else name
        key = hashlib.sha256(f"{label}|{self.speed}|{self.rate}|{text}".encode()).hexdigest()[:24]
        return self.directory / f"{key}.wav"

    def engine_of(self, voice: str | None = None) -> str:
        """"piper", "kokoro" or "espeak": who speaks `voice` here."""
        return resolve_voice(voice or self.voice, self.natural)[0]

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
        runs = digit_runs(text)
        if runs and not self.cached(text, voice):
            return await self._spliced(runs, voice)
        return await self._whole(text, voice)

    async def _spliced(self, runs: list[tuple[str, bool]], voice: str | None) -> bytes:
        """A sentence with numbers read digit by digit, from cached clips (not kept itself)."""
        parts = [silence(SPLICE_MARGIN_MS, self.rate)]
        for i, (piece, is_run) in enumerate(runs):
            if i:
                parts.append(silence(WORD_GAP_MS, self.rate))
            if is_run:
                for j, digit in enumerate(piece.split()):
                    if j:
                        parts.append(silence(DIGIT_GAP_MS, self.rate))
                    parts.append(trim_silence(await self._whole(digit, voice), self.rate))
            elif _WORDS.search(piece):
                parts.append(trim_silence(await self._whole(piece, voice), self.rate))
        parts.append(silence(SENTENCE_END_MS, self.rate))
        return b"".join(parts)

    async def _whole(self, text: str, voice: str | None = None) -> bytes:
        engine, name = resolve_voice(voice or self.voice, self.natural)
        if engine in ("piper", "kokoro"):
            if engine == "piper":  # cheap, and a prompt with variables comes soon; Kokoro only for Chinese callers
                self.synthesizer.preload(engine, name)
            return await self._cached(self.path_for(text, voice), lambda path: self._render_natural(text, engine, name, path))
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

    async def _render_natural(self, text: str, engine: str, voice: str, path: Path) -> None:
        """A natural voice (Piper, Kokoro); espeak-ng when it fails (the caller hears a robot, not
        silence)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{engine}.wav")
        try:
            pcm = await asyncio.to_thread(self.synthesizer.synthesize, engine, voice, text, self.rate)
            with wave.open(str(tmp), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(self.rate)
                w.writeframes(pcm)
            tmp.replace(path)
        except Exception as exc:  # noqa: BLE001 (any failure of the natural voice falls back to espeak-ng)
            log.warning("natural voice failed, espeak-ng speaks this prompt",
                        extra={"engine": engine, "error": type(exc).__name__})
            await self._render(text, MANDARIN_ESPEAK if engine == "kokoro" else "en-us", path)
        finally:
            tmp.unlink(missing_ok=True)
