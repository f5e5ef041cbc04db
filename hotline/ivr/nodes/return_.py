"""`return`: back to the flow that called this one (a `subflow` node); in the main flow, the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hotline.ivr.actions import IvrAction
from hotline.ivr.model import Node, Run
from hotline.ivr.nodes.spec import NodeSpec


@dataclass(frozen=True, kw_only=True)
class ReturnNode(Node):
    type: ClassVar[str] = "return"

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        if not run.in_subflow:
            actions.extend(run.finish("flow_end"))
            return None
        return run.return_from_flow()


SPEC = NodeSpec(ReturnNode)
