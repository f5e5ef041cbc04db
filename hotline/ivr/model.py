"""The flow model: what a YAML flow file becomes once it has been loaded and validated.

Everything here is immutable, so a call can keep the version of a flow it started with while
admins edit and reload the files. The loader (`hotline.ivr.loader`) builds these objects; the
engine (`hotline.ivr.engine`) runs them. The language is documented in docs/flows.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from hotline.ivr.actions import IvrAction, Listen, Play, RecordingDone, ServiceResult, StartTimer
from hotline.ivr.hours import Schedule
from hotline.ivr.intents import IntentMatcher
from hotline.system.errors import HotlineError

# the node types (hotline.ivr.nodes has one class per type; a unit test keeps these in step)
ASKING_TYPES = ("menu", "gather", "ask", "answer")  # nodes that ask a question and listen for the answer
INPUT_TYPES = (*ASKING_TYPES, "voicemail")  # nodes that wait for the caller
NODE_TYPES = ("say", "menu", "gather", "ask", "answer", "set", "branch", "goto", "subflow", "return", "lookup", "hours",
              "transfer", "voicemail", "ticket", "hangup")


class FlowError(HotlineError):
    """One problem in a flow file, with its location."""

    def __init__(self, file: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{file}:{line}:{column}: {message}")
        self.file, self.line, self.column, self.message = file, line, column, message

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}


class FlowErrors(HotlineError):
    """Every problem found in one load; `errors` is never empty."""

    def __init__(self, errors: list[FlowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class PromptVariant:
    text: str = ""
    file: str = ""  # a recorded prompt (absolute path once loaded); used instead of TTS


@dataclass(frozen=True)
class Prompt:
    variants: Mapping[str, PromptVariant]  # language -> variant

    def variant(self, language: str, fallback: str) -> PromptVariant:
        return self.variants.get(language) or self.variants.get(fallback) or next(iter(self.variants.values()))

    @property
    def empty(self) -> bool:
        return not self.variants


NO_PROMPT = Prompt({})


@dataclass(frozen=True)
class Choice:
    """A menu option, an intent of an `ask` node, or a global handler."""

    next: str
    key: str | None = None
    phrases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # language -> phrases
    label: str = ""
    set: Mapping[str, str] = field(default_factory=dict)

    def phrases_for(self, language: str) -> tuple[str, ...]:
        return self.phrases.get(language, ())


@dataclass(frozen=True)
class Case:
    condition: str  # an expression (hotline.ivr.expr)
    next: str


@dataclass
class Turn:
    """The engine's state at the node the caller is at; a fresh one on entering each node."""

    wait: str = ""  # "", prompt, input, confirm, lookup, ticket, recording, transfer, ending
    playing: str | None = None  # the prompt playing now
    failures: int = 0
    digits: str = ""
    spoken: bool = False  # the digits so far were said, not keyed (a pause cut the number)
    pending: str = ""  # gathered value awaiting confirmation


class Run(Protocol):
    """What a node's rules may use of the call in progress (`hotline.ivr.engine.IvrEngine`)."""

    variables: dict[str, str]
    keypad_only: bool
    turn: Turn
    typeahead: list[str]  # keys pressed before an input node was reached
    recording: str
    matchers: dict[tuple[str, str, str], IntentMatcher]
    bot: list[dict[str, Any]]  # the voice bot's questions so far (`answer` nodes; see CallRecord.bot)

    @property
    def flow(self) -> Flow: ...
    @property
    def language(self) -> str: ...
    @property
    def op(self) -> int: ...  # the token of the asynchronous action in progress
    @property
    def in_subflow(self) -> bool: ...
    def now(self) -> datetime: ...
    def say(self, prompt: Prompt, barge_in: bool, prefix: Prompt | None = None, language: str = "") -> Play: ...
    def arm(self, ms: int) -> StartTimer: ...
    def cancel_timer(self) -> None: ...
    def next_op(self) -> int: ...
    def finish(self, reason: str) -> list[IvrAction]: ...
    def goodbye(self, reason: str) -> list[IvrAction]: ...
    def enter(self, node_id: str) -> list[IvrAction]: ...
    def speak(self, node: Node, actions: list[IvrAction], wait: str) -> bool: ...
    def replay_typeahead(self, actions: list[IvrAction]) -> None: ...
    def listen(self, node: Node) -> Listen: ...
    def interrupt(self, node: Node) -> list[IvrAction]: ...
    def global_choice(self, node: Node, digit: str | None = None, text: str | None = None) -> Choice | None: ...
    def choose(self, node: Node, choice: Choice) -> list[IvrAction]: ...
    def call_flow(self, name: str, return_to: str | None) -> str: ...
    def return_from_flow(self) -> str | None: ...


@dataclass(frozen=True, kw_only=True)
class Node:
    """What every node has. Each node type is a subclass in `hotline.ivr.nodes` (one module per
    type) holding its own fields, how it is read from YAML (its `NodeSpec`) and how it runs (the
    `on_*` rules the engine calls, with the call in progress as `run`)."""

    type: ClassVar[str] = ""
    waits: ClassVar[bool] = False  # waits for the caller (a loop through it is not a silent loop)
    phrases_are_hints: ClassVar[bool] = False  # its choices' phrases are vocabulary for the recogniser
    id: str
    line: int = 0
    column: int = 1
    prompt: Prompt = NO_PROMPT
    next: str | None = None
    set: Mapping[str, str] = field(default_factory=dict)
    barge_in: bool = True
    language: str = ""  # speak this node's prompt in this language whatever the caller chose
    use_global: bool = True  # global handlers ("0", "agent") apply in this node
    # card numbers and the like: while the caller is here the recording is silence, keys and
    # speech are not stored, and what the node collects is kept out of the call record
    sensitive: bool = False

    # Fields of some node types, read by code that handles every node alike (diagrams, the
    # prompt cache, the call record); the node types that have them override these.
    @property
    def choices(self) -> tuple[Choice, ...]:  # menu options / ask intents
        return ()

    @property
    def cases(self) -> tuple[Case, ...]:
        return ()

    @property
    def var(self) -> str:
        return ""

    @property
    def confirm(self) -> Prompt:
        return NO_PROMPT

    @property
    def flow(self) -> str:
        return ""

    @property
    def source(self) -> str:
        return ""

    @property
    def operation(self) -> str:
        return ""

    @property
    def schedule(self) -> str:
        return ""

    @property
    def queue(self) -> str:
        return ""

    @property
    def uri(self) -> str:
        return ""

    def exits(self) -> tuple[tuple[str, str | None], ...]:
        """(label, target) of the named edges leaving this node (None: not set)."""
        return (("next", self.next),)

    def targets(self) -> list[tuple[str, str]]:
        """(label, target) of every edge leaving this node."""
        out = [(label, target) for label, target in self.exits() if target]
        out += [(choice.label or choice.key or "", choice.next) for choice in self.choices]
        out += [(case.condition, case.next) for case in self.cases]
        return out

    def summary(self, language: str) -> str:
        """What the node does, in a few words (a diagram's second line): its prompt by default."""
        if self.prompt.empty:
            return ""
        return self.prompt.variant(language, language).text or "(recording)"

    def flow_problems(self, flow: Flow, flows: Mapping[str, Flow]) -> list[FlowError]:
        """Problems between this node of `flow` and the other flows of its directory."""
        return []

    # --- run rules ---------------------------------------------------------------------------

    def on_enter(self, run: Run, actions: list[IvrAction]) -> str | None:
        """The caller arrives: add actions; return the node to enter at once (silent nodes), or None."""
        run.speak(self, actions, "prompt")
        return None

    def listen(self, run: Run) -> Listen:
        return Listen(None, run.language)

    def on_prompt_done(self, run: Run) -> list[IvrAction]:
        return []

    def on_digit(self, run: Run, digit: str) -> list[IvrAction]:
        return []

    def on_speech(self, run: Run, text: str) -> list[IvrAction]:
        return []

    def on_timeout(self, run: Run) -> list[IvrAction]:
        return []

    def on_caller_speaking(self, run: Run) -> list[IvrAction]:
        return []

    def on_keypad_only(self, run: Run) -> list[IvrAction]:
        """Speech recognition was refused (the keypad still works)."""
        return []

    def on_result(self, run: Run, event: ServiceResult) -> list[IvrAction]:
        """A lookup, ticket, recording or transfer this node started is done."""
        return []

    def on_choice(self, run: Run, choice: Choice) -> None:
        """`choice` (an option, an intent or a global handler) was taken here."""

    def on_recording_after_hangup(self, run: Run, event: RecordingDone) -> list[IvrAction]:
        return []


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    nodes: Mapping[str, Node]
    languages: tuple[str, ...] = ("en",)
    voices: Mapping[str, str] = field(default_factory=lambda: {"en": "en-us"})
    file: str = ""
    messages: Mapping[str, Prompt] = field(default_factory=dict)  # goodbye, speech_unavailable, ...
    global_choices: tuple[Choice, ...] = ()
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    source_text: str = ""  # the YAML this version was loaded from (kept for history and rollback)

    @property
    def language(self) -> str:
        return self.languages[0]

    def voice(self, language: str) -> str:
        return self.voices.get(language) or self.voices.get(self.language, "en-us")

    def message(self, name: str) -> Prompt:
        return self.messages.get(name, NO_PROMPT)

    def vocabulary(self, language: str | None = None) -> tuple[str, ...]:
        """Every menu phrase of this flow in `language` (default: the first), in flow order: hints for the
        recogniser (the example sentences of `ask` intents are not hints, just examples)."""
        lang = language or self.language
        words = [p for node in self.nodes.values() if node.phrases_are_hints for c in node.choices
                 for p in c.phrases_for(lang)]
        words += [p for c in self.global_choices for p in c.phrases_for(lang)]
        return tuple(dict.fromkeys(words))


@dataclass(frozen=True)
class FlowSet:
    """All flows of a directory at one version: a call keeps the set it started with."""

    flows: Mapping[str, Flow]
    version: int = 0

    def get(self, name: str) -> Flow:
        return self.flows[name]


_VAR = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_.]*)(?::([a-z]+))?\}")


def render(template: str, variables: Mapping[str, str]) -> str:
    """Fill `{name}`, `{name:digits}` (spoken digit by digit) and `{name:upper}` from `variables`."""

    def sub(m: re.Match[str]) -> str:
        value = str(variables.get(m.group(1), ""))
        if m.group(2) == "digits":
            return " ".join(value)
        if m.group(2) == "upper":
            return value.upper()
        return value

    return _VAR.sub(sub, template)


UNKNOWN = "\x00"  # what `sample_digits` puts for a variable that is not read digit by digit


def sample_digits(template: str) -> str:
    """`template` with every `{name:digits}` read as "1 2 3" and every other variable as `UNKNOWN`:
    what can be rendered ahead of a call (the words around a number and the digits) is what
    has no `UNKNOWN` in it."""
    return _VAR.sub(lambda m: "1 2 3" if m.group(2) == "digits" else UNKNOWN, template)


def template_vars(template: str) -> list[str]:
    return [m.group(1) for m in _VAR.finditer(template)]
