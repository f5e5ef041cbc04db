"""The agent's holds go into the call record (`holds`: who, from when, until when), which the
reports turn into hold time."""

from __future__ import annotations

from collections.abc import Coroutine
from types import SimpleNamespace
from typing import Any

from hotline.center.agent_side import AgentSide
from hotline.center.records import CallRecord


class FakeCall:
    def __init__(self) -> None:
        self.record = CallRecord("c1", "s1", "sip:a@x", "sip:b@x")
        self.leg = SimpleNamespace(stop_playback=lambda: None)
        self.language = "en"

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> Any:
        coro.close()  # the hold messages are not played here
        return SimpleNamespace(cancel=lambda: None)


def test_holds_are_recorded() -> None:
    call = FakeCall()
    published: list[Any] = []
    side = AgentSide(call=call, deps=SimpleNamespace(publisher=SimpleNamespace(publish=published.append)))  # type: ignore[arg-type]
    side.leg, side.name = SimpleNamespace(), "alice"  # type: ignore[assignment]
    side.hold(True)
    side.hold(True)  # already on hold: nothing new
    assert len(call.record.holds) == 1 and call.record.holds[0]["until"] is None
    side.hold(False)
    side.hold(True)
    side.hold(False)
    holds = call.record.holds
    assert [h["agent"] for h in holds] == ["alice", "alice"]
    assert all(h["at"] <= h["until"] for h in holds) and holds[0]["until"] <= holds[1]["at"]
    assert len(published) == 4
    assert CallRecord.from_dict(call.record.to_dict()).holds == holds
