"""QA over HTTP: search archived calls, open one with its recording (one channel per party, or both
as stereo), waveform and transcript, score it against the rubric, export the scores as CSV; and
the QA page. Recordings and transcripts here are for users with the qa or admin role only."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from hotline.center.store import CallStore
from hotline.center.tickets import TicketFilter, TicketStore
from hotline.qa.rubric import DEFAULT, Rubric, RubricError, load_rubric
from hotline.qa.search import CallQuery
from hotline.web.access import Access, CurrentUser
from hotline.web.pages import add_page


def recording_path(store: CallStore, data_dir: Path, call_id: str, party: str) -> Path:
    record = store.get(call_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"no call with id {call_id!r}")
    rel = (record.get("recordings") or {}).get(party)
    if rel is None:
        raise HTTPException(status_code=404, detail=f"call {call_id!r} has no recording of {party!r}")
    path = (data_dir / str(rel)).resolve()
    if not path.is_relative_to(data_dir.resolve()) or not path.is_file():
        raise HTTPException(status_code=404, detail="recording file missing")
    return path


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return pcm, rate


def waveform(path: Path, points: int) -> dict[str, Any]:
    """Peak level (0..1) of `points` equal slices of a recording, for drawing."""
    pcm, rate = _read_wav(path)
    if pcm.size == 0:
        return {"rate": rate, "duration_ms": 0, "peaks": []}
    slices = np.array_split(np.abs(pcm.astype(np.int32)), min(points, pcm.size))
    peaks = [round(float(s.max()) / 32768.0, 4) for s in slices]
    return {"rate": rate, "duration_ms": round(pcm.size * 1000 / rate), "peaks": peaks}


def stereo(record: dict[str, Any], data_dir: Path, store: CallStore) -> bytes:
    """The caller on the left, the agents (each from when they answered) on the right, as a WAV."""
    caller, rate = _read_wav(recording_path(store, data_dir, record["id"], "caller"))
    left = caller.astype(np.int32)
    right = np.zeros_like(left)
    offsets = record.get("recording_offsets") or {}
    for party in sorted(p for p in record.get("recordings") or {} if p.startswith("agent")):
        pcm, agent_rate = _read_wav(recording_path(store, data_dir, record["id"], party))
        if agent_rate != rate:
            continue
        start = int(offsets.get(party, 0) * rate / 1000)
        end = min(left.size, start + pcm.size)
        if end > start:
            right[start:end] += pcm[: end - start]
    frames = np.stack([left, right], axis=1).clip(-32768, 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames.tobytes())
    return out.getvalue()


class Review(BaseModel):
    scores: dict[str, int] = Field(description="points per rubric criterion")
    comments: str = Field("", max_length=8000)


def _query(text: str, since: float | None, until: float | None, agent: str | None, queue: str | None,
           outcome: str | None, disposition: str | None, status: str | None, limit: int, offset: int) -> CallQuery:
    return CallQuery(text=text, since=since, until=until, agent=agent or None, queue=queue or None,
                     outcome=outcome or None, disposition=disposition or None, status=status or None,
                     limit=limit, offset=offset)


def qa_router(store: CallStore, access: Access, data_dir: Path, rubric_path: Path | None,
              tickets: TicketStore | None = None) -> APIRouter:
    router = APIRouter(tags=["qa"])

    def rubric() -> Rubric:
        if rubric_path is None:
            return DEFAULT
        try:
            return load_rubric(rubric_path)
        except RubricError as exc:
            raise HTTPException(status_code=500, detail=str(exc)) from exc

    @router.get("/api/qa/calls")
    async def search(text: str = Query("", max_length=500),
                     since: float | None = None, until: float | None = None, agent: str | None = None,
                     queue: str | None = None, outcome: str | None = None, disposition: str | None = None,
                     status: str | None = None, limit: int = Query(50, ge=1, le=500),
                     offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
        """Archived calls matching words the parties said (redacted text), dates (epoch seconds),
        agent, queue, IVR outcome, wrap-up disposition or status; newest first."""
        q = _query(text, since, until, agent, queue, outcome, disposition, status, limit, offset)
        return await asyncio.to_thread(store.search, q)

    @router.get("/api/qa/calls/{call_id}")
    async def call(call_id: str) -> dict[str, Any]:
        record = await asyncio.to_thread(store.get, call_id)
        if record is None:
            raise HTTPException(status_code=404, detail=f"no call with id {call_id!r}")
        if tickets is not None:  # every ticket about this call: the IVR's, the desk's, the API's
            linked = await asyncio.to_thread(lambda: tickets.list(None, 100, filters=TicketFilter(call_id=call_id)))
            record["ticket_details"] = [t.to_dict() for t in linked]
        return record

    @router.get("/api/qa/calls/{call_id}/waveform/{party}")
    async def call_waveform(call_id: str, party: str,
                            points: int = Query(800, ge=10, le=5000)) -> dict[str, Any]:
        path = recording_path(store, data_dir, call_id, party)
        return await asyncio.to_thread(waveform, path, points)

    @router.get("/api/qa/calls/{call_id}/stereo.wav", response_class=Response,
                responses={200: {"content": {"audio/wav": {}}}})
    async def call_stereo(call_id: str) -> Response:
        """Both parties in one file: the caller left, the agent(s) right, on the call's time line."""
        record = await asyncio.to_thread(store.get, call_id)
        if record is None:
            raise HTTPException(status_code=404, detail=f"no call with id {call_id!r}")
        return Response(await asyncio.to_thread(stereo, record, data_dir, store), media_type="audio/wav")

    @router.get("/api/qa/rubric")
    async def get_rubric() -> dict[str, Any]:
        return rubric().to_dict()

    @router.post("/api/qa/calls/{call_id}/reviews", status_code=201)
    async def review(call_id: str, body: Review, user: CurrentUser) -> dict[str, Any]:
        """Score a call against the rubric, with comments; a call can be reviewed more than once."""
        current = rubric()
        try:
            scores, total = current.score(body.scores)
        except RubricError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        entry = {"reviewer": user.username, "at": round(time.time(), 3), "scores": scores, "total": total,
                 "max": current.max_total, "percent": round(100 * total / current.max_total, 1),
                 "comments": body.comments}
        if not await asyncio.to_thread(store.append, call_id, "$.qa", entry):
            raise HTTPException(status_code=404, detail=f"no call with id {call_id!r}")
        return entry

    @router.get("/api/qa/export.csv", response_class=PlainTextResponse)
    async def export(text: str = "", since: float | None = None,
                     until: float | None = None, agent: str | None = None, queue: str | None = None,
                     outcome: str | None = None, disposition: str | None = None) -> Response:
        """One row per review of the calls the filters select (the same filters as the search)."""
        q = _query(text, since, until, agent, queue, outcome, disposition, None, 10000, 0)
        found = await asyncio.to_thread(store.search, q)
        criteria = [c.id for c in rubric().criteria]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["call_id", "started_at", "agent", "queues", "outcome", "disposition", "reviewer",
                         "reviewed_at", *criteria, "total", "max", "percent", "comments"])
        for summary in found:
            record = await asyncio.to_thread(store.get, summary["id"]) or {}
            for r in record.get("qa") or []:
                writer.writerow([summary["id"], time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(summary["started_at"])),
                                 summary["agent"], " ".join(summary["queues"]), summary["outcome"],
                                 summary["disposition"], r["reviewer"],
                                 time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(r["at"])),
                                 *[r["scores"].get(c, "") for c in criteria], r["total"], r["max"], r["percent"],
                                 r["comments"]])
        return Response(out.getvalue(), media_type="text/csv",
                        headers={"content-disposition": "attachment; filename=qa-reviews.csv"})

    add_page(router, "/qa", "qa.html")

    return router
