"""Recordings as QA hears and sees them: the peak levels of a recording for drawing its waveform,
and both parties mixed into one stereo WAV on the call's time line (the caller left, the agents
right), written once to a cache file so that the player can ask for byte ranges and seek."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

CACHE_KEEP = 32  # stereo files kept in the cache directory (the most recently made)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """16-bit mono PCM samples and the sample rate."""
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return pcm, rate


def waveform(path: Path, points: int) -> dict[str, Any]:
    """Peak level (0..1) of `points` equal slices of a recording, for drawing."""
    pcm, rate = read_wav(path)
    if pcm.size == 0:
        return {"rate": rate, "duration_ms": 0, "peaks": []}
    slices = np.array_split(np.abs(pcm.astype(np.int32)), min(points, pcm.size))
    peaks = [round(float(s.max()) / 32768.0, 4) for s in slices]
    return {"rate": rate, "duration_ms": round(pcm.size * 1000 / rate), "peaks": peaks}


def mix_stereo(caller: Path, agents: Sequence[tuple[Path, int]]) -> bytes:
    """The caller on the left, the agents (each from its offset in ms on the call's time line) on the
    right, as WAV bytes as long as the caller's recording; an agent at another rate is left out."""
    left_pcm, rate = read_wav(caller)
    left = left_pcm.astype(np.int32)
    right = np.zeros_like(left)
    for path, offset_ms in agents:
        pcm, agent_rate = read_wav(path)
        if agent_rate != rate:
            continue
        start = int(offset_ms * rate / 1000)
        end = min(left.size, start + pcm.size)
        if end > start:
            right[start:end] += pcm[: end - start]
    frames = np.stack([left, right], axis=1).clip(-32768, 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames.tobytes())
    return out.getvalue()


def cached_stereo(cache_dir: Path, key: str, caller: Path, agents: Sequence[tuple[Path, int]]) -> Path:
    """The stereo mix of a call as a file in `cache_dir`, made again when a recording is newer than
    it; written atomically (a reader never sees half a file) and the cache pruned to CACHE_KEEP."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    offsets = ",".join(f"{p.name}@{ms}" for p, ms in agents)
    name = hashlib.sha256(f"{key}|{offsets}".encode()).hexdigest()[:32] + ".wav"
    target = cache_dir / name
    sources = [caller, *(p for p, _ in agents)]
    newest = max(p.stat().st_mtime for p in sources)
    if target.is_file() and target.stat().st_mtime >= newest:
        return target
    data = mix_stereo(caller, agents)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _prune(cache_dir, keep=target)
    return target


def _prune(cache_dir: Path, keep: Path) -> None:
    made: list[tuple[float, Path]] = []
    for path in cache_dir.glob("*.wav"):
        try:
            if path != keep:
                made.append((path.stat().st_mtime, path))
        except FileNotFoundError:  # another request pruned it
            continue
    for _, old in sorted(made, reverse=True)[CACHE_KEEP - 1:]:
        old.unlink(missing_ok=True)
