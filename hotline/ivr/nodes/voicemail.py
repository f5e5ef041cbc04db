"""`voicemail`: speak the prompt, record the caller's message (until # or *, `max_seconds`, or a
hang-up), then create a ticket (type `callback` unless `ticket:` says otherwise) with the recording."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from hotline.ivr.actions import CreateTicket, IvrAction, RecordingDone, ServiceResult, StartRecording
from hotline.ivr.model import Node, Run
from hotline.ivr.nodes.fields import Fields
from hotline.ivr.nodes.spec import NodeSpec
from hotline.ivr.nodes.ticket import TICKET_KEYS, TicketNode, load_ticket
from hotline.ivr.yaml_marks import Located


@dataclass(frozen=True, kw_only=True)
class VoicemailNode(TicketNode):
    type: ClassVar[str] = "voicemail"
    waits: ClassVar[bool] = True
    max_ms: int = 60000

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        return Node.on_enter(self, run, actions)  # speaks first; the ticket comes after the message

    def on_prompt_done(self, run: Run) -> list[IvrAction]:
        run.turn.wait = "recording"
        return [StartRecording(run.next_op(), self.max_ms)]

    def on_digit(self, run: Run, digit: str) -> list[IvrAction]:
        run.typeahead.append(digit)
        return []

    def on_result(self, run: Run, event: ServiceResult) -> list[IvrAction]:
        if isinstance(event, RecordingDone) and run.turn.wait == "recording":
            run.recording = event.path
            run.variables["voicemail.seconds"] = str(round(event.duration_ms / 1000))
            fields = self.ticket_fields(run)
            fields["recording"] = event.path
            run.turn.wait = "ticket"
            return [CreateTicket(run.next_op(), fields)]
        return super().on_result(run, event)

    def on_recording_after_hangup(self, run: Run, event: RecordingDone) -> list[IvrAction]:
        fields = self.ticket_fields(run)
        fields["recording"] = event.path
        return [CreateTicket(run.next_op(), fields)]


def load(r: Fields, raw: Located, kw: dict[str, Any], ctx: str) -> None:
    kw["max_ms"] = int(r.number(raw, "max_seconds", ctx, 60, minimum=1) * 1000)
    load_ticket(r, raw, kw, ctx, default_type="callback")


SPEC = NodeSpec(VoicemailNode, TICKET_KEYS | {"max_seconds"}, load, needs_next=True, needs_prompt=True)
