"""`hangup`: speak the prompt (if any) and end the call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hotline.ivr.actions import IvrAction
from hotline.ivr.model import Node, Run
from hotline.ivr.nodes.spec import NodeSpec


@dataclass(frozen=True, kw_only=True)
class HangupNode(Node):
    type: ClassVar[str] = "hangup"

    def on_prompt_done(self, run: Run) -> list[IvrAction]:
        return run.finish("flow_end")

    def on_digit(self, run: Run, digit: str) -> list[IvrAction]:
        run.typeahead.append(digit)
        return []


SPEC = NodeSpec(HangupNode)
