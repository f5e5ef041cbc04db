"""`say`: speak the prompt, then go on to `next` (a global handler such as "agent" still works)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hotline.ivr.actions import IvrAction, StopPlayback
from hotline.ivr.model import Node, Run
from hotline.ivr.nodes.spec import NodeSpec


@dataclass(frozen=True, kw_only=True)
class SayNode(Node):
    type: ClassVar[str] = "say"

    def on_prompt_done(self, run: Run) -> list[IvrAction]:
        assert self.next is not None
        return run.enter(self.next)

    def on_digit(self, run: Run, digit: str) -> list[IvrAction]:
        run.typeahead.append(digit)  # kept for the next input node
        return []

    def on_speech(self, run: Run, text: str) -> list[IvrAction]:
        glob = run.global_choice(self, text=text)
        if glob is not None:  # "agent" during an announcement
            return [*([StopPlayback()] if run.turn.playing else []), *run.choose(self, glob)]
        return []


SPEC = NodeSpec(SayNode, frozenset({"next"}), needs_next=True)
