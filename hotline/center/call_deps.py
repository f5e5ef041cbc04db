"""What a call session is built from: the worker's shared services, passed by keyword, each typed by
the little the call needs of it (so a unit test can hand it a fake)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from hotline.asr.recognizer import Recognizer
from hotline.asr.vad import VadConfig
from hotline.center.bus import CallEvent
from hotline.center.privacy import UtteranceRedactor, default_redactor
from hotline.center.queueing import QueueConfig
from hotline.center.records import CallRecord
from hotline.ivr.actions import AnswerFound, FindAnswer, Transfer
from hotline.ivr.lookups import DataSource
from hotline.ivr.model import FlowSet
from hotline.ivr.simulator import TicketSink


class Prompts(Protocol):
    """Prompt audio (`hotline.ivr.prompts.PromptCache`)."""

    def pieces(self, text: str, voice: str | None = None) -> list[str]: ...
    async def get(self, text: str, voice: str | None = None) -> bytes: ...
    async def get_file(self, source: str) -> bytes: ...


class RecordWriter(Protocol):
    """Where the call's record goes (`hotline.center.store_writer.WriteBehindStore`)."""

    def save(self, record: CallRecord) -> None:
        """Never blocks: the record as it is now is written soon."""

    async def settled(self, call_id: str) -> None:
        """Until what was saved for the call is written."""


class Publisher(Protocol):
    """Call events for the desk, the wallboard and the assist service (`hotline.center.events`)."""

    def publish(self, event: CallEvent) -> None: ...
    def set_live(self, call_id: str, worker: str, live: bool) -> None: ...


class Queues(Protocol):
    """The ACD queues a call waits in for an agent (`hotline.center.queueing.QueueDirectory`)."""

    def config(self, queue: str) -> QueueConfig: ...
    async def staffed(self, skill: str) -> bool: ...
    async def enqueue(self, call: str, worker: str, action: Transfer, context: dict[str, str],
                      agent: str = "") -> None: ...
    async def position(self, call: str) -> int | None: ...
    async def cancel(self, call: str, reason: str) -> None: ...


class Answers(Protocol):
    """The voice bot's answers from the knowledge base, matched in the app process
    (`hotline.center.bot_answers.BotAnswerClient`)."""

    async def find(self, call: str, action: FindAnswer) -> AnswerFound:
        """The answer to the question; no article (and `error` set) when none came in time."""
        ...


@dataclass(kw_only=True)
class SessionDeps:
    flows: Callable[[], FlowSet]  # the active flow set; a call keeps the one it started with
    flow: str
    recognizer: Recognizer
    prompts: Prompts
    store: RecordWriter
    publisher: Publisher
    worker_id: str
    vad: VadConfig
    data_dir: Path
    use_grammar: bool = True
    rate: int = 16000  # the media path's sample rate
    sources: Mapping[str, DataSource] = field(default_factory=dict)
    tickets: TicketSink | None = None
    now: Callable[[], datetime] | None = None
    queues: Queues | None = None  # ACD queues (agents); None: nobody can take a transfer
    answers: Answers | None = None  # the voice bot's answers; None: nothing fits any question
    redactor: Callable[[str], UtteranceRedactor] = field(default=default_redactor)  # per speaker, by language
    node: str = ""  # the cluster node this worker belongs to (kept in each call's record)
