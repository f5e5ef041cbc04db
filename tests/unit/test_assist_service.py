"""The live assist service matches off the event loop: `on_event` (called on the loop) returns at
once, the match runs on the service's thread, and the card is published back on the loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

from hotline.assist.kb import parse_kb
from hotline.assist.matcher import Suggestion
from hotline.assist.registry import KbVersion
from hotline.center.assist_service import AssistService
from hotline.center.bus import AgentConnected, CallEvent, TranscriptFinal

KB = parse_kb("- id: damaged\n  title: Parcel arrived damaged\n  script: Sorry it arrived damaged.\n", "kb.yaml")


class SlowMatcher:
    def __init__(self) -> None:
        self.threads: list[int] = []

    def match(self, text: str, language: str, context: Sequence[str] = ()) -> Suggestion | None:
        self.threads.append(threading.get_ident())
        time.sleep(0.05)  # an embedding's worth of CPU
        return Suggestion("damaged", 0.9, 0.8)


class Registry:
    def __init__(self, matcher: SlowMatcher) -> None:
        self.current = KbVersion(1, KB, matcher, {}, 0.0)


class Store:
    def set_paths(self, *args: Any) -> None:
        pass

    def append(self, *args: Any) -> None:
        pass


class Publisher:
    def __init__(self) -> None:
        self.events: list[tuple[CallEvent, int]] = []

    def publish(self, event: CallEvent) -> None:
        self.events.append((event, threading.get_ident()))


async def test_matching_runs_off_the_loop_and_the_card_is_published_on_it() -> None:
    matcher, publisher = SlowMatcher(), Publisher()
    service = AssistService(Registry(matcher), Store(), publisher)  # type: ignore[arg-type]
    try:
        service.on_event(AgentConnected(call_id="c1", agent="alice"))
        started = time.perf_counter()
        service.on_event(TranscriptFinal(call_id="c1", speaker="caller", text="my parcel is broken",
                                         start_ms=0, end_ms=900, language="en"))
        assert time.perf_counter() - started < 0.03  # the loop did not wait for the match
        assert publisher.events == []
        for _ in range(100):
            if publisher.events:
                break
            await asyncio.sleep(0.01)
        loop_thread = threading.get_ident()
        ((card, thread),) = publisher.events
        assert card.article == "damaged" and thread == loop_thread  # type: ignore[attr-defined]
        assert matcher.threads and matcher.threads[0] != loop_thread
        assert service.matched == 1 and service.dropped == 0
    finally:
        service.close()
