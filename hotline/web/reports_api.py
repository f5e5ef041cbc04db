"""Reports over HTTP (supervisors and admins): every table of `hotline.center.reports` for a period
and a queue as JSON, each table as CSV, the reports page, and Chart.js for its charts.

The figures are computed here on the server from the stored call records (and tickets, and the
knowledge usage report); the page only draws them. Chart.js is Debian's `libjs-chart.js`, installed
by `make setup` and served by hotline itself (no CDN)."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, Response

from hotline.assist.matcher import Matcher
from hotline.assist.registry import KnowledgeRegistry
from hotline.assist.report import usage_report
from hotline.center import reports
from hotline.center.presence_log import changes_between, times_in_state
from hotline.center.store import CallStore
from hotline.center.tickets import TicketFilter, TicketStore
from hotline.web.access import ADMIN, PUBLIC, SUPERVISOR
from hotline.web.pages import add_page
from hotline.web.periods import parse_time

log = logging.getLogger(__name__)

CHART_JS = Path("/usr/share/javascript/chart.js/chart.min.js")  # Debian's libjs-chart.js (3.9)
CHART_JS_ROUTE = "/vendor/chart.js/chart.min.js"
DEFAULT_DAYS = 7
MAX_TICKETS = 100_000

# the access rules of these routes (to go into `hotline.web.access.RULES`)
REPORT_RULES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/reports"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/reports"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", "/api/reports/{table}.csv"): frozenset({SUPERVISOR, ADMIN}),
    ("GET", CHART_JS_ROUTE): PUBLIC,
}


def local_offset_s(at: float) -> int:
    offset = datetime.fromtimestamp(at).astimezone().utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def reports_router(store: CallStore, tickets: TicketStore | None = None,
                   knowledge: KnowledgeRegistry[Matcher] | None = None,
                   target_s: float = reports.SERVICE_TARGET_S, redis: aioredis.Redis | None = None) -> APIRouter:
    router = APIRouter(tags=["reports"])

    def period(since: str | None, until: str | None) -> tuple[float, float]:
        end = parse_time(until, time.time(), end_of_day=True)
        start = parse_time(since, end - timedelta(days=DEFAULT_DAYS).total_seconds())
        if start >= end:
            raise HTTPException(status_code=422, detail="since must be before until")
        return start, end

    async def compute(since: str | None, until: str | None, queue: str | None, target: float | None,
                      tz: int | None) -> tuple[dict[str, Any], dict[str, reports.Table]]:
        start, end = period(since, until)
        queue = (queue or "").strip() or None
        records = await asyncio.to_thread(store.between, start, end)
        selected = reports.select(records, queue)
        version = knowledge.current if knowledge is not None else None
        usage = usage_report(selected, version.kb if version is not None else None)
        ticket_dicts: list[dict[str, Any]] | None = None
        if tickets is not None:
            found = await asyncio.to_thread(tickets.list, None, MAX_TICKETS,
                                            filters=TicketFilter(queue=queue) if queue else None)
            ticket_dicts = [t.to_dict() for t in found]
        offset = tz * 60 if tz is not None else local_offset_s(start)
        goal = target if target is not None else target_s
        presence = None
        if redis is not None:
            try:
                presence = times_in_state(await changes_between(redis, start, end), start, end)
            except (aioredis.RedisError, OSError) as exc:  # the rest of the report does not need Redis
                log.warning("reports: presence log unavailable", extra={"error": type(exc).__name__})
        tables = reports.build(selected, since=start, until=end, queue=queue, target_s=goal, tz_offset_s=offset,
                               knowledge=usage, tickets=ticket_dicts, presence=presence)
        head = {"since": start, "until": end, "queue": queue, "target_s": goal, "tz_offset_s": offset}
        return head, tables

    @router.get("/api/reports")
    async def report(since: str | None = Query(None, description="ISO date/time or epoch seconds; default 7 days "
                                                                 "before `until`"),
                     until: str | None = Query(None, description="ISO date/time or epoch seconds (a bare date: "
                                                                 "to the end of that day); default now"),
                     queue: str | None = Query(None, max_length=100, description="only calls that entered "
                                                                                 "this ACD queue"),
                     target: float | None = Query(None, ge=0, le=3600, description="service-level target in "
                                                                                    "seconds (default 20)"),
                     tz: int | None = Query(None, ge=-900, le=900, description="the viewer's offset from UTC in "
                                                                             "minutes, for hours and days"),
                     ) -> dict[str, Any]:
        """Every report table for the period (calls started in it) and queue: calls by hour, day and
        channel, IVR containment and nodes, ACD queues, agents, knowledge, tickets and QA scores
        (definitions: `hotline.center.reports`), the headline figures, and what cannot be computed."""
        head, tables = await compute(since, until, queue, target, tz)
        return {**head, "summary": reports.summary(tables), "not_available": reports.not_available(tables),
                "tables": {name: table.to_dict() for name, table in tables.items()}}

    @router.get("/api/reports/{table}.csv", response_class=Response,
                responses={200: {"content": {"text/csv": {}}}})
    async def report_csv(table: str, since: str | None = None, until: str | None = None,
                         queue: str | None = Query(None, max_length=100),
                         target: float | None = Query(None, ge=0, le=3600),
                         tz: int | None = Query(None, ge=-900, le=900)) -> Response:
        """One table of the report as CSV (the same filters as `GET /api/reports`)."""
        if table not in reports.TABLES:
            raise HTTPException(status_code=404, detail=f"no report table {table!r} (tables: "
                                                        f"{', '.join(reports.TABLES)})")
        _, tables = await compute(since, until, queue, target, tz)
        out = io.StringIO()
        csv.writer(out).writerows(tables[table].csv_rows())
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f"attachment; filename=hotline-{table}.csv"})

    @router.get(CHART_JS_ROUTE, include_in_schema=False)
    async def chart_js() -> FileResponse:
        if not CHART_JS.is_file():
            raise HTTPException(status_code=503, detail=f"Chart.js is not installed ({CHART_JS}): run `make setup` "
                                                        "(Debian package libjs-chart.js)")
        return FileResponse(CHART_JS, media_type="text/javascript",
                            headers={"cache-control": "public, max-age=86400"})

    add_page(router, "/reports", "reports.html")
    return router
