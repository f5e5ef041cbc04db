"""The IVR as a pure state machine: events in, actions out (see `hotline.ivr.actions`).

No audio, no I/O and no clock of its own: the wall clock is injected (`now`) for business hours,
and lookups, tickets, recordings and transfers are actions whose results come back as events.
A call runs on the `FlowSet` it started with, so a reload never changes a call in progress.

What a node does is decided by its class (`hotline.ivr.nodes`, one module per node type): the
engine keeps the call's state, turns each event into a call of the current node's `on_*` rule,
and offers the nodes the shared steps (`model.Run`: speak, arm a timer, choose, enter a node...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, assert_never

from hotline.ivr.actions import (
    AnswerFound,
    CallerHungUp,
    CallerSpeaking,
    DigitPressed,
    Hangup,
    IvrAction,
    IvrEvent,
    Listen,
    LookupDone,
    Play,
    PromptDone,
    RecordingDone,
    SpeechHeard,
    SpeechUnavailable,
    StartRecording,
    StartTimer,
    StopPlayback,
    StopRecording,
    TicketDone,
    TimerFired,
    Transfer,
    TransferDone,
)
from hotline.ivr.intents import IntentMatcher, heard
from hotline.ivr.model import ASKING_TYPES, Choice, Flow, FlowSet, Node, Prompt, Turn, render

_MAX_STEPS = 200  # silent nodes in a row before the engine gives up (the loader rejects silent loops)


@dataclass
class _Frame:
    flow: Flow
    return_to: str | None  # node of the calling flow to continue at; None for the main flow


class IvrEngine:
    """One call's IVR. Implements `model.Run`, what the node types' rules use of the call."""

    def __init__(self, flows: FlowSet | Flow, flow: str | None = None, variables: dict[str, str] | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.flows = flows if isinstance(flows, FlowSet) else FlowSet({flows.name: flows})
        main = self.flows.get(flow or next(iter(self.flows.flows)))
        self.variables: dict[str, str] = dict(variables or {})
        self.variables.setdefault("lang", main.language)
        self._now = now or (lambda: datetime.now(UTC))
        self.variables.setdefault("today", self._now().date().isoformat())
        self.path: list[str] = []
        self.finished = False
        self.end_reason = ""
        self.keypad_only = False  # speech recognition was refused: input nodes take keys only
        self.turn = Turn()
        self.typeahead: list[str] = []
        self.recording = ""
        self.bot: list[dict[str, Any]] = []  # the voice bot's questions (`answer` nodes), as in CallRecord.bot
        self.matchers: dict[tuple[str, str, str], IntentMatcher] = {}
        self._stack = [_Frame(main, None)]
        self._node: Node | None = None
        self._prompt_seq = 0
        self._timer = 0
        self._op = 0

    # --- public ----------------------------------------------------------------------------

    @property
    def flow(self) -> Flow:
        return self._stack[-1].flow

    @property
    def node(self) -> Node | None:
        return self._node

    @property
    def language(self) -> str:
        lang = self.variables.get("lang", "")
        return lang if lang in self.flow.languages else self.flow.language

    @property
    def waiting_for(self) -> str:
        return self.turn.wait

    def start(self) -> list[IvrAction]:
        return self._settle_bot(self.enter(self.flow.start))

    def handle(self, event: IvrEvent) -> list[IvrAction]:
        return self._settle_bot(self._handle(event))

    def _handle(self, event: IvrEvent) -> list[IvrAction]:
        if isinstance(event, CallerHungUp):
            return self._hung_up()
        node = self._node
        if self.finished or node is None:
            return []
        match event:
            case PromptDone():
                if event.prompt_id != self.turn.playing:
                    return []
                self.turn.playing = None
                return self._prompt_finished(node)
            case TimerFired():
                return node.on_timeout(self) if event.token == self._timer else []
            case DigitPressed():
                return self._digit(node, event.digit)
            case SpeechHeard():
                return self._speech(node, event.text) if event.text.strip() else []
            case CallerSpeaking():
                return node.on_caller_speaking(self)
            case SpeechUnavailable():
                return self._keypad_only(node)
            case LookupDone() | TicketDone() | RecordingDone() | TransferDone() | AnswerFound():
                return node.on_result(self, event) if event.token == self._op else []
            case _:
                assert_never(event)

    def finish_voicemail(self, event: RecordingDone) -> list[IvrAction]:
        """After a hang-up mid-recording: the ticket for the message still gets created."""
        node = self._node
        if node is None or event.token != self._op:
            return []
        return node.on_recording_after_hangup(self, event)

    # --- for the node rules (model.Run) -------------------------------------------------------

    @property
    def op(self) -> int:
        return self._op

    @property
    def in_subflow(self) -> bool:
        return len(self._stack) > 1

    def now(self) -> datetime:
        return self._now()

    def say(self, prompt: Prompt, barge_in: bool, prefix: Prompt | None = None, language: str = "") -> Play:
        lang = language or self.language
        variant = prompt.variant(lang, self.flow.language)
        text = render(variant.text, self.variables)
        file = variant.file
        if prefix is not None and not prefix.empty:
            text = f"{render(prefix.variant(lang, self.flow.language).text, self.variables)} {text}".strip()
            file = ""  # an apology before a recording: synthesise both
        self._prompt_seq += 1
        self.turn.playing = f"p{self._prompt_seq}"
        return Play(self.turn.playing, text, barge_in, self.flow.voice(lang), file, lang)

    def arm(self, ms: int) -> StartTimer:
        self._timer += 1
        return StartTimer(self._timer, ms)

    def cancel_timer(self) -> None:
        self._timer += 1  # a timer already started fires with a stale token

    def next_op(self) -> int:
        self._op += 1
        return self._op

    def finish(self, reason: str) -> list[IvrAction]:
        self.finished = True
        self.end_reason = reason
        self._timer += 1
        self.turn.wait = ""
        return [Hangup(reason)]

    def goodbye(self, reason: str) -> list[IvrAction]:
        self.end_reason = reason
        self._timer += 1
        self.turn.wait = "ending"
        return [self.say(self.flow.message("goodbye"), False)]

    def enter(self, node_id: str) -> list[IvrAction]:
        actions: list[IvrAction] = []
        for _ in range(_MAX_STEPS):
            target = self._step(node_id, actions)
            if target is None:
                return actions
            node_id = target
        return [*actions, *self.finish("flow_loop")]

    def speak(self, node: Node, actions: list[IvrAction], wait: str) -> bool:
        """Start `node`'s prompt (its end comes as `on_prompt_done`); False when it has none."""
        actions.append(self.listen(node))
        if node.prompt.empty:
            actions.extend(self._prompt_finished(node))
            return False
        actions.append(self.say(node.prompt, node.barge_in, language=node.language))
        self.turn.wait = wait
        return True

    def replay_typeahead(self, actions: list[IvrAction]) -> None:
        pending, self.typeahead = self.typeahead, []
        for digit in pending:
            if self.finished or self._node is None:
                break
            actions.extend(self._digit(self._node, digit))

    def listen(self, node: Node) -> Listen:
        """What the recogniser should expect at `node`, and how long an answer may be (a menu
        phrase or digits end at a short pause, an answer in the caller's words at a longer one)."""
        if self.keypad_only:
            return Listen(None, self.language)
        return node.listen(self)

    def interrupt(self, node: Node) -> list[IvrAction]:
        if self.turn.playing is not None and node.barge_in:
            self.turn.playing = None
            return [StopPlayback()]
        return []

    def global_choice(self, node: Node, digit: str | None = None, text: str | None = None) -> Choice | None:
        if not node.use_global:
            return None
        for choice in self.flow.global_choices:
            if digit is not None and choice.key == digit:
                return choice
            if text is not None and heard(choice.phrases_for(self.language), text, self.language):
                return choice
        return None

    def choose(self, node: Node, choice: Choice) -> list[IvrAction]:
        node.on_choice(self, choice)
        self.variables[f"{node.id}.choice"] = choice.label
        self.variables["choice"] = choice.label
        for name, template in choice.set.items():
            self.variables[name] = render(template, self.variables)
        return self.enter(choice.next)

    def call_flow(self, name: str, return_to: str | None) -> str:
        callee = self.flows.get(name)
        self._stack.append(_Frame(callee, return_to))
        return callee.start

    def return_from_flow(self) -> str | None:
        return self._stack.pop().return_to

    # --- inside ----------------------------------------------------------------------------

    def _step(self, node_id: str, actions: list[IvrAction]) -> str | None:
        """Enter one node; returns the next node to enter at once (silent nodes), or None."""
        node = self.flow.nodes[node_id]
        self._node = node
        self.turn = Turn()
        self._timer += 1  # timers of the previous node are stale now
        self.path.append(node_id if len(self._stack) == 1 else f"{self.flow.name}.{node_id}")
        for name, template in node.set.items():
            self.variables[name] = render(template, self.variables)
        return node.on_enter(self, actions)

    def _prompt_finished(self, node: Node) -> list[IvrAction]:
        if self.turn.wait == "ending":
            return self.finish(self.end_reason or "flow_end")
        return node.on_prompt_done(self)

    def _keypad_only(self, node: Node) -> list[IvrAction]:
        if self.keypad_only:
            return []
        self.keypad_only = True
        self.variables["speech"] = "unavailable"
        return node.on_keypad_only(self)

    def _digit(self, node: Node, digit: str) -> list[IvrAction]:
        wait = self.turn.wait
        if wait in ("lookup", "ticket"):  # kept for the next input node
            self.typeahead.append(digit)
            return []
        if wait in ("transfer", "ending"):
            return []
        if wait == "recording":
            return [StopRecording(self._op)] if digit in "#*" else []
        return node.on_digit(self, digit)

    def _speech(self, node: Node, text: str) -> list[IvrAction]:
        if self.keypad_only or self.turn.wait in ("lookup", "ticket", "transfer", "ending", "recording"):
            return []
        return node.on_speech(self, text)

    def _hung_up(self) -> list[IvrAction]:
        """The caller hung up: finish a voicemail that was being recorded (it is kept)."""
        if self.finished or self._node is None:
            return []
        self.finished = True
        self.end_reason = self.end_reason or "caller_hangup"
        if self.bot and self.bot[-1]["outcome"] is None:
            self.bot[-1]["outcome"] = "hangup"
        if self.turn.wait == "recording":
            return [StopRecording(self._op)]
        return []

    def _settle_bot(self, actions: list[IvrAction]) -> list[IvrAction]:
        """The outcome of the bot's last question once the call shows it (the `answer` node itself
        sets "resolved" and "no_match"): the agent queue, a voicemail (also after a queue nobody
        could answer), back at a menu, or the end of the call."""
        entry = self.bot[-1] if self.bot else None
        if entry is None or entry["outcome"] not in (None, "agent"):
            return actions
        for action in actions:
            if isinstance(action, Transfer) and entry["outcome"] is None:
                entry["outcome"] = "agent"
            elif isinstance(action, StartRecording):
                entry["outcome"] = "voicemail"
            elif isinstance(action, Hangup) and entry["outcome"] is None:
                entry["outcome"] = "hangup"
        node = self._node
        if (entry["outcome"] is None and node is not None and node.type in ASKING_TYPES
                and node.id != entry["node"] and not self.finished):
            entry["outcome"] = "menu"
        return actions
