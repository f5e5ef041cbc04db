"""Overdue tickets: when a ticket that still needs work passes its SLA time, a reminder goes to the
desk of its assignee (or, when nobody is assigned, to every agent whose desk is open) and a
``ticket.overdue`` event to the event stream. Checked every few seconds, so a reminder is on the
desk well within a minute of the SLA time; each SLA time is reminded once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from hotline.center.agents import AgentDirectory, AgentState
from hotline.center.bus import CallEvent, TicketOverdue
from hotline.center.keys import agent_channel
from hotline.center.tickets import Ticket, TicketStore
from hotline.system.loops import supervised

log = logging.getLogger(__name__)


def reminder(ticket: Ticket) -> dict[str, Any]:
    return {"type": "ticket_overdue", "ticket": {
        "ref": ticket.ref, "type": ticket.type, "priority": ticket.priority, "status": ticket.status,
        "due_at": ticket.due_at, "assignee": ticket.assignee, "queue": ticket.queue,
        "description": ticket.description[:200]}}


class TicketReminders:
    def __init__(self, tickets: TicketStore, agents: AgentDirectory, client: aioredis.Redis,
                 publish: Callable[[CallEvent], None], every_s: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.tickets = tickets
        self.agents = agents
        self.redis = client
        self.publish = publish
        self.every_s = every_s
        self.clock = clock
        self.sent = 0

    async def check(self) -> list[Ticket]:
        due = await asyncio.to_thread(self.tickets.due_for_reminder, self.clock())
        for ticket in due:
            await self._remind(ticket)
        return due

    async def _remind(self, ticket: Ticket) -> None:
        if ticket.assignee:
            targets = [ticket.assignee]
        else:
            presence = await self.agents.all_presence()
            targets = sorted(name for name, p in presence.items() if p.state != AgentState.OFFLINE)
        message = json.dumps(reminder(ticket), ensure_ascii=False)
        for agent in targets:
            await self.redis.publish(agent_channel(agent), message)
        self.publish(TicketOverdue(call_id=ticket.call_id, ref=ticket.ref, ticket_type=ticket.type,
                                   priority=ticket.priority, assignee=ticket.assignee, queue=ticket.queue,
                                   due_at=ticket.due_at, notified=targets))
        self.sent += 1
        log.info("ticket overdue", extra={"ticket_ref": ticket.ref, "assignee": ticket.assignee,
                                          "notified": len(targets)})

    async def run(self) -> None:
        await supervised(self.check, name="ticket-reminders", every_s=self.every_s, retry_s=self.every_s)
