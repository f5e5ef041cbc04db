"""Voicemail: the caller's message recorded to its own WAV file, after a beep."""

from __future__ import annotations

import math
from array import array
from pathlib import Path

from hotline.telephony.recorder import WavRecorder


def beep(rate: int, ms: int = 400, hz: float = 1000.0, level: float = 0.3) -> bytes:
    """A sine tone (the "tone" the voicemail prompt asks callers to wait for)."""
    n = rate * ms // 1000
    ramp = rate // 100  # 10 ms fade in and out: no clicks
    samples = array("h")
    for i in range(n):
        gain = min(1.0, i / ramp, (n - i) / ramp)
        samples.append(int(32767 * level * gain * math.sin(2 * math.pi * hz * i / rate)))
    return samples.tobytes()


class VoicemailRecorder:
    def __init__(self, path: Path, rel: str, rate: int, token: int) -> None:
        self.rel = rel
        self.token = token
        self.rate = rate
        self._wav = WavRecorder(path, rate)
        self._bytes = 0

    def write(self, pcm: bytes) -> None:
        self._wav.write(pcm)
        self._bytes += len(pcm)

    @property
    def duration_ms(self) -> int:
        return self._bytes * 1000 // (2 * self.rate)

    def close(self) -> None:
        self._wav.close()
