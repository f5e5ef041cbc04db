"""`subflow`: run another flow of the directory until its `return` node, then go on to `next`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from hotline.ivr.actions import IvrAction
from hotline.ivr.model import Flow, FlowError, Node, Run
from hotline.ivr.nodes.fields import Fields, suggest
from hotline.ivr.nodes.return_ import ReturnNode
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.yaml_marks import Located


@dataclass(frozen=True, kw_only=True)
class SubflowNode(Node):
    type: ClassVar[str] = "subflow"
    flow: str = ""  # the name of the flow to run

    def summary(self, language: str) -> str:
        return f"-> {self.flow}"

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        return run.call_flow(self.flow, self.next)

    def flow_problems(self, flow: Flow, flows: Mapping[str, Flow]) -> list[FlowError]:
        if not self.flow:
            return []
        callee = flows.get(self.flow)
        where = (flow.file, self.line, self.column)
        if callee is None:
            return [FlowError(*where, f"node '{self.id}': unknown flow '{self.flow}'" + suggest(self.flow, flows))]
        if not any(isinstance(n, ReturnNode) for n in callee.nodes.values()):
            return [FlowError(*where, f"node '{self.id}': flow '{self.flow}' has no 'return' node")]
        if set(flow.languages) - set(callee.languages):
            return [FlowError(*where, f"node '{self.id}': flow '{self.flow}' lacks "
                                      f"languages {sorted(set(flow.languages) - set(callee.languages))}")]
        return []


def load(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    kw["flow"] = r.text(raw, "flow", ctx)
    if not kw["flow"]:
        r.err(raw, None, f"{ctx}: a subflow node needs 'flow' (the name of another flow file)")


SPEC = NodeSpec(SubflowNode, frozenset({"flow"}), load, needs_next=True)
