"""The call record: what is kept about every call."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class CallStatus(StrEnum):
    LIVE = "live"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"  # its worker stopped (crashed) before the call ended


@dataclass
class Segment:
    speaker: str
    text: str
    start_ms: int
    end_ms: int
    engine: str


@dataclass
class DtmfRecord:
    digit: str
    method: str
    offset_ms: int


@dataclass
class CallRecord:
    id: str
    sip_call_id: str
    from_uri: str
    to_uri: str
    channel: str = "sip"
    worker: str = ""
    node: str = ""  # the cluster node whose worker holds the call
    flow: str = ""
    flow_version: int = 0  # the active flow set the call started on
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    status: str = CallStatus.LIVE
    end_reason: str = ""
    ivr_path: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    dtmf: list[DtmfRecord] = field(default_factory=list)
    transcript: list[Segment] = field(default_factory=list)
    asr_engine: str = ""
    frames_received: int = 0
    frames_dropped: int = 0
    # audio files per party, relative to the data directory
    recordings: dict[str, str] = field(default_factory=dict)
    agent: str = ""  # the agent who took the call
    wrapup: dict[str, Any] | None = None  # the agent's disposition and notes
    outcome: str = ""  # how the IVR ended: flow_end, transferred, no_input, caller_hangup...
    tickets: list[str] = field(default_factory=list)  # references of tickets this call created
    transfers: list[dict[str, Any]] = field(default_factory=list)
    # the post-call re-transcription: status, engine, model, progress (0-1), segments
    post_transcript: dict[str, Any] | None = None
    # knowledge suggestions while an agent was on the call: utterances matched, cards shown, feedback
    assist: dict[str, Any] | None = None
    # the voice bot's questions (IVR `answer` nodes), in order: each {"node", "language",
    # "question", "article" (id or None when nothing fitted), "score", "resolved" ("yes" / "no" /
    # None: no reply), "outcome" ("resolved", "agent", "voicemail", "no_match", "hangup", "menu"), "at"}
    bot: list[dict[str, Any]] = field(default_factory=list)
    # where each party's recording starts on the call's time line (ms; absent: at 0)
    recording_offsets: dict[str, int] = field(default_factory=dict)
    qa: list[dict[str, Any]] | None = None  # QA reviews: reviewer, scores, total, comments
    # the agent's holds, in order: {"agent", "at", "until" (None: still on hold)} (epoch seconds)
    holds: list[dict[str, Any]] = field(default_factory=list)
    # supervisors who joined the call, in order: {"supervisor", "mode" (the mode joined in: "listen",
    # "whisper" or "barge"), "at", "left_at" (None: still on), "modes": [{"mode", "at"}, ...] (the
    # first and every change)} (epoch seconds)
    monitors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def dtmf_count(self) -> int:
        return len(self.dtmf)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["dtmf_count"] = self.dtmf_count
        data["duration_s"] = round(self.ended_at - self.started_at, 3) if self.ended_at else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallRecord:
        data = {k: v for k, v in data.items() if k not in ("dtmf_count", "duration_s")}
        data["dtmf"] = [DtmfRecord(**d) for d in data.get("dtmf", [])]
        data["transcript"] = [Segment(**s) for s in data.get("transcript", [])]
        return cls(**data)
