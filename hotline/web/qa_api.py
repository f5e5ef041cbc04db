"""QA over HTTP: search archived calls, open one with its recording (one channel per party, or both
as stereo), waveform and transcript, score it against the rubric, export the scores as CSV; and
the QA page. Recordings and transcripts here are for users with the qa or admin role only."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from hotline.center.nodes import NodeDirectory
from hotline.center.store import CallStore
from hotline.center.tickets import TicketFilter, TicketStore
from hotline.qa.audio import cached_stereo, waveform
from hotline.qa.rubric import DEFAULT, Rubric, RubricError, load_rubric
from hotline.qa.search import CallQuery
from hotline.web.access import Access, CurrentUser
from hotline.web.cluster_files import ensure_local, recording_path
from hotline.web.pages import add_page


def stereo_file(record: dict[str, Any], data_dir: Path, store: CallStore) -> Path:
    """Both parties in one stereo WAV (the caller left, the agents right, each from when they
    answered), from the QA cache in the data directory."""
    caller = recording_path(store, data_dir, record["id"], "caller")
    offsets = record.get("recording_offsets") or {}
    agents = [(recording_path(store, data_dir, record["id"], party), int(offsets.get(party, 0)))
              for party in sorted(p for p in record.get("recordings") or {} if p.startswith("agent"))]
    return cached_stereo(data_dir / "qa-cache", record["id"], caller, agents)


def with_reviews(store: CallStore, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Search results with how often each call was reviewed and its latest review's percentage."""
    for summary in found:
        reviews = (store.get(summary["id"]) or {}).get("qa") or []
        summary["reviews"] = len(reviews)
        summary["score"] = reviews[-1].get("percent") if reviews else None
    return found


class Review(BaseModel):
    scores: dict[str, int | None] = Field(description="points per rubric criterion; every criterion must be "
                                                      "scored (null or absent: not scored, refused)")
    comments: str = Field("", max_length=8000)


def _query(text: str, since: float | None, until: float | None, agent: str | None, queue: str | None,
           outcome: str | None, disposition: str | None, status: str | None, limit: int, offset: int) -> CallQuery:
    return CallQuery(text=text, since=since, until=until, agent=agent or None, queue=queue or None,
                     outcome=outcome or None, disposition=disposition or None, status=status or None,
                     limit=limit, offset=offset)


def qa_router(store: CallStore, access: Access, data_dir: Path, rubric_path: Path | None,
              tickets: TicketStore | None = None, nodes: NodeDirectory | None = None) -> APIRouter:
    router = APIRouter(tags=["qa"])

    async def with_audio(call_id: str, parties: list[str] | None = None) -> dict[str, Any]:
        """The call's record, with the named recordings (all when None) readable on this node."""
        record = await asyncio.to_thread(store.get, call_id)
        if record is None:
            raise HTTPException(status_code=404, detail=f"no call with id {call_id!r}")
        for party in parties if parties is not None else list(record.get("recordings") or {}):
            await ensure_local(nodes, data_dir, record, party)
        return record

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
        agent, queue, IVR outcome, wrap-up disposition or status; newest first. Each with `reviews`
        (how many QA reviews it has) and `score` (the latest review's percentage, or null)."""
        q = _query(text, since, until, agent, queue, outcome, disposition, status, limit, offset)
        return await asyncio.to_thread(lambda: with_reviews(store, store.search(q)))

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
        await with_audio(call_id, [party])
        path = recording_path(store, data_dir, call_id, party)
        return await asyncio.to_thread(waveform, path, points)

    @router.get("/api/qa/calls/{call_id}/stereo.wav", response_class=FileResponse,
                responses={200: {"content": {"audio/wav": {}}}, 206: {"description": "the requested byte range"},
                           416: {"description": "the range is outside the file"}})
    async def call_stereo(call_id: str) -> FileResponse:
        """Both parties in one file: the caller left, the agent(s) right, on the call's time line.
        Byte ranges (`Range: bytes=a-b`, answered 206) let the player seek."""
        record = await with_audio(call_id)
        path = await asyncio.to_thread(stereo_file, record, data_dir, store)
        return FileResponse(path, media_type="audio/wav", filename=f"{call_id}.stereo.wav",
                            content_disposition_type="inline", headers={"cache-control": "private"})

    @router.get("/api/qa/rubric")
    async def get_rubric() -> dict[str, Any]:
        return rubric().to_dict()

    @router.post("/api/qa/calls/{call_id}/reviews", status_code=201)
    async def review(call_id: str, body: Review, user: CurrentUser) -> dict[str, Any]:
        """Score a call against the rubric, with comments; a call can be reviewed more than once.
        Every criterion must be scored (422 naming the criteria by label otherwise). The review kept
        has the scores by id (`scores`) and by label (`criteria`: label, score, max) and the total."""
        current = rubric()
        try:
            scores, total = current.score(body.scores)
        except RubricError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        entry = {"reviewer": user.username, "at": round(time.time(), 3), "scores": scores,
                 "criteria": current.breakdown(scores), "total": total, "max": current.max_total,
                 "percent": round(100 * total / current.max_total, 1), "comments": body.comments}
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
