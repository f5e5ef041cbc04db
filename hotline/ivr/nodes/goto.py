"""`goto`: go on to `next` at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hotline.ivr.actions import IvrAction
from hotline.ivr.model import Node, Run
from hotline.ivr.nodes.spec import NodeSpec


@dataclass(frozen=True, kw_only=True)
class GotoNode(Node):
    type: ClassVar[str] = "goto"

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        return self.next


SPEC = NodeSpec(GotoNode, needs_next=True)
