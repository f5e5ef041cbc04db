"""pjsua2 audio port bridging the conference bridge and Python.

Ports are pooled and reused: freeing an AudioMediaPort while the mixer clock runs crashes pjmedia
(the clock calls even unconnected ports), so a port lives as long as the endpoint.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import pjsua2 as pj

from hotline.telephony.frames import FRAME_MS, SAMPLE_RATE, frame_bytes
from hotline.telephony.playout import Playout

FrameSink = Callable[[bytes], None]


def _vector_data(vec: pj.ByteVector) -> int:
    # std::vector<unsigned char> starts with its begin pointer (libstdc++ layout); reading it with
    # ctypes costs ~1.5 us where bytes(vec) costs ~0.5 ms per frame.
    return ctypes.c_void_p.from_address(int(vec.this)).value or 0


class MediaPort(pj.AudioMediaPort):
    """Receives the caller's audio (`sink`) and supplies prompt audio (`playout`)."""

    def __init__(self, name: str, rate: int = SAMPLE_RATE) -> None:
        super().__init__()
        self._frame = frame_bytes(rate)
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, rate, 1, FRAME_MS * 1000, 16)
        self.createPort(name, fmt)
        self.sink: FrameSink | None = None
        self.playout: Playout | None = None

    def attach(self, sink: FrameSink, playout: Playout) -> None:
        self.playout = playout
        self.sink = sink

    def detach(self) -> None:
        self.sink = None
        self.playout = None

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (pjsua2 API)
        sink = self.sink
        if sink is None or frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO:
            return
        size = min(frame.size, self._frame)
        ptr = _vector_data(frame.buf)
        if ptr and size == self._frame:
            sink(ctypes.string_at(ptr, size))

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (pjsua2 API)
        playout = self.playout
        chunk = playout.next_frame() if playout is not None else None
        if chunk is None:
            frame.type = pj.PJMEDIA_FRAME_TYPE_NONE
            frame.size = 0
            return
        frame.buf.resize(self._frame)
        ctypes.memmove(_vector_data(frame.buf), chunk, self._frame)
        frame.size = self._frame
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO


class PortPool:
    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        self.rate = rate
        self._free: list[MediaPort] = []
        self._all: list[MediaPort] = []

    def acquire(self) -> MediaPort:
        if self._free:
            return self._free.pop()
        port = MediaPort(f"hl{len(self._all)}", self.rate)
        self._all.append(port)
        return port

    def release(self, port: MediaPort) -> None:
        port.detach()
        self._free.append(port)

    def clear(self) -> None:
        for port in self._all:
            port.detach()
        self._free.clear()
        self._all.clear()
