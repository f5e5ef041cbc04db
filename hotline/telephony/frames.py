"""Media units that flow between call legs and the speech pipeline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

SAMPLE_RATE = 16000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2  # 16-bit mono
MEDIA_RATES = (8000, 16000)  # rates the media path can run at (settings.media_rate)


def frame_bytes(rate: int) -> int:
    """Bytes in one 20 ms frame of 16-bit mono audio at `rate`."""
    return rate * FRAME_MS // 1000 * 2


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """20 ms of 16 kHz mono signed 16-bit little-endian PCM.

    `seq` counts frames since the leg started, so `seq * 20` ms is the frame's offset in the call.
    """

    pcm: bytes
    seq: int

    @property
    def offset_ms(self) -> int:
        return self.seq * FRAME_MS


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    """One DTMF key press. `method` is "rfc4733" or "info"."""

    digit: str
    method: str
    offset_ms: int


_END = object()


@dataclass
class FrameQueue:
    """Bounded queue between a media thread and the event loop.

    Overflow policy: the oldest queued frame is dropped (live audio matters more than stale audio)
    and counted in `dropped`. Producers call `put_nowait` on the loop thread (hand over with
    `loop.call_soon_threadsafe`); consumers `async for` until `close()`.
    """

    maxsize: int = 50  # one second of audio
    dropped: int = 0
    received: int = 0
    _q: asyncio.Queue[object] = field(init=False)

    def __post_init__(self) -> None:
        self._q = asyncio.Queue(self.maxsize + 1)

    def put_nowait(self, frame: AudioFrame) -> None:
        self.received += 1
        if self._q.qsize() >= self.maxsize:
            try:
                self._q.get_nowait()
                self.dropped += 1
            except asyncio.QueueEmpty:
                pass
        self._q.put_nowait(frame)

    def close(self) -> None:
        # capacity is maxsize + 1 and put_nowait keeps at most maxsize queued: the sentinel fits
        self._q.put_nowait(_END)

    def __aiter__(self) -> FrameQueue:
        return self

    async def __anext__(self) -> AudioFrame:
        item = await self._q.get()
        if item is _END:
            self._q.put_nowait(_END)
            raise StopAsyncIteration
        assert isinstance(item, AudioFrame)
        return item
