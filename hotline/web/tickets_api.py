"""Tickets over HTTP: list and read (the ticket pages and workflow are the QA milestone's)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Query

from hotline.center.tickets import TicketStore


def tickets_router(store: TicketStore) -> APIRouter:
    router = APIRouter(prefix="/api/tickets", tags=["tickets"])

    @router.get("")
    async def list_tickets(status: str | None = None, limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        """Newest first."""
        tickets = await asyncio.to_thread(store.list, status, limit)
        return [t.to_dict() for t in tickets]

    @router.get("/{ref}")
    async def get_ticket(ref: str) -> dict[str, Any]:
        ticket = await asyncio.to_thread(store.get, ref)
        if ticket is None:
            raise HTTPException(status_code=404, detail=f"no ticket with reference {ref!r}")
        return ticket.to_dict()

    return router
