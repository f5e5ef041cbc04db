"""The IVR as a pure state machine: events in, actions out (see `hotline.ivr.actions`).

No audio, no I/O and no clock of its own: the wall clock is injected (`now`) for business hours,
and lookups, tickets, recordings and transfers are actions whose results come back as events.
A call runs on the `FlowSet` it started with, so a reload never changes a call in progress.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hotline.ivr import expr
from hotline.ivr.actions import (
    CallerHungUp,
    CallerSpeaking,
    CreateTicket,
    DigitPressed,
    Hangup,
    IvrAction,
    IvrEvent,
    Listen,
    Lookup,
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
from hotline.ivr.hours import closed_reason, is_open
from hotline.ivr.intents import IntentMatcher
from hotline.ivr.model import ASKING_TYPES, Choice, Flow, FlowSet, Node, Prompt, render
from hotline.ivr.numbers import DIGIT_WORDS, spoken_digits, yes_no

_WORD = re.compile(r"\w+(?:'\w+)?")
_MAX_STEPS = 200  # silent nodes in a row before the engine gives up (the loader rejects silent loops)
_CONFIRM_YES_NO = {"en": ("yes", "no"), "zh": ("是", "不是", "对", "不对")}


def _words(text: str) -> str:
    return " " + " ".join(_WORD.findall(text.lower())) + " "


def _heard(phrases: tuple[str, ...], text: str, language: str) -> bool:
    if language.startswith("zh"):  # no spaces between Chinese words: substring match
        compact = re.sub(r"\s+", "", text.lower())
        return any(p.replace(" ", "") in compact for p in phrases if p)
    heard = _words(text)
    return any(f" {' '.join(_WORD.findall(p))} " in heard for p in phrases if p)


@dataclass
class _Frame:
    flow: Flow
    return_to: str | None  # node of the calling flow to continue at; None for the main flow


class IvrEngine:
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
        self._stack = [_Frame(main, None)]
        self._node: Node | None = None
        self._wait = ""  # "", prompt, input, confirm, lookup, ticket, recording, transfer, ending
        self._playing: str | None = None
        self._prompt_seq = 0
        self._timer = 0
        self._op = 0
        self._failures = 0
        self._digits = ""
        self._spoken = False  # the digits so far were said, not keyed (a pause cut the number)
        self._pending = ""  # gathered value awaiting confirmation
        self._typeahead: list[str] = []
        self._recording = ""
        self._matchers: dict[tuple[str, str, str], IntentMatcher] = {}

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
        return self._wait

    def start(self) -> list[IvrAction]:
        return self._enter(self.flow.start)

    def handle(self, event: IvrEvent) -> list[IvrAction]:
        if isinstance(event, CallerHungUp):
            return self._hung_up()
        if self.finished or self._node is None:
            return []
        node = self._node
        if isinstance(event, PromptDone):
            if event.prompt_id != self._playing:
                return []
            self._playing = None
            return self._prompt_finished(node)
        if isinstance(event, TimerFired):
            return self._timeout(node) if event.token == self._timer else []
        if isinstance(event, DigitPressed):
            return self._digit(node, event.digit)
        if isinstance(event, SpeechHeard):
            return self._speech(node, event.text) if event.text.strip() else []
        if isinstance(event, CallerSpeaking):
            return self._barge_in(node)
        if isinstance(event, SpeechUnavailable):
            return self._keypad_only(node)
        if event.token != self._op:
            return []
        if isinstance(event, LookupDone) and self._wait == "lookup":
            return self._looked_up(node, event)
        if isinstance(event, TicketDone) and self._wait == "ticket":
            return self._ticketed(node, event)
        if isinstance(event, RecordingDone) and self._wait == "recording":
            return self._recorded(node, event)
        if isinstance(event, TransferDone) and self._wait == "transfer":
            return self._transferred(node, event)
        return []

    # --- prompts and timers ----------------------------------------------------------------

    def _say(self, prompt: Prompt, barge_in: bool, prefix: Prompt | None = None, language: str = "") -> Play:
        lang = language or self.language
        variant = prompt.variant(lang, self.flow.language)
        text = render(variant.text, self.variables)
        file = variant.file
        if prefix is not None and not prefix.empty:
            text = f"{render(prefix.variant(lang, self.flow.language).text, self.variables)} {text}".strip()
            file = ""  # an apology before a recording: synthesise both
        self._prompt_seq += 1
        self._playing = f"p{self._prompt_seq}"
        return Play(self._playing, text, barge_in, self.flow.voice(lang), file, lang)

    def _arm(self, ms: int) -> StartTimer:
        self._timer += 1
        return StartTimer(self._timer, ms)

    def _next_op(self) -> int:
        self._op += 1
        return self._op

    def _finish(self, reason: str) -> list[IvrAction]:
        self.finished = True
        self.end_reason = reason
        self._timer += 1
        self._wait = ""
        return [Hangup(reason)]

    def _goodbye(self, reason: str) -> list[IvrAction]:
        self.end_reason = reason
        self._timer += 1
        self._wait = "ending"
        return [self._say(self.flow.message("goodbye"), False)]

    # --- entering nodes --------------------------------------------------------------------

    def _enter(self, node_id: str) -> list[IvrAction]:
        actions: list[IvrAction] = []
        for _ in range(_MAX_STEPS):
            target = self._step(node_id, actions)
            if target is None:
                return actions
            node_id = target
        return [*actions, *self._finish("flow_loop")]

    def _step(self, node_id: str, actions: list[IvrAction]) -> str | None:
        """Enter one node; returns the next node to enter at once (silent nodes), or None."""
        node = self.flow.nodes[node_id]
        self._node = node
        self._failures = 0
        self._digits = ""
        self._spoken = False
        self._pending = ""
        self._timer += 1  # timers of the previous node are stale now
        self._playing = None
        self._wait = ""
        self.path.append(node_id if len(self._stack) == 1 else f"{self.flow.name}.{node_id}")
        for name, template in node.set.items():
            self.variables[name] = render(template, self.variables)
        kind = node.type
        if kind in ("set", "goto"):
            return node.next
        if kind == "branch":
            for case in node.cases:
                if expr.evaluate(case.condition, self.variables):
                    return case.next
            return node.otherwise
        if kind == "subflow":
            callee = self.flows.get(node.flow)
            self._stack.append(_Frame(callee, node.next))
            return callee.start
        if kind == "return":
            if len(self._stack) == 1:
                actions.extend(self._finish("flow_end"))
                return None
            frame = self._stack.pop()
            return frame.return_to
        if kind == "hours":
            schedule = self.flow.schedules[node.schedule]
            now = self._now()
            opened = is_open(schedule, now)
            self.variables["hours.open"] = "yes" if opened else "no"
            self.variables["hours.reason"] = "" if opened else closed_reason(schedule, now)
            return node.open if opened else node.closed
        if kind == "lookup":
            params = {k: render(v, self.variables) for k, v in node.params.items()}
            self._wait = "lookup"
            actions.append(Lookup(self._next_op(), node.source, node.operation, params))
            return None
        if kind == "ticket":
            self._wait = "ticket"
            actions.append(CreateTicket(self._next_op(), self._ticket_fields(node)))
            return None
        # nodes that speak first
        actions.append(self._listen(node))
        if not node.prompt.empty:
            actions.append(self._say(node.prompt, node.barge_in, language=node.language))
            self._wait = "prompt" if kind not in ASKING_TYPES else "input"
        else:
            more = self._prompt_finished(node)
            actions.extend(more)
            return None
        if kind in ASKING_TYPES and self._typeahead:
            pending, self._typeahead = self._typeahead, []
            for digit in pending:  # keys pressed ahead go to whichever node is current by then
                if self.finished or self._node is None:
                    break
                actions.extend(self._digit(self._node, digit))
        return None

    def _listen(self, node: Node) -> Listen:
        """What the recogniser should expect at `node`, and how long an answer may be (a menu
        phrase or digits end at a short pause, an answer in the caller's words at a longer one)."""
        lang = self.language
        if self.keypad_only:
            return Listen(None, lang)
        if node.type == "menu":
            phrases: list[str] = []
            if node.grammar:
                phrases = [p for c in node.choices for p in c.phrases_for(lang)]
                if node.use_global:
                    phrases += [p for c in self.flow.global_choices for p in c.phrases_for(lang)]
            return Listen(tuple(dict.fromkeys(phrases)) or None, lang, answer="short")
        if node.type == "gather" and node.speech:
            return Listen(DIGIT_WORDS.get(lang), lang, answer="short")
        if node.type == "ask":  # open answers: the examples only bias Whisper
            examples = tuple(dict.fromkeys(p for c in node.choices for p in c.phrases_for(lang)))
            return Listen(examples or None, lang, strict=False, answer="open")
        return Listen(None, lang)

    def _ticket_fields(self, node: Node) -> dict[str, str]:
        fields = {k: render(v, self.variables) for k, v in node.ticket.items()}
        fields.setdefault("language", self.language)
        return fields

    # --- what happens when a prompt ends -----------------------------------------------------

    def _prompt_finished(self, node: Node) -> list[IvrAction]:
        if self._wait == "ending":
            return self._finish(self.end_reason or "flow_end")
        kind = node.type
        if kind == "say":
            assert node.next is not None
            return self._enter(node.next)
        if kind == "hangup":
            return self._finish("flow_end")
        if kind == "transfer":
            self._wait = "transfer"
            context = {k: v for k, v in self.variables.items() if not k.startswith("_")}
            return [Transfer(self._next_op(), node.queue, node.skill, node.priority, node.uri, context)]
        if kind == "voicemail":
            self._wait = "recording"
            return [StartRecording(self._next_op(), node.max_ms)]
        if kind == "gather" and self._digits:
            return [self._arm(node.inter_digit_ms)]
        self._wait = "confirm" if self._pending else "input"
        return [self._arm(node.timeout_ms)]

    def _interrupt(self, node: Node) -> list[IvrAction]:
        if self._playing is not None and node.barge_in:
            self._playing = None
            return [StopPlayback()]
        return []

    def _barge_in(self, node: Node) -> list[IvrAction]:
        if node.type not in ASKING_TYPES:
            return []
        actions = self._interrupt(node)
        if actions:  # if the speech turns out to be nothing (a cough), the no-input timer takes over
            actions.append(self._arm(node.timeout_ms))
        return actions

    def _keypad_only(self, node: Node) -> list[IvrAction]:
        if self.keypad_only:
            return []
        self.keypad_only = True
        self.variables["speech"] = "unavailable"
        if node.type not in ASKING_TYPES:
            return []
        self._timer += 1  # tell the caller once and ask again; not a failed attempt
        return [*self._interrupt(node), Listen(None, self.language),
                self._say(node.prompt, node.barge_in, prefix=self.flow.message("speech_unavailable"))]

    # --- keys ------------------------------------------------------------------------------

    def _global(self, node: Node, digit: str | None = None, text: str | None = None) -> Choice | None:
        if not node.use_global:
            return None
        for choice in self.flow.global_choices:
            if digit is not None and choice.key == digit:
                return choice
            if text is not None and _heard(choice.phrases_for(self.language), text, self.language):
                return choice
        return None

    def _digit(self, node: Node, digit: str) -> list[IvrAction]:
        if self._wait in ("lookup", "ticket"):  # kept for the next input node
            self._typeahead.append(digit)
            return []
        if self._wait in ("transfer", "ending"):
            return []
        if self._wait == "recording":
            if digit in "#*":
                return [StopRecording(self._op)]
            return []
        if node.type in ("say", "hangup", "voicemail"):
            self._typeahead.append(digit)
            return []
        if self._pending:
            if digit == "1":
                return [*self._interrupt(node), *self._confirmed(node, True)]
            if digit == "2":
                return [*self._interrupt(node), *self._confirmed(node, False)]
            return []
        if node.type in ("menu", "ask"):
            for choice in node.choices:
                if choice.key == digit:
                    return [*self._interrupt(node), *self._choose(node, choice)]
            glob = self._global(node, digit=digit)
            if glob is not None:
                return [*self._interrupt(node), *self._choose(node, glob)]
            return [*self._interrupt(node), *self._retry(node, "no_match")]
        if node.type == "gather":
            actions = self._interrupt(node)
            if node.terminator and digit == node.terminator:
                if len(self._digits) >= node.min_digits:
                    return [*actions, *self._gathered(node, self._digits)]
                return [*actions, *self._retry(node, "no_match")]
            if not digit.isdigit():
                glob = self._global(node, digit=digit)
                return [*actions, *(self._choose(node, glob) if glob else self._retry(node, "no_match"))]
            self._digits += digit
            if len(self._digits) >= node.max_digits:
                return [*actions, *self._gathered(node, self._digits)]
            if self._playing is None:
                actions.append(self._arm(node.inter_digit_ms))
            return actions
        return []

    # --- speech ----------------------------------------------------------------------------

    def _speech(self, node: Node, text: str) -> list[IvrAction]:
        if self.keypad_only or self._wait in ("lookup", "ticket", "transfer", "ending", "recording"):
            return []
        lang = self.language
        glob = self._global(node, text=text)
        if node.type == "say":
            if glob is not None:  # "agent" during an announcement
                return [*([StopPlayback()] if self._playing else []), *self._choose(node, glob)]
            return []
        if self._pending:
            answer = yes_no(text, lang)
            if answer is None:
                return []
            return [*self._interrupt(node), *self._confirmed(node, answer)]
        if node.type == "menu":
            for choice in node.choices:
                if _heard(choice.phrases_for(lang), text, lang):
                    return [*self._interrupt(node), *self._choose(node, choice)]
        if glob is not None and node.type in ASKING_TYPES:
            return [*self._interrupt(node), *self._choose(node, glob)]
        if node.type == "menu":
            return [*self._interrupt(node), *self._retry(node, "no_match")]
        if node.type == "ask":
            match = self._matcher(node, lang).match(text)
            self.variables[f"{node.id}.score"] = f"{match.score:.2f}"
            for choice in node.choices:
                if choice.label == match.intent:
                    return [*self._interrupt(node), *self._choose(node, choice)]
            return [*self._interrupt(node), *self._retry(node, "no_match")]
        if node.type == "gather" and node.speech:
            heard = spoken_digits(text, lang)
            digits = self._digits + heard if self._spoken else heard
            if node.min_digits <= len(digits) <= node.max_digits:
                return [*self._interrupt(node), *self._gathered(node, digits, spoken=True)]
            if 0 < len(digits) < node.min_digits:
                # a pause between groups of digits ended the utterance (short answers end at short
                # pauses): keep them and wait for the rest, as for keys
                self._digits, self._spoken = digits, True
                return [*self._interrupt(node), self._arm(node.inter_digit_ms)]
            return [*self._interrupt(node), *self._retry(node, "no_match")]
        return []

    def _matcher(self, node: Node, lang: str) -> IntentMatcher:
        key = (self.flow.name, node.id, lang)
        if key not in self._matchers:
            intents = {c.label: list(c.phrases_for(lang)) for c in node.choices if c.phrases_for(lang)}
            self._matchers[key] = IntentMatcher(intents, lang, node.threshold)
        return self._matchers[key]

    # --- outcomes --------------------------------------------------------------------------

    def _choose(self, node: Node, choice: Choice) -> list[IvrAction]:
        if node.type == "ask" and choice in node.choices:
            self.variables[node.var] = choice.label
        self.variables[f"{node.id}.choice"] = choice.label
        self.variables["choice"] = choice.label
        for name, template in choice.set.items():
            self.variables[name] = render(template, self.variables)
        return self._enter(choice.next)

    def _gathered(self, node: Node, value: str, spoken: bool = False) -> list[IvrAction]:
        if node.pattern and not re.search(node.pattern, value):
            return self._retry(node, "no_match")
        if spoken and not node.confirm.empty:  # keyed digits are exact; spoken ones are read back
            self._pending = value
            self._digits = ""
            self._timer += 1
            self.variables[node.var] = value  # so the confirmation prompt can read it back
            self._wait = "prompt"
            return [Listen(_CONFIRM_YES_NO.get(self.language), self.language, answer="short"),
                    self._say(node.confirm, True)]
        self.variables[node.var] = value
        assert node.next is not None
        return self._enter(node.next)

    def _confirmed(self, node: Node, yes: bool) -> list[IvrAction]:
        value, self._pending = self._pending, ""
        if yes:
            self.variables[node.var] = value
            assert node.next is not None
            return self._enter(node.next)
        self.variables.pop(node.var, None)
        return [self._listen(node), *self._retry(node, "confirm_retry")]

    def _timeout(self, node: Node) -> list[IvrAction]:
        if self._wait == "confirm":
            return self._retry(node, "no_input")
        if node.type == "gather" and len(self._digits) >= node.min_digits:
            return self._gathered(node, self._digits)
        return self._retry(node, "no_match" if self._spoken else "no_input")

    def _retry(self, node: Node, kind: str) -> list[IvrAction]:
        self._failures += 1
        self._digits = ""
        self._spoken = False
        self._pending = ""
        self._timer += 1
        self.variables[f"{node.id}.failures"] = str(self._failures)
        if self._failures > node.retries:
            if node.on_failure:
                return self._enter(node.on_failure)
            return self._goodbye("no_input" if kind == "no_input" else "no_match")
        apology = getattr(node, kind, None) if kind in ("no_input", "no_match") else None
        if apology is None or apology.empty:
            apology = self.flow.message(kind)
        self._wait = "input"
        return [self._say(node.prompt, node.barge_in, prefix=apology)]

    def _looked_up(self, node: Node, event: LookupDone) -> list[IvrAction]:
        self._wait = ""
        prefix = node.result
        for key in [k for k in self.variables if k.startswith(f"{prefix}.")]:
            del self.variables[key]
        if event.data is None:
            self.variables[f"{prefix}.error"] = event.error or "failed"
            assert node.on_error is not None
            return self._enter(node.on_error)
        for key, value in _flatten(event.data).items():
            self.variables[f"{prefix}.{key}"] = value
        assert node.next is not None
        return self._enter(node.next)

    def _ticketed(self, node: Node, event: TicketDone) -> list[IvrAction]:
        self._wait = ""
        if not event.ref:
            self.variables[f"{node.result}.error"] = event.error or "failed"
            assert node.on_error is not None
            return self._enter(node.on_error)
        self.variables[f"{node.result}.ref"] = event.ref
        assert node.next is not None
        return self._enter(node.next)

    def _recorded(self, node: Node, event: RecordingDone) -> list[IvrAction]:
        self._recording = event.path
        self.variables["voicemail.seconds"] = str(round(event.duration_ms / 1000))
        fields = self._ticket_fields(node)
        fields["recording"] = event.path
        self._wait = "ticket"
        return [CreateTicket(self._next_op(), fields)]

    def _transferred(self, node: Node, event: TransferDone) -> list[IvrAction]:
        self._wait = ""
        if event.ok:
            return self._finish("transferred")
        self.variables["transfer.reason"] = event.reason or "unavailable"
        assert node.on_unavailable is not None
        return self._enter(node.on_unavailable)

    def _hung_up(self) -> list[IvrAction]:
        """The caller hung up: finish a voicemail that was being recorded (it is kept)."""
        node = self._node
        if self.finished or node is None:
            return []
        self.finished = True
        self.end_reason = self.end_reason or "caller_hangup"
        if self._wait == "recording":
            return [StopRecording(self._op)]
        return []

    def finish_voicemail(self, event: RecordingDone) -> list[IvrAction]:
        """After a hang-up mid-recording: the ticket for the message still gets created."""
        node = self._node
        if node is None or node.type != "voicemail" or event.token != self._op:
            return []
        fields = self._ticket_fields(node)
        fields["recording"] = event.path
        return [CreateTicket(self._next_op(), fields)]


def _flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """{"a": {"b": 1}, "c": [x, y]} -> {"a.b": "1", "c.1": "x", "c.2": "y"}; booleans as yes/no."""
    if isinstance(data, dict):
        out: dict[str, str] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, list):
        out = {}
        for i, value in enumerate(data):
            out.update(_flatten(value, f"{prefix}.{i + 1}" if prefix else str(i + 1)))
        return out
    if isinstance(data, bool):
        return {prefix: "yes" if data else "no"}
    return {prefix: "" if data is None else str(data)}
