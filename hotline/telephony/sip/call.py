"""One inbound SIP call leg: pjsua2 callbacks turned into loop-side events.

The pjsua2 `Call` object is kept apart from the leg (`_PjCall`) and is destroyed on the loop
thread right after the call disconnects, before pjsua2 can give its call slot to a new call.
pjsua2's `~Call()` hangs up whatever call holds its slot: left to Python's cyclic garbage
collector, a finished call's object was freed seconds later and hung up the next caller that
had been given the same slot (and, freed on a foreign thread, aborted pjlib).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pjsua2 as pj

from hotline.telephony.frames import AudioFrame, DtmfEvent, FrameQueue, frame_bytes
from hotline.telephony.playout import Playout
from hotline.telephony.sip.port import MediaPort, PortPool

log = logging.getLogger(__name__)

DTMF_METHODS = {0: "rfc4733", 1: "info"}


@dataclass(frozen=True, slots=True)
class CallInfo:
    call_id: str  # SIP Call-ID
    from_uri: str
    to_uri: str


class _PjCall(pj.Call):
    """pjsua2's call object; forwards its callbacks (loop thread) to the leg."""

    def __init__(self, account: pj.Account, call_id: int) -> None:
        super().__init__(account, call_id)
        self.leg: SipCallLeg | None = None

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802
        ci = self.getInfo()
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED and self.leg is not None:
            self.leg._on_disconnected(ci.lastStatusCode)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802
        if self.leg is not None:
            self.leg._on_media_state(self)

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802
        if self.leg is not None:
            self.leg._on_dtmf(prm.digit, DTMF_METHODS.get(prm.method, str(prm.method)))

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:  # noqa: N802
        if self.leg is not None:
            self.leg._on_transfer_status(prm.statusCode, prm.finalNotify)


class SipCallLeg:
    """The caller's leg. SIP callbacks run on the loop thread (the endpoint polls pjsua2 from the
    loop); frame callbacks come from the media clock thread and are handed over."""

    def __init__(self, account: pj.Account, call_id: int, loop: asyncio.AbstractEventLoop, pool: PortPool,
                 on_released: Callable[[SipCallLeg], None]) -> None:
        self.loop = loop
        self._pool = pool
        self._on_released = on_released
        self._pj: _PjCall | None = _PjCall(account, call_id)
        self._pj.leg = self
        self._port: MediaPort | None = None
        self.frames = FrameQueue()
        self.rate = pool.rate
        self.playout = Playout(frame_bytes(pool.rate))
        self.dtmf: asyncio.Queue[DtmfEvent] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.media_ready = asyncio.Event()
        self.disconnect_reason = ""
        self._seq = 0
        self._hangup_sent = False
        self._transfer: asyncio.Future[int] | None = None
        self.started = loop.time()
        self.on_prompt_done: Callable[[str, bool], None] | None = None
        ci = self._pj.getInfo()
        self.info = CallInfo(ci.callIdString, ci.remoteUri, ci.localUri)

    # --- media clock thread -> loop -------------------------------------------------------
    def _on_pcm(self, pcm: bytes) -> None:
        self.loop.call_soon_threadsafe(self._deliver, pcm)

    def _deliver(self, pcm: bytes) -> None:
        if self.disconnected.is_set():
            return
        self.frames.put_nowait(AudioFrame(pcm, self._seq))
        self._seq += 1

    def _prompt_done(self, prompt_id: str, interrupted: bool) -> None:
        cb = self.on_prompt_done
        if cb is not None:
            self.loop.call_soon_threadsafe(cb, prompt_id, interrupted)

    @property
    def offset_ms(self) -> int:
        """Milliseconds since the call was answered."""
        return int((self.loop.time() - self.started) * 1000)

    # --- from _PjCall (loop thread) -------------------------------------------------------
    def _on_disconnected(self, status_code: int) -> None:
        if self._hangup_sent:
            self.disconnect_reason = "local_hangup"
        elif status_code >= 300:
            self.disconnect_reason = f"sip_{status_code}"
        else:
            self.disconnect_reason = "remote_bye"
        self._release_media()
        self.frames.close()
        self.disconnected.set()
        # destroy the pjsua2 object once this callback has returned, before the next poll
        self.loop.call_soon(self._release_pj)

    def _release_pj(self) -> None:
        pjcall, self._pj = self._pj, None
        if pjcall is not None:
            pjcall.leg = None
            self._on_released(self)
            del pjcall  # last reference: ~Call() runs here, on the loop thread

    def _on_media_state(self, pjcall: _PjCall) -> None:
        ci = pjcall.getInfo()
        media = ci.media  # keep the info alive while iterating (pjsua2 frees it otherwise)
        for i in range(len(media)):
            mi = media[i]
            if mi.type != pj.PJMEDIA_TYPE_AUDIO or mi.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                continue
            aud = pjcall.getAudioMedia(i)
            if self._port is None:
                self._port = self._pool.acquire()
                self._port.attach(self._on_pcm, self.playout)
            aud.startTransmit(self._port)
            self._port.startTransmit(aud)
            self.media_ready.set()

    def _on_transfer_status(self, code: int, final: bool) -> None:
        # REFER accepted (202) and the transferee's NOTIFYs (100 Trying ... 200 OK) arrive here
        future = self._transfer
        if future is None or future.done():
            return
        if final or code >= 300:
            future.set_result(code)

    def _on_dtmf(self, digit: str, method: str) -> None:
        self.dtmf.put_nowait(DtmfEvent(digit, method, self.offset_ms))

    # --- control (loop thread) ------------------------------------------------------------
    def answer(self, code: int = 200) -> None:
        assert self._pj is not None
        prm = pj.CallOpParam()
        prm.statusCode = code
        self._pj.answer(prm)

    def play(self, prompt_id: str, pcm: bytes) -> None:
        self.playout.play(prompt_id, pcm, self._prompt_done)

    def stop_playback(self) -> None:
        self.playout.stop()

    async def transfer(self, uri: str, timeout: float = 30.0) -> int:
        """Blind transfer (REFER) to `uri`; returns the final status the transferee reported
        (200: the new call is up, and this leg can hang up), 408 if none came in time."""
        if self._pj is None or self.disconnected.is_set():
            return 481
        self._transfer = self.loop.create_future()
        try:
            self._pj.xfer(uri, pj.CallOpParam())
        except pj.Error as exc:
            log.warning("transfer could not be sent", extra={"reason": exc.info()})
            self._transfer = None
            return 500
        try:
            return await asyncio.wait_for(asyncio.shield(self._transfer), timeout)
        except TimeoutError:
            return 408
        finally:
            self._transfer = None

    def hangup_call(self) -> None:
        if self.disconnected.is_set() or self._hangup_sent or self._pj is None:
            return
        self._hangup_sent = True
        prm = pj.CallOpParam()
        prm.statusCode = 200
        try:
            self._pj.hangup(prm)
        except pj.Error as exc:
            log.warning("hangup failed", extra={"reason": exc.info()})

    def _release_media(self) -> None:
        self.playout.stop()
        if self._port is not None:
            self._pool.release(self._port)
            self._port = None
