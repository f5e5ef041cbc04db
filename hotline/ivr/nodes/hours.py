"""`hours`: `open` or `closed` by a schedule defined under `hours:` (`hotline.ivr.hours`), at the
engine's clock; sets `hours.open` (yes/no) and `hours.reason` (why closed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hotline.ivr.actions import IvrAction
from hotline.ivr.hours import closed_reason, is_open
from hotline.ivr.model import Node, Run
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.yaml_marks import Located


@dataclass(frozen=True, kw_only=True)
class HoursNode(Node):
    type: ClassVar[str] = "hours"
    schedule: str = ""
    open: str | None = None
    closed: str | None = None

    def summary(self, language: str) -> str:
        return self.schedule

    def exits(self) -> tuple[tuple[str, str | None], ...]:
        return (("next", self.next), ("open", self.open), ("closed", self.closed))

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        schedule = run.flow.schedules[self.schedule]
        now = run.now()
        opened = is_open(schedule, now)
        run.variables["hours.open"] = "yes" if opened else "no"
        run.variables["hours.reason"] = "" if opened else closed_reason(schedule, now)
        return self.open if opened else self.closed


def load(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    kw["schedule"] = r.text(raw, "schedule", ctx)
    kw["open"] = r.target(raw, "open", kw["id"])
    kw["closed"] = r.target(raw, "closed", kw["id"])
    if not kw["schedule"] or kw["open"] is None or kw["closed"] is None:
        r.err(raw, None, f"{ctx}: an hours node needs 'schedule', 'open' and 'closed'")
    if kw["schedule"] and kw["schedule"] not in r.schedules:
        r.error_at(kw["line"], kw["column"],
                   f"node '{kw['id']}': unknown schedule '{kw['schedule']}' (define it under 'hours:')")


SPEC = NodeSpec(HoursNode, frozenset({"schedule", "open", "closed"}), load)
