"""Recording a call leg's audio to a WAV file as it arrives (16 kHz mono s16).

The header is rewritten every few seconds, so a recording cut short by a crash is still a
valid WAV file up to its last update.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from hotline.telephony.frames import SAMPLE_RATE

_HEADER_BYTES = 44
_SYNC_EVERY = 50 * 5  # frames (5 s)


def _header(data_bytes: int, rate: int) -> bytes:
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) +
            b"data" + struct.pack("<I", data_bytes))


class WavRecorder:
    def __init__(self, path: Path, rate: int = SAMPLE_RATE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rate = rate
        self._fh: BinaryIO | None = path.open("wb")
        self._fh.write(_header(0, rate))
        self._bytes = 0
        self._frames = 0

    @property
    def duration_ms(self) -> int:
        return self._bytes * 1000 // (self.rate * 2)

    def write(self, pcm: bytes) -> None:
        if self._fh is None:
            return
        self._fh.write(pcm)
        self._bytes += len(pcm)
        self._frames += 1
        if self._frames % _SYNC_EVERY == 0:
            self._sync()

    def _sync(self) -> None:
        assert self._fh is not None
        self._fh.seek(0)
        self._fh.write(_header(self._bytes, self.rate))
        self._fh.seek(0, 2)
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._sync()
            self._fh.close()
            self._fh = None
