"""Tickets over HTTP: list with filters, read, create (the agent desk, other systems), change status,
assignee, queue, priority or SLA time with a note; and the ticket list page."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from hotline.center.tickets import (
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    TICKET_TYPES,
    TicketFilter,
    TicketNotFound,
    TicketStore,
)
from hotline.web.access import Access, CurrentUser
from hotline.web.pages import page


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
        """A new ticket; its history records the logged-in user as its author."""
        by = user.username
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

    @router.get("/tickets", response_class=HTMLResponse, include_in_schema=False)
    async def tickets_page() -> str:
        return page("Tickets", _BODY, _SCRIPT)

    return router


def _options(values: tuple[str, ...]) -> str:
    return "".join(f"<option>{v}</option>" for v in values)


_BODY = f"""
<h1>Tickets</h1>
<p>status <select id="f-status"><option value="">any</option>{_options(TICKET_STATUSES)}</select>
type <select id="f-type"><option value="">any</option>{_options(TICKET_TYPES)}</select>
priority <select id="f-priority"><option value="">any</option>{_options(TICKET_PRIORITIES)}</select>
assignee <input id="f-assignee" size="8"> queue <input id="f-queue" size="8">
<label><input type="checkbox" id="f-open"> open only</label>
<label><input type="checkbox" id="f-overdue"> overdue only</label> <button id="search">Show</button></p>
<table><thead><tr><th>Ref</th><th>Type</th><th>Status</th><th>Priority</th><th>Caller</th><th>Parcel</th>
<th>Assignee / queue</th><th>Due</th><th>Description</th></tr></thead><tbody id="list"></tbody></table>
<section id="detail" hidden>
  <h2>Ticket <span id="d-ref"></span></h2>
  <p id="d-summary"></p>
  <p>status <select id="d-status">{_options(TICKET_STATUSES)}</select>
  assignee <input id="d-assignee" size="8"> queue <input id="d-queue" size="8">
  priority <select id="d-priority">{_options(TICKET_PRIORITIES)}</select></p>
  <p><textarea id="d-note" rows="2" cols="60" placeholder="note"></textarea>
  <button id="d-save">Save</button> <span id="d-result"></span></p>
  <h3>History</h3><ol id="d-history"></ol>
</section>
"""

_SCRIPT = """
const $ = id => document.getElementById(id);
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const when = t => t ? new Date(t * 1000).toLocaleString() : '-';
let current = null;
async function search() {
  const q = new URLSearchParams();
  for (const k of ['status', 'type', 'priority', 'assignee', 'queue']) if ($('f-' + k).value) q.set(k, $('f-' + k).value);
  if ($('f-open').checked) q.set('open_only', 'true');
  if ($('f-overdue').checked) q.set('overdue', 'true');
  const list = await (await fetch('/api/tickets?' + q)).json();
  $('list').innerHTML = list.map(t => `<tr data-ref="${esc(t.ref)}" class="${t.overdue ? 'overdue' : ''}">
    <td><a href="#${esc(t.ref)}">${esc(t.ref)}</a></td><td>${esc(t.type)}</td><td>${esc(t.status)}</td>
    <td>${esc(t.priority)}</td><td>${esc(t.caller)}</td><td>${esc(t.parcel_number)}</td>
    <td>${esc(t.assignee)} ${esc(t.queue)}</td>
    <td${t.overdue ? ' class="error"' : ''}>${when(t.due_at)}${t.overdue ? ' (overdue)' : ''}</td>
    <td>${esc(t.description)}</td></tr>`).join('');
}
async function show(ref) {
  const r = await fetch('/api/tickets/' + encodeURIComponent(ref));
  if (!r.ok) return;
  const t = current = await r.json();
  $('detail').hidden = false; $('d-ref').textContent = t.ref;
  $('d-summary').textContent = `${t.type}, ${t.priority}, created ${when(t.created_at)}, due ${when(t.due_at)}` +
    (t.call_id ? `, call ${t.call_id}` : '');
  $('d-status').value = t.status; $('d-assignee').value = t.assignee; $('d-queue').value = t.queue;
  $('d-priority').value = t.priority;
  $('d-history').innerHTML = t.history.map(h => `<li>${when(h.at)} ${esc(h.by)}: ${h.status ? 'status ' + esc(h.status) : ''}
    ${h.changes ? esc(Object.entries(h.changes).map(([k, v]) => `${k} ${v[0] || '-'} -> ${v[1]}`).join(', ')) : ''}
    ${h.note ? esc(h.note) : ''}</li>`).join('');
}
$('d-save').onclick = async () => {
  const body = {status: $('d-status').value, assignee: $('d-assignee').value, queue: $('d-queue').value,
                priority: $('d-priority').value, note: $('d-note').value || null};
  const r = await fetch('/api/tickets/' + current.ref, {method: 'PATCH', headers: {'content-type': 'application/json'},
    body: JSON.stringify(body)});
  $('d-result').textContent = r.ok ? 'saved' : (await r.json()).detail;
  $('d-note').value = '';
  show(current.ref); search();
};
$('search').onclick = search;
window.onhashchange = () => show(location.hash.slice(1));
search();
if (location.hash) show(location.hash.slice(1));
"""
