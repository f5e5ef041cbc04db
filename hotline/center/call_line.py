"""What the parts of a call (the agent bridge, the action executor) may ask of the call session,
and nothing more: they are built and unit-tested against this, not against `CallSession`."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any, Protocol

from hotline.asr.pipeline import SpeechPipeline
from hotline.center.records import CallRecord
from hotline.ivr.actions import IvrEvent
from hotline.telephony.leg import CallLeg


class Disconnected:
    """Put in the session's inbox: the call is over (the caller or the agent hung up)."""

    def __repr__(self) -> str:
        return "DISCONNECTED"


DISCONNECTED = Disconnected()


class CallLine(Protocol):
    record: CallRecord
    leg: CallLeg  # the caller's
    started: float  # time.monotonic() when the call began

    def post(self, event: IvrEvent | Disconnected) -> None:
        """An event for the IVR engine (a transfer's result...) or DISCONNECTED."""

    def spawn(self, coro: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
        """Run work for the call: cancelled when the call ends."""

    def transcribe(self, pipeline: SpeechPipeline, base_ms: int) -> None:
        """Transcribe another party (the agent) into the call's record; its last words are awaited."""

    def hang_up_when_idle(self) -> None:
        """End the call once the prompt playing now has finished."""

    @property
    def language(self) -> str: ...

    @property
    def voice(self) -> str:
        """The flow's voice for the caller's language."""

    @property
    def variables(self) -> Mapping[str, str]: ...
