"""`ticket`: create a ticket from `ticket:` (its fields, templates over the variables); the
reference goes into `<result>.ref`, a failure to `on_error` with `<result>.error` set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hotline.ivr.actions import CreateTicket, IvrAction, ServiceResult, TicketDone
from hotline.ivr.model import Node, Run, render
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.yaml_marks import Located

TICKET_KEYS = frozenset({"ticket", "result", "on_error"})


@dataclass(frozen=True, kw_only=True)
class TicketNode(Node):
    type: ClassVar[str] = "ticket"
    ticket: Mapping[str, str] = field(default_factory=dict)
    result: str = ""
    on_error: str | None = None

    def exits(self) -> tuple[tuple[str, str | None], ...]:
        return (("next", self.next), ("error", self.on_error))

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        run.turn.wait = "ticket"
        actions.append(CreateTicket(run.next_op(), self.ticket_fields(run)))
        return None

    def on_result(self, run: Run, event: ServiceResult) -> list[IvrAction]:
        if not isinstance(event, TicketDone) or run.turn.wait != "ticket":
            return []
        run.turn.wait = ""
        if not event.ref:
            run.variables[f"{self.result}.error"] = event.error or "failed"
            assert self.on_error is not None
            return run.enter(self.on_error)
        run.variables[f"{self.result}.ref"] = event.ref
        assert self.next is not None
        return run.enter(self.next)

    def ticket_fields(self, run: Run) -> dict[str, str]:
        fields = {k: render(v, run.variables) for k, v in self.ticket.items()}
        fields.setdefault("language", run.language)
        return fields


def load_ticket(r: Fields, raw: Located, kw: dict[str, Any], ctx: str, default_type: str = "") -> None:
    fields = r.mapping_of_text(raw, "ticket", ctx)
    if not fields.get("type", default_type):
        r.err(raw, "ticket" if "ticket" in raw else None, f"{ctx}: 'ticket' needs a 'type'")
    kw["ticket"] = {"type": default_type, **fields} if default_type else fields
    kw["result"] = r.text(raw, "result", ctx) or "ticket"
    kw["on_error"] = r.target(raw, "on_error", kw["id"])
    if kw["on_error"] is None:
        r.err(raw, None, f"{ctx}: needs 'on_error' (where to go when the ticket cannot be created)")


SPEC = NodeSpec(TicketNode, TICKET_KEYS, load_ticket, needs_next=True)
