"""Supervisors on a live call: listen (they hear the caller and the agent, nobody hears them), whisper
(only the agent hears them) and barge (three-way: both hear them).

Each supervisor's browser leg (WebRTC) lives in the worker that holds the call, like the agent's;
the audio is mixed here, per 20 ms frame, in the legs' playouts (`Playout.push_live` with one
source per party, summed with clipping): the supervisor's playout gets the caller's and the agent's
frames, the agent's and (in barge) the caller's playout get the supervisor's. What a supervisor
says is never recorded nor transcribed: not into the caller's recording (which is the caller's
own microphone), not into the agent's (the agent's own microphone) and not on a file of its own,
also in barge; the call record keeps who joined, when, in which mode, each change and leaving
(`CallRecord.monitors`). Reaches the call only through `CallLine` (and the agent's side through
`AgentBridge`): unit tests drive it with fakes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args

from hotline.center.call_deps import SessionDeps
from hotline.center.call_line import CallLine
from hotline.telephony.leg import CallLeg

log = logging.getLogger(__name__)

Mode = Literal["listen", "whisper", "barge"]
MODES: tuple[str, ...] = get_args(Mode)
CALLER, AGENT = "caller", "agent"  # the playout sources of the two parties


def heard_by(mode: str) -> frozenset[str]:
    """Who hears a supervisor in `mode` (the supervisor always hears the caller and the agent)."""
    return {"listen": frozenset(), "whisper": frozenset({AGENT}),
            "barge": frozenset({AGENT, CALLER})}.get(mode, frozenset())


class AgentBridge(Protocol):
    """What the supervisors need of the agent's side of the call."""

    leg: CallLeg | None  # the agent's, while one is bridged
    held: bool  # the caller is on hold (hears the hold message, nobody else)


@dataclass
class Monitor:
    supervisor: str
    leg: CallLeg
    mode: str
    entry: dict[str, Any]  # in the call record's `monitors`

    @property
    def source(self) -> str:
        return f"supervisor:{self.supervisor}"


def _now() -> float:
    return round(time.time(), 3)


class Monitors:
    def __init__(self, *, call: CallLine, deps: SessionDeps, agents: AgentBridge) -> None:
        self.call, self.deps, self.agents = call, deps, agents
        self.on: dict[str, Monitor] = {}  # by supervisor

    # the parties' audio, as each frame arrives: to every supervisor on the call
    def caller_audio(self, pcm: bytes) -> None:
        for monitor in self.on.values():
            monitor.leg.playout.push_live(pcm, CALLER)

    def agent_audio(self, pcm: bytes) -> None:
        for monitor in self.on.values():
            monitor.leg.playout.push_live(pcm, AGENT)

    def _supervisor_audio(self, monitor: Monitor, pcm: bytes) -> None:
        hearing = heard_by(monitor.mode)
        agent = self.agents.leg
        if AGENT in hearing and agent is not None:
            agent.playout.push_live(pcm, monitor.source)
        if CALLER in hearing and not self.agents.held:  # on hold the caller hears the hold message only
            self.call.leg.playout.push_live(pcm, monitor.source)

    def join(self, leg: CallLeg, supervisor: str, mode: str) -> bool:
        """A supervisor's leg for this call; the same supervisor joining again replaces their leg."""
        if mode not in MODES or self.call.leg.disconnected.is_set():
            return False
        if supervisor in self.on:
            self.leave(supervisor)
        at = _now()
        entry: dict[str, Any] = {"supervisor": supervisor, "mode": mode, "at": at, "left_at": None,
                                 "modes": [{"mode": mode, "at": at}]}
        monitor = self.on[supervisor] = Monitor(supervisor, leg, mode, entry)
        record = self.call.record
        record.monitors.append(entry)
        self.deps.store.save(record)
        self.call.spawn(self._pump(monitor), name=f"monitor-{supervisor}-{record.id}")
        log.info("supervisor joined", extra={"call": record.id, "supervisor": supervisor, "mode": mode})
        return True

    def set_mode(self, supervisor: str, mode: str) -> bool:
        monitor = self.on.get(supervisor)
        if monitor is None or mode not in MODES:
            return False
        if mode != monitor.mode:
            self._silence(monitor, heard_by(monitor.mode) - heard_by(mode))
            monitor.mode = mode
            monitor.entry["modes"].append({"mode": mode, "at": _now()})
            self.deps.store.save(self.call.record)
            log.info("supervisor mode", extra={"call": self.call.record.id, "supervisor": supervisor, "mode": mode})
        return True

    def leave(self, supervisor: str, at: float | None = None) -> bool:
        monitor = self.on.pop(supervisor, None)
        if monitor is None:
            return False
        self._silence(monitor, heard_by(monitor.mode))
        monitor.entry["left_at"] = round(at, 3) if at is not None else _now()
        monitor.leg.hangup_call()
        self.deps.store.save(self.call.record)
        log.info("supervisor left", extra={"call": self.call.record.id, "supervisor": supervisor})
        return True

    def _silence(self, monitor: Monitor, parties: frozenset[str]) -> None:
        """Those who no longer hear a supervisor lose what was still queued of them."""
        agent = self.agents.leg
        if AGENT in parties and agent is not None:
            agent.playout.drop_live(monitor.source)
        if CALLER in parties:
            self.call.leg.playout.drop_live(monitor.source)

    async def _pump(self, monitor: Monitor) -> None:
        """The supervisor's microphone, frame by frame, to whoever hears them now; their leg ending
        (the browser left) is leaving."""
        async for frame in monitor.leg.frames:
            if self.on.get(monitor.supervisor) is not monitor:
                break
            self._supervisor_audio(monitor, frame.pcm)
        if self.on.get(monitor.supervisor) is monitor:
            self.leave(monitor.supervisor)

    def close(self, at: float | None = None) -> None:
        """The call is over: every supervisor leaves with it."""
        for supervisor in list(self.on):
            self.leave(supervisor, at)
