"""A scripted mix of call records for the reports' tests (unit, API and page): self-served by the flow
and by the bot, transferred and answered, answered then passed on by the agent, abandoned in the
queue, refused for want of agents then voicemail, voicemail, hung up in the IVR, no input, still
live, and one before the period. `T` is the first call's start."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

T = datetime(2026, 11, 20, 9, 0, tzinfo=UTC).timestamp()  # a Friday, 09:00 UTC
SINCE, UNTIL = T - 86400.0, T + 2 * 86400.0


def call(cid: str, start: float, **kw: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"id": cid, "started_at": start, "ended_at": start + 60.0, "status": "completed",
                              "channel": "sip", "outcome": "flow_end", "ivr_path": ["welcome", "menu"],
                              "transfers": [], "offers": [], "recordings": {}, "agent": "", "bot": [],
                              "wrapup": None, "qa": None, "assist": None}
    record.update(kw)
    return record


def mix(start: float = T) -> list[dict[str, Any]]:
    """The calls, the first at `start`; the one before the period starts a day before it."""
    T = start
    return [
        # the flow ran to its end
        call("self", T, ivr_path=["welcome", "menu", "hours"]),
        # the bot's answer helped and the caller hung up (WebRTC, next day 10:xx)
        call("bot", T + 86400.0 + 3600.0, channel="webrtc", outcome="caller_hangup",
             ivr_path=["welcome", "questions"],
             bot=[{"node": "questions", "article": "track", "resolved": "yes", "outcome": "resolved", "at": T}]),
        # to the general queue, answered by alice after 12 s (bob declined first); 10 s on hold; wrap-up 30 s
        call("answered", T + 600.0, ended_at=T + 700.0, outcome="transferred", ivr_path=["welcome", "menu", "agent"],
             agent="alice",
             transfers=[{"queue": "general", "skill": "general", "at": T + 610.0, "result": "answered",
                         "agent": "alice", "waited_s": 12.0}],
             offers=[{"agent": "bob", "at": T + 611.0, "outcome": "declined", "ring_s": 2.0, "queue": "general"},
                     {"agent": "alice", "at": T + 614.0, "outcome": "answered", "ring_s": 8.0, "queue": "general"}],
             holds=[{"agent": "alice", "at": T + 640.0, "until": T + 650.0}],
             wrapup={"agent": "alice", "disposition": "resolved", "notes": "", "at": T + 730.0},
             qa=[{"reviewer": "quinn", "percent": 80.0}, {"reviewer": "ada", "percent": 90.0}]),
        # answered by bob after 30 s (over the 20 s target), who passed it to billing, where carol answered in 5 s
        call("passed", T + 3600.0, ended_at=T + 3900.0, outcome="transferred", ivr_path=["welcome", "menu", "agent"],
             agent="carol",
             transfers=[{"queue": "general", "at": T + 3610.0, "result": "answered", "agent": "bob", "waited_s": 30.0},
                        {"queue": "billing", "at": T + 3700.0, "result": "answered", "agent": "carol", "waited_s": 5.0}],
             offers=[{"agent": "bob", "at": T + 3630.0, "outcome": "answered", "ring_s": 10.0, "queue": "general"},
                     {"agent": "dave", "at": T + 3701.0, "outcome": "timeout", "ring_s": 15.0, "queue": "billing"},
                     {"agent": "carol", "at": T + 3702.0, "outcome": "answered", "ring_s": 3.0, "queue": "billing"}],
             qa=[{"reviewer": "quinn", "percent": 60.0}]),
        # hung up after 40 s in the general queue
        call("queue-abandoned", T + 7200.0, outcome="caller_hangup", ivr_path=["welcome", "menu", "agent"],
             transfers=[{"queue": "general", "at": T + 7210.0, "result": "abandoned", "waited_s": 40.0}]),
        # nobody staffed: the flow took a voicemail instead
        call("no-agents", T + 7300.0, ivr_path=["welcome", "menu", "agent", "voicemail"],
             transfers=[{"queue": "general", "at": T + 7310.0, "result": "no_agents", "waited_s": 0.0}],
             recordings={"caller": "c.wav", "voicemail-4": "vm.wav"}),
        # a voicemail straight from the menu
        call("voicemail", T + 7400.0, ivr_path=["welcome", "menu", "voicemail"],
             recordings={"caller": "c.wav", "voicemail-2": "vm.wav"}),
        # hung up in the menu
        call("ivr-abandoned", T + 7500.0, outcome="caller_hangup", ivr_path=["welcome", "menu"]),
        # said nothing
        call("no-input", T + 7600.0, outcome="no_input", ivr_path=["welcome", "menu"]),
        # still waiting in the general queue
        call("live", T + 7700.0, status="live", ended_at=None, outcome="", ivr_path=[],
             transfers=[{"queue": "general", "at": T + 7710.0}]),
        # before the period
        call("old", T - 86400.0 - 10.0),
    ]
