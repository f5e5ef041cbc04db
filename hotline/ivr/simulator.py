"""Running a flow without audio: for `hotline flows simulate` and `hotline flows test`.

Prompts finish as soon as they are "played", the caller's silence fires the pending timer, and
lookups go to the real data sources. Tickets go to whatever `TicketSink` the caller of this
module provides (the CLI uses the real ticket store in a scratch directory). Transfers find no
agent unless `agents_available` is set. The voice bot's questions (`answer` nodes) go to
`answers` (the CLI matches them with the local knowledge directory, as the app would); without
one nothing fits and the flow's no-match path is taken.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, assert_never

from hotline.ivr.actions import (
    AnswerFound,
    CallerHungUp,
    CreateTicket,
    DigitPressed,
    FindAnswer,
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
    StartRecording,
    StartTimer,
    StopPlayback,
    StopRecording,
    TicketDone,
    TimerFired,
    Transfer,
    TransferDone,
)
from hotline.ivr.engine import IvrEngine
from hotline.ivr.lookups import DataSource, run_lookup
from hotline.ivr.model import FlowSet


class TicketSink(Protocol):
    def create_ticket(self, fields: Mapping[str, str]) -> str:
        """Create a ticket and return its reference."""
        ...


class AnswerSource(Protocol):
    async def find(self, action: FindAnswer) -> AnswerFound:
        """The knowledge base's answer to the question (`article` "" when nothing fits)."""
        ...


@dataclass
class SimulatedCall:
    flows: FlowSet
    flow: str
    sources: Mapping[str, DataSource]
    tickets: TicketSink
    now: Callable[[], datetime] | None = None
    variables: dict[str, str] = field(default_factory=dict)
    agents_available: bool = False
    # speech-level tests: (text, Listen in force) -> TTS -> ASR -> text
    hear: Callable[[str, Listen | None], Awaitable[str]] | None = None
    on_prompt: Callable[[Play], None] | None = None
    answers: AnswerSource | None = None

    def __post_init__(self) -> None:
        self.engine = IvrEngine(self.flows, self.flow, dict(self.variables), now=self.now)
        self.prompts: list[Play] = []
        self.tickets_created: list[dict[str, str]] = []
        self.transfers: list[Transfer] = []
        self.heard: list[tuple[str, str]] = []  # (what the caller said, what the recogniser made of it)
        self._timer: int | None = None
        self._recording: int | None = None
        self._listen: Listen | None = None

    @property
    def finished(self) -> bool:
        return self.engine.finished

    async def start(self) -> list[Play]:
        return await self._run(self.engine.start())

    async def press(self, digits: str) -> list[Play]:
        played: list[Play] = []
        for digit in digits:
            if self._recording is not None and digit in "#*":
                played += await self._end_recording(3000)
                continue
            played += await self._feed(DigitPressed(digit))
        return played

    async def say(self, text: str) -> list[Play]:
        if self._recording is not None:  # the caller's message
            return await self._end_recording(max(1000, 80 * len(text)))
        heard = await self.hear(text, self._listen) if self.hear is not None else text
        self.heard.append((text, heard))
        return await self._feed(SpeechHeard(heard))

    async def silence(self) -> list[Play]:
        """The caller says nothing: the pending timer fires (or a recording reaches its end)."""
        if self._recording is not None:
            return await self._end_recording(5000)
        if self._timer is None:
            return []
        token, self._timer = self._timer, None
        return await self._feed(TimerFired(token))

    async def hangup(self) -> list[Play]:
        return await self._run(self.engine.handle(CallerHungUp()))

    async def _end_recording(self, duration_ms: int) -> list[Play]:
        token, self._recording = self._recording, None
        assert token is not None
        event = RecordingDone(token, "simulated-message.wav", duration_ms)
        if self.engine.finished:
            return await self._run(self.engine.finish_voicemail(event))
        return await self._feed(event)

    async def _feed(self, event: IvrEvent) -> list[Play]:
        return await self._run(self.engine.handle(event))

    async def _run(self, actions: list[IvrAction]) -> list[Play]:
        played: list[Play] = []
        todo = list(actions)
        while todo:
            action = todo.pop(0)
            match action:
                case Play():
                    played.append(action)
                    self.prompts.append(action)
                    if self.on_prompt is not None:
                        self.on_prompt(action)
                    todo.extend(self.engine.handle(PromptDone(action.prompt_id)))
                case StartTimer():
                    self._timer = action.token
                case Listen():
                    self._listen = action
                case Lookup():
                    todo.extend(self.engine.handle(await self._lookup(action)))
                case CreateTicket():
                    todo.extend(self._create_ticket(action))
                case StartRecording():
                    self._recording = action.token
                case StopRecording():
                    if self._recording is not None:
                        todo.extend(await self._end_recording(2000))
                case Transfer():
                    self.transfers.append(action)
                    outcome = TransferDone(action.token, self.agents_available,
                                           "" if self.agents_available else "no_agents")
                    todo.extend(self.engine.handle(outcome))
                case FindAnswer():
                    found = (await self.answers.find(action) if self.answers is not None
                             else AnswerFound(action.token, error="not_configured"))
                    todo.extend(self.engine.handle(found))
                case Hangup():
                    self._timer = None
                case StopPlayback():
                    pass  # prompts end at once here
                case _:
                    assert_never(action)
        return played

    def _create_ticket(self, action: CreateTicket) -> list[IvrAction]:
        fields = {**action.fields, "call_id": "simulated", "caller": self.variables.get("caller", "")}
        try:
            ref = self.tickets.create_ticket(fields)
            self.tickets_created.append({**fields, "ref": ref})
            result = TicketDone(action.token, ref)
        except Exception as exc:  # noqa: BLE001 (any store failure takes the flow's error path)
            result = TicketDone(action.token, "", type(exc).__name__)
        return self.engine.handle(result) if not self.engine.finished else []

    async def _lookup(self, action: Lookup) -> LookupDone:
        return await run_lookup(self.sources, action)
