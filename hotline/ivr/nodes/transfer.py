"""`transfer`: to an agent queue (with skill and priority) or a SIP URI; when nobody can answer,
`on_unavailable` with `transfer.reason` set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from hotline.ivr.actions import IvrAction, ServiceResult, Transfer, TransferDone
from hotline.ivr.model import Node, Run
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.yaml_marks import Located


@dataclass(frozen=True, kw_only=True)
class TransferNode(Node):
    type: ClassVar[str] = "transfer"
    queue: str = ""
    skill: str = ""
    priority: int = 0
    uri: str = ""
    on_unavailable: str | None = None

    def summary(self, language: str) -> str:
        return f"queue {self.queue}" if self.queue else self.uri

    def exits(self) -> tuple[tuple[str, str | None], ...]:
        return (("next", self.next), ("unavailable", self.on_unavailable))

    def on_prompt_done(self, run: Run) -> list[IvrAction]:
        run.turn.wait = "transfer"
        context = {k: v for k, v in run.variables.items() if not k.startswith("_")}
        return [Transfer(run.next_op(), self.queue, self.skill, self.priority, self.uri, context)]

    def on_result(self, run: Run, event: ServiceResult) -> list[IvrAction]:
        if not isinstance(event, TransferDone) or run.turn.wait != "transfer":
            return []
        run.turn.wait = ""
        if event.ok:
            return run.finish("transferred")
        run.variables["transfer.reason"] = event.reason or "unavailable"
        assert self.on_unavailable is not None
        return run.enter(self.on_unavailable)


def load(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    kw["queue"] = r.text(raw, "queue", ctx)
    kw["uri"] = r.text(raw, "uri", ctx)
    kw["skill"] = r.text(raw, "skill", ctx)
    kw["priority"] = int(r.number(raw, "priority", ctx, 0, integer=True))
    if bool(kw["queue"]) == bool(kw["uri"]):
        r.err(raw, None, f"{ctx}: a transfer needs exactly one of 'queue' or 'uri'")
    if kw["uri"] and not re.match(r"^sips?:[^@\s]+@?[^\s]*$", kw["uri"]):
        r.err(raw, "uri", f"{ctx}: uri must be a SIP URI (sip:user@host)")
    kw["on_unavailable"] = r.target(raw, "on_unavailable", kw["id"])
    if kw["on_unavailable"] is None:
        r.err(raw, None, f"{ctx}: a transfer needs 'on_unavailable' (where to go when nobody can answer)")


SPEC = NodeSpec(TransferNode, frozenset({"queue", "skill", "priority", "uri", "on_unavailable"}), load)
