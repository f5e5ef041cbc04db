"""RFC 4733 telephone-events for aiortc: parsing, and negotiation in a real aiortc answer."""

from __future__ import annotations

import struct

from aiortc import AudioStreamTrack, RTCPeerConnection, RTCSessionDescription

from hotline.telephony.webrtc.telephone_event import EventParser, install


def event(code: int, end: bool = False, duration: int = 960) -> bytes:
    return struct.pack("!BBH", code, (0x80 if end else 0) | 10, duration)


def test_one_digit_per_event_even_with_repeated_and_end_packets() -> None:
    parser = EventParser()
    digits = [parser.feed(1000, event(1)), parser.feed(1000, event(1, duration=1920)),
              parser.feed(1000, event(1, end=True)), parser.feed(1000, event(1, end=True)),
              parser.feed(5000, event(11)), parser.feed(9000, event(10)), parser.feed(9000, event(10, end=True))]
    assert [d for d in digits if d] == ["1", "#", "*"]
    assert parser.feed(12000, b"\x01") is None  # truncated payload
    assert parser.feed(13000, event(42)) is None  # not a DTMF event


async def test_answers_negotiate_telephone_event_with_opus() -> None:
    install()
    offerer, answerer = RTCPeerConnection(), RTCPeerConnection()
    try:
        offerer.addTransceiver("audio", direction="sendrecv")
        await offerer.setLocalDescription(await offerer.createOffer())
        assert "telephone-event/48000" in offerer.localDescription.sdp
        await answerer.setRemoteDescription(RTCSessionDescription(offerer.localDescription.sdp, "offer"))
        answerer.addTrack(AudioStreamTrack())
        await answerer.setLocalDescription(await answerer.createAnswer())
        answer = answerer.localDescription.sdp
        assert "opus/48000/2" in answer and "telephone-event/48000" in answer
        # Opus stays the codec that is sent: it comes first
        m_line = next(line for line in answer.splitlines() if line.startswith("m=audio"))
        first_pt = m_line.split()[3]
        assert f"a=rtpmap:{first_pt} opus/48000/2" in answer
    finally:
        await offerer.close()
        await answerer.close()
