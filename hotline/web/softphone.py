"""Browser callers: the "call the hotline" page and the offer/answer endpoint behind it.

A browser caller is known by a phone number they type in (``sip:+15550100@webrtc``), by a customer
id that the embedding site signs (``/call?customer=ID&sig=HEX``, the HMAC-SHA256 of ID under the
setting ``caller_signing_secret``: ``customer:ID@webrtc``), or else by an anonymous URI of their own;
never by one shared with other browser callers, so history, tickets and the CRM look-up are theirs."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from hotline.center.nodes import NodeDirectory
from hotline.center.webrtc_signalling import (
    SignallingError,
    anonymous_caller,
    customer_caller,
    phone_caller,
    request_call,
)
from hotline.web.pages import add_page

_SEPARATORS = re.compile(r"[\s().\-/]")
# E.164-ish: 6 to 15 digits; with a +, a country code (never 0) first; without it, as dialled locally
_NUMBER = re.compile(r"^(\+[1-9][0-9]{5,14}|[0-9]{6,15})$")
_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Offer(BaseModel):
    sdp: str = Field(min_length=10, max_length=20000, description="the browser's SDP offer, ICE gathered")
    type: str = Field("offer", pattern="^offer$")
    phone: str = Field("", max_length=40, description="the caller's phone number, as typed (E.164: +15550100)")
    customer: str = Field("", max_length=64, description="a customer id from the embedding site (needs sig)")
    sig: str = Field("", max_length=128, description="hex HMAC-SHA256 of customer under caller_signing_secret")


class IdentityError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def normalise_phone(raw: str) -> str:
    """``"+1 (555) 010-0"`` -> ``"+15550100"``; a leading 00 is read as +; ValueError when not a number."""
    number = _SEPARATORS.sub("", raw.strip())
    if number.startswith("00"):
        number = "+" + number[2:]
    if not _NUMBER.match(number):
        raise ValueError("enter a phone number of 6 to 15 digits, with the country code: +15550100")
    return number


def customer_signature(secret: str, customer_id: str) -> str:
    """What the embedding site puts in ``sig``: hex HMAC-SHA256 of the id under the shared secret."""
    return hmac.new(secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def caller_uri(offer: Offer, secret: str | None) -> str:
    """The caller's URI for this offer; IdentityError (status and message) when the identity is refused."""
    if offer.customer or offer.sig:
        if not secret:
            raise IdentityError(403, "this hotline accepts no customer ids (no caller_signing_secret is set)")
        if not _CUSTOMER_ID.match(offer.customer):
            raise IdentityError(422, "a customer id is 1 to 64 letters, digits, '.', '_' or '-'")
        if not hmac.compare_digest(customer_signature(secret, offer.customer), offer.sig.strip().lower()):
            raise IdentityError(403, "the customer id's signature is not valid: open the call page from your "
                                     "account's link again")
        return customer_caller(offer.customer)
    if offer.phone.strip():
        try:
            return phone_caller(normalise_phone(offer.phone))
        except ValueError as exc:
            raise IdentityError(422, str(exc)) from exc
    return anonymous_caller()


async def _pick_worker(client: aioredis.Redis) -> str:
    """The least-loaded live worker of any node that is not draining."""
    try:
        live = await NodeDirectory(client, "").live_workers()
    except (aioredis.RedisError, OSError) as exc:
        raise HTTPException(status_code=503, detail="call signalling unavailable (Redis)") from exc
    load = [(int(info.get("calls", 0)) + int(info.get("webrtc_calls", 0)), name) for name, info in live.items()]
    if not load:
        raise HTTPException(status_code=503, detail="no media worker is running")
    return min(load)[1]


def softphone_router(client: aioredis.Redis, signing_secret: str | None = None) -> APIRouter:
    router = APIRouter(tags=["webrtc"])

    @router.post("/api/webrtc/calls")
    async def place_call(offer: Offer) -> dict[str, Any]:
        """Place a browser call into the IVR: returns the SDP answer (non-trickle ICE) and who the
        caller is known as (`caller`). A bad customer signature is refused with 403, a bad number 422."""
        if "m=audio" not in offer.sdp:
            raise HTTPException(status_code=422, detail="the offer has no audio")
        try:
            caller = caller_uri(offer, signing_secret)
        except IdentityError as exc:
            raise HTTPException(status_code=exc.status, detail=str(exc)) from exc
        worker = await _pick_worker(client)
        try:
            answer = await request_call(client, worker, offer.sdp, caller)
        except SignallingError as exc:
            raise HTTPException(status_code=503 if exc.retryable else 422, detail=str(exc)) from exc
        except (aioredis.RedisError, OSError) as exc:
            raise HTTPException(status_code=503, detail="call signalling unavailable (Redis)") from exc
        return {**answer, "caller": caller}

    add_page(router, "/call", "call.html")  # customers: no staff navigation
    return router
