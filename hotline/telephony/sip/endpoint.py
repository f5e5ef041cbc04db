"""The pjsua2 endpoint of one media worker, polled from the asyncio loop.

With `threadCnt = 0` pjsua2 runs no worker thread of its own: SIP callbacks run inside
`libHandleEvents`, which we call from the loop, so they are loop-thread code. Only the media clock
thread (frames) is foreign.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Callable

import pjsua2 as pj

from hotline.telephony.frames import FRAME_MS, SAMPLE_RATE
from hotline.telephony.sip.call import SipCallLeg
from hotline.telephony.sip.port import PortPool

log = logging.getLogger(__name__)

# pjproject as packaged holds at most this many calls per process (PJSUA_MAX_CALLS).
MAX_CALLS_PER_PROCESS = 4


class _Account(pj.Account):
    def __init__(self, endpoint: SipEndpoint) -> None:
        super().__init__()
        self._endpoint = endpoint

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802
        self._endpoint._incoming(self, prm.callId)


class SipEndpoint:
    def __init__(
        self,
        host: str,
        port: int,
        rtp_port: int,
        on_call: Callable[[SipCallLeg], None],
        log_level: int = 1,
        media_address: str | None = None,
        rtp_bind: str | None = None,
        rate: int = SAMPLE_RATE,
    ) -> None:
        """`host`: the address SIP binds to; `rtp_bind`: the one RTP binds to (default `host`);
        `media_address`: the one put in SDP (default `host`)."""
        self.host, self.port, self.rtp_port = host, port, rtp_port
        self.media_address = media_address or host
        self.rtp_bind = rtp_bind or host
        self._on_call = on_call
        self._log_level = log_level
        self._ep: pj.Endpoint | None = None
        self._account: _Account | None = None
        self.rate = rate  # conference bridge clock: 8000 passes G.711 through without resampling
        self._pool = PortPool(rate)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self.calls: dict[int, SipCallLeg] = {}  # legs whose pjsua2 call object is alive
        self.listening = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        ep = pj.Endpoint()
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.maxCalls = MAX_CALLS_PER_PROCESS
        cfg.uaConfig.userAgent = "hotline"
        cfg.logConfig.level = self._log_level
        cfg.logConfig.consoleLevel = self._log_level
        cfg.medConfig.clockRate = self.rate
        cfg.medConfig.sndClockRate = self.rate
        cfg.medConfig.audioFramePtime = FRAME_MS
        cfg.medConfig.ecTailLen = 0
        cfg.medConfig.noVad = True
        ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.port = self.port
        tcfg.boundAddress = self.host
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        ep.libStart()
        ep.audDevManager().setNullDev()
        for codec, prio in (("PCMU/8000", 255), ("PCMA/8000", 254), ("G722/16000", 200)):
            with contextlib.suppress(pj.Error):
                ep.codecSetPriority(codec, prio)
        acfg = pj.AccountConfig()
        acfg.idUri = f"sip:hotline@{self.host}:{self.port}"
        acfg.mediaConfig.transportConfig.port = self.rtp_port
        acfg.mediaConfig.transportConfig.portRange = 2 * MAX_CALLS_PER_PROCESS + 8
        acfg.mediaConfig.transportConfig.boundAddress = self.rtp_bind
        acfg.mediaConfig.transportConfig.publicAddress = self.media_address
        self._account = _Account(self)
        self._account.create(acfg)
        self._ep = ep
        self.listening = True
        self._poller = asyncio.create_task(self._poll(), name="pjsua2-poll")

    async def _poll(self) -> None:
        assert self._ep is not None
        while True:
            self._ep.libHandleEvents(0)
            await asyncio.sleep(0.005)

    def _incoming(self, account: pj.Account, call_id: int) -> None:
        assert self._loop is not None
        leg = SipCallLeg(account, call_id, self._loop, self._pool, self._released)
        self.calls[id(leg)] = leg
        leg.answer(200)
        self._on_call(leg)

    def _released(self, leg: SipCallLeg) -> None:
        self.calls.pop(id(leg), None)

    async def hangup_all(self, timeout: float = 3.0) -> None:
        legs = list(self.calls.values())
        for leg in legs:
            leg.hangup_call()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(leg.disconnected.wait() for leg in legs)), timeout)

    async def stop(self) -> None:
        """Hang up, then destroy the library; every pjsua2 object must be gone before libDestroy."""
        if self._ep is None:
            return
        await self.hangup_all()
        # let final BYE transactions go out
        for _ in range(20):
            self._ep.libHandleEvents(0)
            await asyncio.sleep(0.01)
        if self._poller:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        self._ep.audDevManager().setNoDev()
        for leg in list(self.calls.values()):  # every pjsua2 object must go before libDestroy
            leg._release_pj()
        self.calls.clear()
        gc.collect()
        self._pool.clear()
        if self._account is not None:
            self._account.shutdown()
            self._account = None
        self._ep.libDestroy()
        self._ep = None
        self.listening = False
