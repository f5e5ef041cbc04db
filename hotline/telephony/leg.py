"""What a call session needs from a caller's leg, whatever carries it (SIP or WebRTC)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from hotline.telephony.frames import DtmfEvent, FrameQueue
from hotline.telephony.playout import Playout
from hotline.telephony.sip.call import CallInfo


class CallLeg(Protocol):
    info: CallInfo
    frames: FrameQueue
    playout: Playout
    dtmf: asyncio.Queue[DtmfEvent]
    disconnected: asyncio.Event
    media_ready: asyncio.Event
    disconnect_reason: str
    on_prompt_done: Callable[[str, bool], None] | None

    def play(self, prompt_id: str, pcm: bytes) -> None: ...
    def stop_playback(self) -> None: ...
    def hangup_call(self) -> None: ...
    async def transfer(self, uri: str, timeout: float = 30.0) -> int: ...
