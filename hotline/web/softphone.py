"""Browser callers: the "call the hotline" page and the offer/answer endpoint behind it."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from hotline.center.keys import WORKERS_KEY
from hotline.center.webrtc_signalling import SignallingError, request_call
from hotline.web.pages import add_page


class Offer(BaseModel):
    sdp: str = Field(min_length=10, max_length=20000, description="the browser's SDP offer, ICE gathered")
    type: str = Field("offer", pattern="^offer$")
    caller: str = Field("webrtc", max_length=100, description="who is calling (shown to agents)")


async def _pick_worker(client: aioredis.Redis) -> str:
    try:
        raw = await client.hgetall(WORKERS_KEY)
    except (aioredis.RedisError, OSError) as exc:
        raise HTTPException(status_code=503, detail="call signalling unavailable (Redis)") from exc
    load: list[tuple[int, str]] = []
    for key, value in raw.items():
        info = json.loads(value)
        name = key.decode() if isinstance(key, bytes) else str(key)
        load.append((int(info.get("calls", 0)) + int(info.get("webrtc_calls", 0)), name))
    if not load:
        raise HTTPException(status_code=503, detail="no media worker is running")
    return min(load)[1]


def softphone_router(client: aioredis.Redis) -> APIRouter:
    router = APIRouter(tags=["webrtc"])

    @router.post("/api/webrtc/calls")
    async def place_call(offer: Offer) -> dict[str, Any]:
        """Place a browser call into the IVR: returns the SDP answer (non-trickle ICE)."""
        if "m=audio" not in offer.sdp:
            raise HTTPException(status_code=422, detail="the offer has no audio")
        worker = await _pick_worker(client)
        try:
            return await request_call(client, worker, offer.sdp, offer.caller)
        except SignallingError as exc:
            raise HTTPException(status_code=503 if exc.retryable else 422, detail=str(exc)) from exc
        except (aioredis.RedisError, OSError) as exc:
            raise HTTPException(status_code=503, detail="call signalling unavailable (Redis)") from exc

    add_page(router, "/call", "call.html")  # customers: no staff navigation
    return router
