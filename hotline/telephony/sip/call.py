"""One inbound SIP call leg: pjsua2 callbacks turned into loop-side events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pjsua2 as pj

from hotline.telephony.frames import AudioFrame, DtmfEvent, FrameQueue
from hotline.telephony.playout import Playout
from hotline.telephony.sip.port import MediaPort, PortPool

log = logging.getLogger(__name__)

DTMF_METHODS = {0: "rfc4733", 1: "info"}


@dataclass(frozen=True, slots=True)
class CallInfo:
    call_id: str  # SIP Call-ID
    from_uri: str
    to_uri: str


class SipCallLeg(pj.Call):
    """The caller's leg. Callbacks run on the loop thread (the endpoint polls from the loop),
    except frame callbacks, which come from the media clock thread and are handed over."""

    def __init__(self, account: pj.Account, call_id: int, loop: asyncio.AbstractEventLoop, pool: PortPool):
        super().__init__(account, call_id)
        self.loop = loop
        self._pool = pool
        self._port: MediaPort | None = None
        self.frames = FrameQueue()
        self.playout = Playout()
        self.dtmf: asyncio.Queue[DtmfEvent] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.media_ready = asyncio.Event()
        self.disconnect_reason = ""
        self._seq = 0
        self._hangup_sent = False
        self.started = loop.time()
        self.on_prompt_done: Callable[[str, bool], None] | None = None
        ci = self.getInfo()
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

    # --- pjsua2 callbacks (loop thread) ---------------------------------------------------
    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802
        ci = self.getInfo()
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.disconnect_reason = "local_hangup" if self._hangup_sent else "remote_bye"
            if ci.lastStatusCode >= 300 and not self._hangup_sent:
                self.disconnect_reason = f"sip_{ci.lastStatusCode}"
            self._release_media()
            self.frames.close()
            self.disconnected.set()

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802
        ci = self.getInfo()
        media = ci.media  # keep the info alive while iterating (pjsua2 frees it otherwise)
        for i in range(len(media)):
            mi = media[i]
            if mi.type != pj.PJMEDIA_TYPE_AUDIO or mi.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                continue
            aud = self.getAudioMedia(i)
            if self._port is None:
                self._port = self._pool.acquire()
                self._port.attach(self._on_pcm, self.playout)
            aud.startTransmit(self._port)
            self._port.startTransmit(aud)
            self.media_ready.set()

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802
        method = DTMF_METHODS.get(prm.method, str(prm.method))
        self.dtmf.put_nowait(DtmfEvent(prm.digit, method, self.offset_ms))

    # --- control (loop thread) ------------------------------------------------------------
    def play(self, prompt_id: str, pcm: bytes) -> None:
        self.playout.play(prompt_id, pcm, self._prompt_done)

    def stop_playback(self) -> None:
        self.playout.stop()

    def hangup_call(self) -> None:
        if self.disconnected.is_set() or self._hangup_sent:
            return
        self._hangup_sent = True
        prm = pj.CallOpParam()
        prm.statusCode = 200
        try:
            self.hangup(prm)
        except pj.Error as exc:
            log.warning("hangup failed", extra={"reason": exc.info()})

    def _release_media(self) -> None:
        self.playout.stop()
        if self._port is not None:
            self._pool.release(self._port)
            self._port = None
