"""Browser calls: the app server hands a browser's SDP offer to a media worker through Redis and
returns the worker's answer, so the call's media (and its IVR session) live in that worker."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from aiortc import RTCConfiguration, RTCPeerConnection

from hotline.center.keys import webrtc_answer_key as answer_key
from hotline.center.keys import webrtc_offers_key as offers_key
from hotline.system.errors import HotlineError
from hotline.system.loops import supervised
from hotline.system.tasks import TaskGroupOwner
from hotline.telephony.webrtc.leg import WebRtcCallLeg

log = logging.getLogger(__name__)

ANSWER_TTL_S = 30
BROWSER_HOST = "webrtc"  # the host part of a browser caller's URI
_ANONYMOUS_LETTERS = "bcdfghjkmnpqrstvwxz"  # no digits: a CRM matching numbers finds nobody in it


def anonymous_caller() -> str:
    """A browser caller who gave no identity: a URI of their own, never shared with another caller."""
    return f"anonymous-{''.join(secrets.choice(_ANONYMOUS_LETTERS) for _ in range(12))}@{BROWSER_HOST}"


def phone_caller(number: str) -> str:
    """A browser caller known by the number they gave (already validated): ``sip:+15550100@webrtc``."""
    return f"sip:{number}@{BROWSER_HOST}"


def customer_caller(customer_id: str) -> str:
    """A browser caller known by the embedding site's (signed) customer id: ``customer:ID@webrtc``."""
    return f"customer:{customer_id}@{BROWSER_HOST}"


class SignallingError(HotlineError):
    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


async def request_call(client: aioredis.Redis, worker: str, sdp: str, caller: str,
                       timeout: float = 15.0, bridge: str = "", monitor: str = "") -> dict[str, Any]:
    """App side: queue the offer for `worker` and wait for its answer. With `bridge` (a call id)
    the offer is an agent's, to be bridged into that call; with `monitor` too (listen, whisper or
    barge) it is a supervisor's (`caller`) joining that call."""
    request = uuid.uuid4().hex
    await client.rpush(offers_key(worker), json.dumps({"id": request, "sdp": sdp, "caller": caller,
                                                      "bridge": bridge, "monitor": monitor}))
    await client.expire(offers_key(worker), ANSWER_TTL_S)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        item = await client.blpop([answer_key(request)], timeout=1)
        if item is not None:
            answer: dict[str, Any] = json.loads(item[1])
            if "error" in answer:
                raise SignallingError(str(answer["error"]), retryable=False)
            return answer
    raise SignallingError(f"worker {worker} did not answer in {timeout:.0f} s", retryable=True)


class WebRtcIntake:
    """Worker side: takes offers addressed to this worker and turns each into a call leg."""

    def __init__(self, client: aioredis.Redis, worker: str, rate: int,
                 on_leg: Callable[[WebRtcCallLeg], None],
                 on_agent: Callable[[WebRtcCallLeg, str, str], bool] | None = None,
                 on_monitor: Callable[[WebRtcCallLeg, str, str, str], bool] | None = None) -> None:
        self.client = client
        self.worker = worker
        self.rate = rate
        self.on_leg = on_leg
        self.on_agent = on_agent
        self.on_monitor = on_monitor  # (leg, call, supervisor, mode)
        self.legs: set[WebRtcCallLeg] = set()
        self.tasks = TaskGroupOwner()  # offers being answered, legs being forgotten

    async def run(self) -> None:
        await supervised(self.take, name="webrtc-intake")  # Redis away: browser calls wait, SIP calls go on

    async def take(self) -> None:
        """Start answering the next offer (waits up to a second for one)."""
        item = await self.client.blpop([offers_key(self.worker)], timeout=1)
        if item is None:
            return
        try:
            offer = json.loads(item[1])
        except ValueError:
            log.warning("webrtc offer not JSON, dropped", extra={"worker": self.worker})
            return
        self.tasks.spawn(self._take(offer), name="webrtc-offer")

    async def _take(self, offer: dict[str, Any]) -> None:
        request = str(offer.get("id", ""))
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            leg = WebRtcCallLeg(pc, self.rate, str(offer.get("caller") or anonymous_caller()))
            sdp = await asyncio.wait_for(leg.answer(str(offer["sdp"])), 10.0)
        except Exception as exc:  # noqa: BLE001 (a bad offer fails this call only; the browser is told why)
            log.warning("webrtc offer refused", extra={"worker": self.worker, "error": str(exc)})
            await pc.close()
            await self._reply(request, {"error": f"offer refused: {exc}"})
            return
        bridge, monitor = str(offer.get("bridge") or ""), str(offer.get("monitor") or "")
        if bridge and monitor:  # a supervisor joining a call held by this worker
            if self.on_monitor is None or not self.on_monitor(leg, bridge, str(offer.get("caller", "")), monitor):
                leg.hangup_call()
                await self._reply(request, {"error": "the call is over"})
                return
        elif bridge:  # an agent answering a queued call held by this worker
            if self.on_agent is None or not self.on_agent(leg, bridge, str(offer.get("caller", ""))):
                leg.hangup_call()
                await self._reply(request, {"error": "the caller is no longer waiting"})
                return
        else:
            self.on_leg(leg)
        self.legs.add(leg)
        self.tasks.spawn(self._forget(leg), name=f"webrtc-forget-{leg.info.call_id}")
        await self._reply(request, {"sdp": sdp, "type": "answer", "call": leg.info.call_id, "worker": self.worker})

    async def _forget(self, leg: WebRtcCallLeg) -> None:
        await leg.disconnected.wait()
        self.legs.discard(leg)

    async def _reply(self, request: str, body: dict[str, Any]) -> None:
        await self.client.rpush(answer_key(request), json.dumps(body))
        await self.client.expire(answer_key(request), ANSWER_TTL_S)
