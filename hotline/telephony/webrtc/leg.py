"""A WebRTC call leg (aiortc): the browser's Opus audio in as 20 ms frames at the media rate,
prompts out through a track paced by the clock, keypad DTMF from RFC 4733 telephone-events.

It offers the call session the same surface as the SIP leg (frames, dtmf, play/stop, hang-up,
media_ready/disconnected), so a browser caller goes through the same IVR, VAD and ASR.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
import uuid
from collections.abc import Callable

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket

from hotline.telephony.frames import FRAME_MS, AudioFrame, DtmfEvent, FrameQueue, frame_bytes
from hotline.telephony.playout import Playout
from hotline.telephony.sip.call import CallInfo
from hotline.telephony.webrtc.telephone_event import EventParser, install

log = logging.getLogger(__name__)


class PromptTrack(MediaStreamTrack):
    """Outgoing audio: the leg's playout, one 20 ms frame per tick (silence when idle)."""

    kind = "audio"

    def __init__(self, playout: Playout, rate: int) -> None:
        super().__init__()
        self._playout = playout
        self._rate = rate
        self._samples = rate * FRAME_MS // 1000
        self._silence = bytes(frame_bytes(rate))
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += self._samples
            delay = self._start + self._pts / self._rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        pcm = self._playout.next_frame() or self._silence
        if len(pcm) < len(self._silence):
            pcm += self._silence[len(pcm):]
        frame = av.AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(pcm)
        frame.pts = self._pts
        frame.sample_rate = self._rate
        frame.time_base = fractions.Fraction(1, self._rate)
        return frame


class WebRtcCallLeg:
    """One browser caller. Everything runs on the loop (aiortc is asyncio-native)."""

    def __init__(self, pc: RTCPeerConnection, rate: int, caller: str = "webrtc") -> None:
        install()
        self.pc = pc
        self.rate = rate
        self.frames = FrameQueue()
        self.playout = Playout(frame_bytes(rate))
        self.dtmf: asyncio.Queue[DtmfEvent] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.media_ready = asyncio.Event()
        self.disconnect_reason = ""
        self.on_prompt_done: Callable[[str, bool], None] | None = None
        self.info = CallInfo(f"webrtc-{uuid.uuid4().hex}", caller, "hotline")
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        self._seq = 0
        self._hangup_sent = False
        self._events = EventParser()
        self._reader: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None  # held: the loop keeps only a weak reference
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        self._buffer = b""
        self.track = PromptTrack(self.playout, rate)
        pc.addTrack(self.track)
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)

    @property
    def offset_ms(self) -> int:
        return int((self.loop.time() - self.started) * 1000)

    async def answer(self, offer_sdp: str) -> str:
        """Take the browser's offer; returns the answer SDP with all our ICE candidates in it."""
        await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        for transceiver in self.pc.getTransceivers():
            receiver = transceiver.receiver
            receiver.hotline_on_event = self._on_event  # type: ignore[attr-defined]
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    # --- aiortc callbacks ------------------------------------------------------------------
    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self._reader is None:
            self._reader = asyncio.create_task(self._read(track), name=f"rtc-in-{self.info.call_id}")

    def _on_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected":
            self.media_ready.set()
        elif state in ("failed", "closed") and not self.disconnected.is_set():
            self._disconnect("local_hangup" if self._hangup_sent else "remote_bye" if state == "closed"
                             else "ice_failed")

    def _on_event(self, packet: RtpPacket) -> None:
        digit = self._events.feed(packet.timestamp, packet.payload)
        if digit is not None:
            self.dtmf.put_nowait(DtmfEvent(digit, "rfc4733", self.offset_ms))

    async def _read(self, track: MediaStreamTrack) -> None:
        size = frame_bytes(self.rate)
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                for out in self._resampler.resample(frame):  # 48 kHz stereo Opus -> media rate mono
                    self._buffer += bytes(out.planes[0])[: out.samples * 2]
                while len(self._buffer) >= size:
                    pcm, self._buffer = self._buffer[:size], self._buffer[size:]
                    if not self.disconnected.is_set():
                        self.frames.put_nowait(AudioFrame(pcm, self._seq))
                        self._seq += 1
        except MediaStreamError:
            if not self.disconnected.is_set():
                self._disconnect("remote_bye")

    def _disconnect(self, reason: str) -> None:
        self.disconnect_reason = reason
        self.playout.stop()
        self.frames.close()
        self.disconnected.set()
        self._closing = asyncio.get_running_loop().create_task(self._close(), name=f"rtc-close-{self.info.call_id}")

    async def _close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            await self.pc.close()

    # --- control (what the call session uses) -----------------------------------------------
    def play(self, prompt_id: str, pcm: bytes) -> None:
        self.playout.play(prompt_id, pcm, self._prompt_done)

    def _prompt_done(self, prompt_id: str, interrupted: bool) -> None:
        cb = self.on_prompt_done
        if cb is not None:
            self.loop.call_soon(cb, prompt_id, interrupted)

    def stop_playback(self) -> None:
        self.playout.stop()

    def hangup_call(self) -> None:
        if self.disconnected.is_set() or self._hangup_sent:
            return
        self._hangup_sent = True
        self._disconnect("local_hangup")

    async def transfer(self, uri: str, timeout: float = 30.0) -> int:
        """A browser cannot be REFERred to a SIP URI: the flow takes its `on_unavailable` path."""
        return 501
