"""Listen / whisper / barge: a supervisor joins a live call from the browser (WebRTC).

The supervisor's SDP offer goes to the worker holding the call (as an agent's does when answering,
`hotline.center.webrtc_signalling.request_call` with `monitor`), which mixes the audio there
(`hotline.center.monitor`); mode changes and leaving are typed requests on the worker's control
list (`hotline.center.desk_control`). Roles supervisor and admin (`hotline.web.access`); each join,
change and leave is in the audit log and in the call record (`monitors`).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from hotline.center import desk_control
from hotline.center.desk_control import DeskRequest
from hotline.center.keys import LIVE_CALLS_KEY
from hotline.center.monitor import Mode
from hotline.center.webrtc_signalling import SignallingError, request_call
from hotline.web.access import Access, CurrentUser


class MonitorOffer(BaseModel):
    sdp: str = Field(min_length=1, max_length=20000, description="the browser's SDP offer (non-trickle ICE)")
    mode: Mode = "listen"


class ModeChange(BaseModel):
    mode: Mode


def monitor_router(client: aioredis.Redis, access: Access) -> APIRouter:
    router = APIRouter(tags=["supervisor"])

    async def worker_of(call_id: str) -> str:
        worker = await client.hget(LIVE_CALLS_KEY, call_id)
        if worker is None:
            raise HTTPException(status_code=404, detail="no such live call")
        return worker.decode() if isinstance(worker, bytes) else str(worker)

    @router.post("/api/supervisor/calls/{call_id}/monitor")
    async def join(call_id: str, body: MonitorOffer, request: Request, user: CurrentUser) -> dict[str, Any]:
        """Join a live call: `listen` (hear the caller and the agent; nobody hears you), `whisper`
        (only the agent hears you) or `barge` (both hear you). Returns the worker's SDP answer."""
        worker = await worker_of(call_id)
        try:
            answer = await request_call(client, worker, body.sdp, user.username, bridge=call_id, monitor=body.mode)
        except SignallingError as exc:
            raise HTTPException(status_code=503 if exc.retryable else 409, detail=str(exc)) from exc
        await access.record(request, "call.monitor", call_id, {"mode": body.mode})
        return {"call": call_id, "mode": body.mode, "sdp": answer["sdp"]}

    @router.post("/api/supervisor/calls/{call_id}/mode")
    async def change(call_id: str, body: ModeChange, request: Request, user: CurrentUser) -> dict[str, Any]:
        """Another mode for the call you joined."""
        worker = await worker_of(call_id)
        await desk_control.send(client, worker, DeskRequest(op="monitor_mode", call=call_id, by=user.username,
                                                            mode=body.mode))
        await access.record(request, "call.monitor_mode", call_id, {"mode": body.mode})
        return {"call": call_id, "mode": body.mode}

    @router.delete("/api/supervisor/calls/{call_id}/monitor")
    async def leave(call_id: str, request: Request, user: CurrentUser) -> dict[str, Any]:
        """Leave the call you joined (closing the browser's connection does too)."""
        worker = await worker_of(call_id)
        await desk_control.send(client, worker, DeskRequest(op="unmonitor", call=call_id, by=user.username))
        await access.record(request, "call.unmonitor", call_id)
        return {"call": call_id, "left": True}

    return router
