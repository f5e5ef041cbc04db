"""What goes in and out of the IVR engine: caller and service events in, actions out.

The engine never does I/O. The call session (or the simulator, or the flow test runner) performs
each action and feeds back the matching event. Every asynchronous action carries a `token`; a
result whose token is stale (the call moved on) is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

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


@dataclass(frozen=True)
class LookupDone:
    token: int
    data: Mapping[str, Any] | None = None
    error: str = ""  # reason when the lookup failed


@dataclass(frozen=True)
class TicketDone:
    token: int
    ref: str = ""
    error: str = ""


@dataclass(frozen=True)
class RecordingDone:
    token: int
    path: str = ""
    duration_ms: int = 0


@dataclass(frozen=True)
class TransferDone:
    token: int
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class AnswerFound:
    """The knowledge base's answer to a caller's question (`FindAnswer`); `article` is "" when
    nothing fits, or when no answer came (`error` says why: "timeout", "unavailable"...)."""

    token: int
    article: str = ""
    title: str = ""
    answer: str = ""  # the article's spoken answer in the question's language
    score: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class CallerHungUp:
    """The caller went away: a voicemail in progress is still kept and ticketed."""


ServiceResult: TypeAlias = LookupDone | TicketDone | RecordingDone | TransferDone | AnswerFound  # what an action's token comes back on
IvrEvent: TypeAlias = (PromptDone | DigitPressed | SpeechHeard | CallerSpeaking | SpeechUnavailable | TimerFired
                       | LookupDone | TicketDone | RecordingDone | TransferDone | AnswerFound | CallerHungUp)

# --- actions out ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Play:
    prompt_id: str
    text: str
    barge_in: bool = True
    voice: str = "en-us"
    file: str = ""  # a recorded prompt to play instead of synthesising `text`
    language: str = "en"


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
    """Recognise only these phrases (grammar mode) from now on; None: open vocabulary.

    `answer` is what the caller is expected to say, for endpointing: "short" (a menu phrase,
    digits, yes or no: the utterance may end at a short pause), "open" (an answer in the caller's
    own words: a longer pause), "" (nothing in particular)."""

    phrases: tuple[str, ...] | None
    language: str = "en"
    strict: bool = True  # False: the phrases are only hints (a recogniser with a grammar ignores them)
    answer: Literal["", "short", "open"] = ""


@dataclass(frozen=True)
class Lookup:
    token: int
    source: str
    operation: str
    params: Mapping[str, str]


@dataclass(frozen=True)
class CreateTicket:
    token: int
    fields: Mapping[str, str]


@dataclass(frozen=True)
class StartRecording:
    token: int
    max_ms: int


@dataclass(frozen=True)
class StopRecording:
    token: int


@dataclass(frozen=True)
class Transfer:
    token: int
    queue: str = ""
    skill: str = ""
    priority: int = 0
    uri: str = ""
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FindAnswer:
    """Match a caller's question against the knowledge base (the voice bot, `answer` nodes); the
    result comes back as `AnswerFound`."""

    token: int
    question: str
    language: str
    node: str = ""


# every action: whoever performs them matches over this union with `typing.assert_never` (see the
# simulator), so mypy reports an action left unhandled
IvrAction: TypeAlias = (Play | StopPlayback | StartTimer | Hangup | Listen | Lookup | CreateTicket
                        | StartRecording | StopRecording | Transfer | FindAnswer)
