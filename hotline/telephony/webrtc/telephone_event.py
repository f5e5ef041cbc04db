"""RFC 4733 telephone-event for aiortc: browsers send keypad DTMF (`RTCDTMFSender.insertDTMF`) as
RTP events in the audio stream, which stock aiortc neither negotiates nor accepts.

`install()` adds telephone-event (48 kHz, for Opus calls, and 8 kHz) to aiortc's audio codecs, so
answers include it, and routes incoming event packets to a per-receiver listener before aiortc's
jitter buffer and decoder (which know no such codec) would see them. Events are parsed here:
`!BBH` = event, end-bit/volume, duration; one digit per event (its RTP timestamp), reported on
the first packet so a long press is not repeated and a lost end packet loses nothing.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.codecs import CODECS
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

log = logging.getLogger(__name__)

EVENTS = "0123456789*#ABCD"
MIME = "audio/telephone-event"
_installed = False


class EventParser:
    """Turns telephone-event RTP packets into digits, once per event."""

    def __init__(self) -> None:
        self._last_timestamp: int | None = None

    def feed(self, timestamp: int, payload: bytes) -> str | None:
        if len(payload) < 4:
            return None
        event, _flags, _duration = struct.unpack("!BBH", payload[:4])
        if event >= len(EVENTS) or timestamp == self._last_timestamp:
            return None
        self._last_timestamp = timestamp
        return EVENTS[event]


def install() -> None:
    """Teach aiortc telephone-event (idempotent; call before creating peer connections)."""
    global _installed
    if _installed:
        return
    _installed = True
    audio = CODECS["audio"]
    taken = {c.payloadType for kind in CODECS.values() for c in kind if c.payloadType is not None}
    for rate, preferred in ((48000, 110), (8000, 126)):
        pt = preferred if preferred not in taken else max(taken) + 1
        taken.add(pt)
        audio.append(RTCRtpCodecParameters(mimeType=MIME, clockRate=rate, channels=1, payloadType=pt,
                                           parameters={"0-16": None}))
    original = RTCRtpReceiver._handle_rtp_packet

    async def handle(self: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int) -> None:
        codecs: dict[int, Any] = getattr(self, "_RTCRtpReceiver__codecs", {})
        codec = codecs.get(packet.payload_type)
        if codec is not None and codec.mimeType.lower() == MIME:
            listener: Callable[[RtpPacket], None] | None = getattr(self, "hotline_on_event", None)
            if listener is not None:
                listener(packet)
            return
        await original(self, packet, arrival_time_ms)

    RTCRtpReceiver._handle_rtp_packet = handle  # type: ignore[method-assign]
