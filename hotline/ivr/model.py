"""The flow model: what a YAML flow file becomes once it has been loaded and validated.

Everything here is immutable, so a call can keep the version of a flow it started with while
admins edit and reload the files. The loader (`hotline.ivr.loader`) builds these objects; the
engine (`hotline.ivr.engine`) runs them. The language is documented in docs/flows.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hotline.ivr.hours import Schedule
from hotline.system.errors import HotlineError

ASKING_TYPES = ("menu", "gather", "ask")  # nodes that ask a question and listen for the answer
INPUT_TYPES = (*ASKING_TYPES, "voicemail")
NODE_TYPES = ("say", "menu", "gather", "ask", "set", "branch", "goto", "subflow", "return", "lookup", "hours",
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


@dataclass(frozen=True)
class Node:
    id: str
    type: str
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
    # input nodes
    timeout_ms: int = 6000
    retries: int = 2
    no_match: Prompt = NO_PROMPT
    no_input: Prompt = NO_PROMPT
    on_failure: str | None = None
    choices: tuple[Choice, ...] = ()  # menu options / ask intents
    grammar: bool = True  # a menu recognises only its phrases (Vosk grammar mode)
    var: str = ""
    # gather
    min_digits: int = 1
    max_digits: int = 20
    terminator: str = "#"
    inter_digit_ms: int = 4000
    pattern: str = ""
    speech: bool = True  # a gather also takes spoken digits
    confirm: Prompt = NO_PROMPT
    # ask
    threshold: float = 0.5
    # branch
    cases: tuple[Case, ...] = ()
    otherwise: str | None = None
    # subflow
    flow: str = ""
    # lookup
    source: str = ""
    operation: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    result: str = ""
    on_error: str | None = None
    # hours
    schedule: str = ""
    open: str | None = None
    closed: str | None = None
    # transfer
    queue: str = ""
    skill: str = ""
    priority: int = 0
    uri: str = ""
    on_unavailable: str | None = None
    # voicemail / ticket
    max_ms: int = 60000
    ticket: Mapping[str, str] = field(default_factory=dict)

    def targets(self) -> list[tuple[str, str]]:
        """(label, target) of every edge leaving this node."""
        out: list[tuple[str, str]] = []
        for label, target in (("next", self.next), ("failure", self.on_failure), ("error", self.on_error),
                              ("else", self.otherwise), ("open", self.open), ("closed", self.closed),
                              ("unavailable", self.on_unavailable)):
            if target:
                out.append((label, target))
        for choice in self.choices:
            out.append((choice.label or choice.key or "", choice.next))
        for case in self.cases:
            out.append((case.condition, case.next))
        return out


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
        words = [p for node in self.nodes.values() if node.type == "menu" for c in node.choices
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
