"""The IVR as a pure state machine: caller events in, actions out. No audio, no I/O, no clock.

The session turns actions into prompt playback, timers and hang-ups, and feeds back what happens.
Timers carry a token; a timeout whose token is stale (the state moved on) is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hotline.ivr.flow import Flow, Node, render

# --- events in -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptDone:
    prompt_id: str
    interrupted: bool = False


@dataclass(frozen=True)
class DigitPressed:
    digit: str


@dataclass(frozen=True)
class SpeechHeard:
    text: str


@dataclass(frozen=True)
class SpeechUnavailable:
    """Live recognition refused the caller's speech (overload): the IVR falls back to the keypad."""


@dataclass(frozen=True)
class CallerSpeaking:
    """The VAD opened a segment: the caller has started to speak (for barge-in)."""


@dataclass(frozen=True)
class TimerFired:
    token: int


IvrEvent = PromptDone | DigitPressed | SpeechHeard | CallerSpeaking | SpeechUnavailable | TimerFired

# --- actions out ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Play:
    prompt_id: str
    text: str
    barge_in: bool = True


@dataclass(frozen=True)
class StopPlayback:
    pass


@dataclass(frozen=True)
class StartTimer:
    token: int
    ms: int


@dataclass(frozen=True)
class Hangup:
    reason: str


@dataclass(frozen=True)
class Listen:
    """Recognise only these phrases (grammar mode) from now on; None: open vocabulary."""

    phrases: tuple[str, ...] | None


IvrAction = Play | StopPlayback | StartTimer | Hangup | Listen

_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> str:
    return " " + " ".join(_WORD.findall(text.lower())) + " "


@dataclass
class IvrEngine:
    flow: Flow
    variables: dict[str, str] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    finished: bool = False
    keypad_only: bool = False  # speech recognition was refused: menus take keys only

    def __post_init__(self) -> None:
        self._node: Node | None = None
        self._playing: str | None = None
        self._prompt_seq = 0
        self._timer = 0
        self._failures = 0
        self._digits = ""
        self._typeahead: list[str] = []

    @property
    def node(self) -> Node | None:
        return self._node

    def start(self) -> list[IvrAction]:
        return self._enter(self.flow.start)

    def handle(self, event: IvrEvent) -> list[IvrAction]:
        if self.finished or self._node is None:
            return []
        node = self._node
        if isinstance(event, PromptDone):
            if event.prompt_id != self._playing:
                return []
            self._playing = None
            return self._prompt_finished(node)
        if isinstance(event, TimerFired):
            if event.token != self._timer:
                return []
            return self._timeout(node)
        if isinstance(event, DigitPressed):
            return self._digit(node, event.digit)
        if isinstance(event, SpeechHeard):
            return self._speech(node, event.text)
        if isinstance(event, CallerSpeaking):
            return self._barge_in(node)
        if isinstance(event, SpeechUnavailable):
            return self._keypad_only(node)
        return []

    # --- transitions ---------------------------------------------------------------------

    def _enter(self, node_id: str) -> list[IvrAction]:
        node = self.flow.nodes[node_id]
        self._node = node
        self._failures = 0
        self._digits = ""
        self._timer += 1  # invalidate timers of the previous node
        self.path.append(node_id)
        phrases = tuple(p for o in node.options for p in o.phrases) if node.type == "menu" and node.grammar else ()
        actions: list[IvrAction] = [Listen(phrases or None)]
        if node.prompt:
            actions.append(self._play(render(node.prompt, self.variables), node.barge_in))
        elif node.type == "hangup":
            return [*actions, *self._finish("flow_end")]
        if node.type in ("menu", "gather") and self._typeahead:
            pending, self._typeahead = self._typeahead, []
            for digit in pending:
                if self._node is not node:
                    self._typeahead.append(digit)
                    continue
                actions.extend(self._digit(node, digit))
        return actions

    def _play(self, text: str, barge_in: bool) -> Play:
        self._prompt_seq += 1
        self._playing = f"p{self._prompt_seq}"
        return Play(self._playing, text, barge_in)

    def _arm(self, ms: int) -> StartTimer:
        self._timer += 1
        return StartTimer(self._timer, ms)

    def _finish(self, reason: str) -> list[IvrAction]:
        self.finished = True
        self._timer += 1
        return [Hangup(reason)]

    def _prompt_finished(self, node: Node) -> list[IvrAction]:
        if node.type == "say":
            assert node.next is not None
            return self._enter(node.next)
        if node.type == "hangup":
            return self._finish("flow_end")
        if node.type == "gather" and self._digits:
            return [self._arm(node.inter_digit_ms)]
        return [self._arm(node.timeout_ms)]

    def _interrupt(self, node: Node) -> list[IvrAction]:
        if self._playing is not None and node.barge_in:
            self._playing = None
            return [StopPlayback()]
        return []

    def _keypad_only(self, node: Node) -> list[IvrAction]:
        if self.keypad_only:
            return []
        self.keypad_only = True
        self.variables["speech"] = "unavailable"
        if node.type not in ("menu", "gather"):
            return []
        # tell the caller once and ask again; this does not count as a failed attempt
        self._timer += 1
        return [*self._interrupt(node), Listen(None),
                self._play(f"{self.flow.speech_unavailable} {render(node.prompt, self.variables)}", node.barge_in)]

    def _barge_in(self, node: Node) -> list[IvrAction]:
        if node.type not in ("menu", "gather"):
            return []
        actions = self._interrupt(node)
        if actions:
            # if the speech turns out to be nothing (a cough), the no-input timer takes over
            actions.append(self._arm(node.timeout_ms))
        return actions

    def _digit(self, node: Node, digit: str) -> list[IvrAction]:
        if node.type == "say":
            self._typeahead.append(digit)
            return []
        if node.type == "menu":
            for option in node.options:
                if option.key == digit:
                    return [*self._interrupt(node), *self._choose(node, option.label, option.next)]
            return [*self._interrupt(node), *self._retry(node, node.no_match_prompt)]
        if node.type == "gather":
            actions = self._interrupt(node)
            if digit == node.terminator:
                if len(self._digits) >= node.min_digits:
                    return [*actions, *self._gathered(node)]
                return [*actions, *self._retry(node, node.no_match_prompt)]
            self._digits += digit
            if len(self._digits) >= node.max_digits:
                return [*actions, *self._gathered(node)]
            if self._playing is None:
                actions.append(self._arm(node.inter_digit_ms))
            return actions
        return []

    def _speech(self, node: Node, text: str) -> list[IvrAction]:
        if node.type != "menu" or not text.strip() or self.keypad_only:
            return []
        heard = _words(text)
        for option in node.options:
            if any(f" {phrase} " in heard for phrase in option.phrases):
                return [*self._interrupt(node), *self._choose(node, option.label, option.next)]
        return [*self._interrupt(node), *self._retry(node, node.no_match_prompt)]

    def _choose(self, node: Node, label: str, target: str) -> list[IvrAction]:
        self.variables[f"{node.id}.choice"] = label
        self.variables["choice"] = label
        return self._enter(target)

    def _gathered(self, node: Node) -> list[IvrAction]:
        self.variables[node.var] = self._digits
        assert node.next is not None
        return self._enter(node.next)

    def _timeout(self, node: Node) -> list[IvrAction]:
        if node.type == "gather" and len(self._digits) >= node.min_digits:
            return self._gathered(node)
        return self._retry(node, node.no_input_prompt)

    def _retry(self, node: Node, apology: str) -> list[IvrAction]:
        self._failures += 1
        self._digits = ""
        self._timer += 1
        if self._failures > node.retries:
            if node.on_failure:
                return self._enter(node.on_failure)
            return [self._play(self.flow.goodbye, False), *self._end_after_prompt()]
        return [self._play(f"{apology} {render(node.prompt, self.variables)}", node.barge_in)]

    def _end_after_prompt(self) -> list[IvrAction]:
        # play the goodbye, then hang up when it is done
        self._node = Node(id="_goodbye", type="hangup", prompt=self.flow.goodbye)
        return []
