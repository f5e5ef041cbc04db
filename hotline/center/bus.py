"""Every call event, typed: what the workers, the assist service and the post-call transcriber
publish on the node's event stream, and what the desk, the assist service and tests read from it.

An event is a frozen dataclass whose `TYPE` names it on the wire. On the stream an entry holds the
type, the call, the time and the other fields as JSON (`encode`); `decode` turns an entry back into
the same dataclass. A type this code does not know (a newer node during an upgrade) decodes to
`OtherEvent`, so it is still passed on, never dropped. Browsers get `as_message()`: the fields flat,
with `type`, `call_id` and `ts`, as the desk's JavaScript reads them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

Word = tuple[str, int, int, float]  # text, start ms, end ms, confidence


@dataclass(frozen=True, kw_only=True)
class CallEvent:
    TYPE: ClassVar[str] = ""
    call_id: str
    ts: float = field(default_factory=time.time)

    @property
    def type(self) -> str:
        return self.TYPE

    def data(self) -> dict[str, Any]:
        """The event's own fields (what goes in the entry's JSON)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("call_id", "ts")}

    def as_message(self) -> dict[str, Any]:
        return {**self.data(), "type": self.type, "call_id": self.call_id, "ts": self.ts}


EVENT_TYPES: dict[str, type[CallEvent]] = {}


E = TypeVar("E", bound=type[CallEvent])


def _event(cls: E) -> E:
    assert cls.TYPE and cls.TYPE not in EVENT_TYPES, cls
    EVENT_TYPES[cls.TYPE] = cls
    return cls


# --- the call's life (published by the worker holding the call) ---------------------------------
@_event
@dataclass(frozen=True, kw_only=True)
class CallStarted(CallEvent):
    TYPE = "call.started"
    worker: str
    flow: str


@_event
@dataclass(frozen=True, kw_only=True)
class CallEnded(CallEvent):
    TYPE = "call.ended"
    reason: str
    path: list[str]
    dtmf_count: int


@_event
@dataclass(frozen=True, kw_only=True)
class DtmfReceived(CallEvent):
    """A key was pressed: when and how, never which (digits stay out of the event stream)."""

    TYPE = "dtmf"
    method: str
    offset_ms: int


@_event
@dataclass(frozen=True, kw_only=True)
class TicketCreated(CallEvent):
    TYPE = "ticket.created"
    ref: str
    ticket_type: str


# --- speech -----------------------------------------------------------------------------------------
@_event
@dataclass(frozen=True, kw_only=True)
class SpeechStartedEvent(CallEvent):
    TYPE = "speech.started"
    speaker: str
    offset_ms: int


@_event
@dataclass(frozen=True, kw_only=True)
class SpeechUnavailableEvent(CallEvent):
    TYPE = "speech.unavailable"
    speaker: str
    start_ms: int
    end_ms: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class _Utterance(CallEvent):
    speaker: str
    text: str  # as kept: redacted, or "[sensitive]"
    start_ms: int
    end_ms: int
    language: str
    engine: str = ""
    segment: int = 0
    words: list[Word] = field(default_factory=list)


@_event
@dataclass(frozen=True, kw_only=True)
class TranscriptPartial(_Utterance):
    TYPE = "transcript.partial"


@_event
@dataclass(frozen=True, kw_only=True)
class TranscriptFinal(_Utterance):
    TYPE = "transcript.final"
    latency_ms: float = 0.0


@_event
@dataclass(frozen=True, kw_only=True)
class PostTranscript(CallEvent):
    """The post-call transcription's progress."""

    TYPE = "transcript.post"
    status: str
    progress: float


# --- queues and agents --------------------------------------------------------------------------------
@_event
@dataclass(frozen=True, kw_only=True)
class TransferAttempted(CallEvent):
    """A transfer's outcome: to a queue (`queue`) or a SIP URI (`uri`); `result` says what happened."""

    TYPE = "call.transfer"
    result: str
    queue: str = ""
    skill: str = ""
    priority: int = 0
    uri: str = ""


@_event
@dataclass(frozen=True, kw_only=True)
class CallQueued(CallEvent):
    TYPE = "call.queued"
    queue: str
    skill: str


@_event
@dataclass(frozen=True, kw_only=True)
class AgentConnected(CallEvent):
    TYPE = "call.agent_connected"
    agent: str


@_event
@dataclass(frozen=True, kw_only=True)
class CallHeld(CallEvent):
    TYPE = "call.hold"
    agent: str


@_event
@dataclass(frozen=True, kw_only=True)
class CallResumed(CallEvent):
    TYPE = "call.resumed"
    agent: str


@_event
@dataclass(frozen=True, kw_only=True)
class CallTransferred(CallEvent):
    """The agent passed the caller on (to a queue, or to one agent)."""

    TYPE = "call.transferred"
    by: str
    queue: str
    agent: str = ""


# --- knowledge suggestions and reminders (published by the app) ----------------------------------------
@_event
@dataclass(frozen=True, kw_only=True)
class AssistSuggestion(CallEvent):
    TYPE = "assist.suggestion"
    n: int
    article: str
    title: str
    script: str
    steps: list[str]
    tags: list[str]
    score: float
    confidence: float
    language: str
    kb_version: int
    match_ms: float
    utterance_end_ms: int | None = None
    transcript_ts: float | None = None


@_event
@dataclass(frozen=True, kw_only=True)
class AssistFeedback(CallEvent):
    TYPE = "assist.feedback"
    n: int
    article: str
    verdict: str
    agent: str


@_event
@dataclass(frozen=True, kw_only=True)
class TicketOverdue(CallEvent):
    TYPE = "ticket.overdue"
    ref: str
    ticket_type: str
    priority: str
    assignee: str
    queue: str
    due_at: float | None
    notified: list[str]


@dataclass(frozen=True, kw_only=True)
class OtherEvent(CallEvent):
    """An event of a type this node does not know: passed on as it came."""

    name: str
    fields: dict[str, Any]

    @property
    def type(self) -> str:
        return self.name

    def data(self) -> dict[str, Any]:
        return dict(self.fields)


class EventDecodeError(ValueError):
    pass


def encode(event: CallEvent, origin: str = "") -> dict[str, str]:
    """A stream entry's fields; `origin` names the publishing process where its own reader must
    not deliver the event a second time (see `CallEvents.publisher`)."""
    entry = {"type": event.type, "call_id": event.call_id, "ts": f"{event.ts:.3f}",
             "data": json.dumps(event.data(), ensure_ascii=False)}
    if origin:
        entry["origin"] = origin
    return entry


def decode(entry: dict[str, str]) -> CallEvent:
    """A stream entry back to its event; EventDecodeError when its fields do not fit its type."""
    kind, call_id = entry.get("type", ""), entry.get("call_id", "")
    try:
        ts = float(entry.get("ts", 0))
        data = json.loads(entry.get("data") or "{}")
    except ValueError as exc:
        raise EventDecodeError(f"{kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise EventDecodeError(f"{kind}: data is not an object")
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        return OtherEvent(call_id=call_id, ts=ts, name=kind, fields=data)
    known = {f.name for f in dataclasses.fields(cls)} - {"call_id", "ts"}
    if issubclass(cls, _Utterance):
        data["words"] = [tuple(w) for w in data.get("words", [])]
    try:
        return cls(call_id=call_id, ts=ts, **{k: v for k, v in data.items() if k in known})
    except TypeError as exc:  # a field missing
        raise EventDecodeError(f"{kind}: {exc}") from exc


class EventSink(Protocol):
    """Where events are published (`hotline.center.events.EventPublisher`, or a test's list)."""

    def publish(self, event: CallEvent) -> None: ...
