"""Tickets over HTTP: list with filters, read, create (the agent desk, other systems), change status,
assignee, queue, priority or SLA time with a note; and the ticket list page."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from hotline.center.agents import Agent
from hotline.center.tickets import (
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    TICKET_TYPES,
    TicketFilter,
    TicketNotFound,
    TicketStore,
)
from hotline.web.access import Access, CurrentUser
from hotline.web.pages import add_page


class NewTicket(BaseModel):
    type: str = Field(description=f"one of {', '.join(TICKET_TYPES)}")
    priority: str = Field("normal", description=f"one of {', '.join(TICKET_PRIORITIES)}")
    description: str = Field("", max_length=4000)
    call_id: str = Field("", max_length=64)
    caller: str = Field("", max_length=200)
    parcel_number: str = Field("", max_length=64)
    assignee: str = Field("", max_length=64)
    queue: str = Field("", max_length=64)
    due_at: float | None = Field(None, description="SLA time (epoch seconds); default by priority")
    fields: dict[str, str] = Field(default_factory=dict)


class TicketChange(BaseModel):
    status: str | None = Field(None, description=f"one of {', '.join(TICKET_STATUSES)}")
    assignee: str | None = Field(None, max_length=64)
    queue: str | None = Field(None, max_length=64)
    priority: str | None = None
    due_at: float | None = None
    note: str | None = Field(None, max_length=4000)


def tickets_router(store: TicketStore, access: Access) -> APIRouter:
    router = APIRouter(tags=["tickets"])
    directory = access.auth.agents

    async def assignable() -> list[Agent]:
        return [a for a in await directory.all() if a.has_role("agent")]

    async def check_assignee(username: str | None) -> None:
        """An assignee must be an agent's user name (a typo would leave the ticket with nobody)."""
        if not username:
            return
        agent = await directory.get(username)
        if agent is None or not agent.has_role("agent"):
            names = ", ".join(a.username for a in await assignable()) or "none"
            what = "no user" if agent is None else "not an agent"
            raise HTTPException(status_code=422, detail=f"assignee {username!r} is {what}: "
                                                        f"assign to an agent ({names}) or leave it empty")

    @router.get("/api/tickets/assignees")
    async def list_assignees() -> list[dict[str, str]]:
        """Who a ticket can be assigned to: every agent (user name and name)."""
        return [{"username": a.username, "name": a.name} for a in await assignable()]

    @router.get("/api/tickets")
    async def list_tickets(status: str | None = None, type: str | None = None, priority: str | None = None,
                           assignee: str | None = None, queue: str | None = None, caller: str | None = None,
                           overdue: bool | None = None, open_only: bool = False,
                           limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        """Newest first; every filter is optional (`overdue=true`: open tickets past their SLA time)."""
        filters = TicketFilter(type=type, priority=priority, assignee=assignee, queue=queue, caller=caller,
                               overdue=overdue, open_only=open_only)
        tickets = await asyncio.to_thread(lambda: store.list(status, limit, filters=filters))
        return [t.to_dict() for t in tickets]

    @router.post("/api/tickets", status_code=201)
    async def create_ticket(request: Request, body: NewTicket, user: CurrentUser
                            ) -> dict[str, Any]:
        """A new ticket; its history records the logged-in user as its author. An assignee that is not
        an agent is refused (422)."""
        by = user.username
        await check_assignee(body.assignee)
        try:
            ticket = await asyncio.to_thread(lambda: store.create(
                body.type, call_id=body.call_id, caller=body.caller, parcel_number=body.parcel_number,
                description=body.description, fields=body.fields, priority=body.priority, due_at=body.due_at,
                by=by, assignee=body.assignee, queue=body.queue))
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        await access.record(request, "ticket.created", ticket.ref, {"type": ticket.type, "priority": ticket.priority})
        return ticket.to_dict()

    @router.get("/api/tickets/{ref}")
    async def get_ticket(ref: str) -> dict[str, Any]:
        ticket = await asyncio.to_thread(store.get, ref)
        if ticket is None:
            raise HTTPException(status_code=404, detail=f"no ticket with reference {ref!r}")
        return ticket.to_dict()

    @router.patch("/api/tickets/{ref}")
    async def change_ticket(request: Request, ref: str, body: TicketChange,
                            user: CurrentUser) -> dict[str, Any]:
        """Status (open -> in_progress / waiting -> resolved -> closed; resolved or closed can be
        reopened), assignee, queue, priority, SLA time, and a note; each goes into the history."""
        by = user.username
        if body.assignee:
            existing = await asyncio.to_thread(store.get, ref)
            if existing is None or existing.assignee != body.assignee:  # kept as it is: no check
                await check_assignee(body.assignee)
        try:
            ticket = await asyncio.to_thread(lambda: store.update(
                ref, by, status=body.status, assignee=body.assignee, queue=body.queue, priority=body.priority,
                due_at=body.due_at, note=body.note))
        except TicketNotFound as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        changed = sorted(k for k, v in body.model_dump().items() if v is not None and k != "note")
        await access.record(request, "ticket.changed", ref, {"fields": changed, "note": body.note is not None})
        return ticket.to_dict()

    add_page(router, "/tickets", "tickets.html")
    return router
