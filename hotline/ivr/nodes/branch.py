"""`branch`: the first case whose condition (`hotline.ivr.expr`) holds, else `else`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hotline.ivr import expr
from hotline.ivr.actions import IvrAction
from hotline.ivr.model import Case, Node, Run
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.yaml_marks import Located


@dataclass(frozen=True, kw_only=True)
class BranchNode(Node):
    type: ClassVar[str] = "branch"
    cases: tuple[Case, ...] = ()
    otherwise: str | None = None

    def exits(self) -> tuple[tuple[str, str | None], ...]:
        return (("next", self.next), ("else", self.otherwise))

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        for case in self.cases:
            if expr.evaluate(case.condition, run.variables):
                return case.next
        return self.otherwise


def load(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    cases = raw.get("cases")
    if not isinstance(cases, list) or not cases:
        r.err(raw, "cases" if "cases" in raw else None, f"{ctx}: a branch needs 'cases' (a list of if/next)")
        return
    parsed = []
    for i, case in enumerate(cases):
        if not isinstance(case, Located) or "if" not in case or "next" not in case:
            r.err(case if isinstance(case, Located) else raw, None, f"{ctx} case {i + 1}: needs 'if' and 'next'")
            continue
        condition = str(case["if"])
        try:
            expr.parse(condition)
        except expr.ExprError as exc:
            line, col = case.value_at("if")
            r.error_at(line, col + max(exc.column - 1, 0), f"{ctx} case {i + 1}: {exc}")
        target = r.target(case, "next", kw["id"])
        if target:
            parsed.append(Case(condition, target))
    kw["cases"] = tuple(parsed)
    kw["otherwise"] = r.target(raw, "else", kw["id"])
    if kw["otherwise"] is None:
        r.err(raw, None, f"{ctx}: a branch needs 'else'")


SPEC = NodeSpec(BranchNode, frozenset({"cases", "else"}), load)
