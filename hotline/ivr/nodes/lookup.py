"""`lookup`: ask a data source (`hotline.ivr.lookups`); the answer's fields become variables under
`result` (`parcel.status`), a failure goes to `on_error` with `<result>.error` set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hotline.ivr.actions import IvrAction, Lookup, LookupDone, ServiceResult
from hotline.ivr.model import Node, Run, render
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.yaml_marks import Located


@dataclass(frozen=True, kw_only=True)
class LookupNode(Node):
    type: ClassVar[str] = "lookup"
    source: str = ""
    operation: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    result: str = ""
    on_error: str | None = None

    def summary(self, language: str) -> str:
        return f"{self.source}.{self.operation}"

    def exits(self) -> tuple[tuple[str, str | None], ...]:
        return (("next", self.next), ("error", self.on_error))

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        params = {k: render(v, run.variables) for k, v in self.params.items()}
        run.turn.wait = "lookup"
        actions.append(Lookup(run.next_op(), self.source, self.operation, params))
        return None

    def on_result(self, run: Run, event: ServiceResult) -> list[IvrAction]:
        if not isinstance(event, LookupDone) or run.turn.wait != "lookup":
            return []
        run.turn.wait = ""
        prefix = self.result
        for key in [k for k in run.variables if k.startswith(f"{prefix}.")]:
            del run.variables[key]
        if event.data is None:
            run.variables[f"{prefix}.error"] = event.error or "failed"
            assert self.on_error is not None
            return run.enter(self.on_error)
        for key, value in flatten(event.data).items():
            run.variables[f"{prefix}.{key}"] = value
        assert self.next is not None
        return run.enter(self.next)


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """{"a": {"b": 1}, "c": [x, y]} -> {"a.b": "1", "c.1": "x", "c.2": "y"}; booleans as yes/no."""
    if isinstance(data, dict):
        out: dict[str, str] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, list):
        out = {}
        for i, value in enumerate(data):
            out.update(flatten(value, f"{prefix}.{i + 1}" if prefix else str(i + 1)))
        return out
    if isinstance(data, bool):
        return {prefix: "yes" if data else "no"}
    return {prefix: "" if data is None else str(data)}


def load(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    kw["source"] = r.text(raw, "source", ctx)
    kw["operation"] = r.text(raw, "operation", ctx)
    if not kw["source"] or not kw["operation"]:
        r.err(raw, None, f"{ctx}: a lookup needs 'source' and 'operation'")
    kw["params"] = r.mapping_of_text(raw, "params", ctx)
    kw["result"] = r.text(raw, "result", ctx) or kw["source"]
    kw["on_error"] = r.target(raw, "on_error", kw["id"])
    if kw["on_error"] is None:
        r.err(raw, None, f"{ctx}: a lookup needs 'on_error' (where to go when the service fails)")


SPEC = NodeSpec(LookupNode, frozenset({"source", "operation", "params", "result", "on_error"}), load,
                needs_next=True)
