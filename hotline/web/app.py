"""HTTP API (FastAPI): the composition of the routers behind one authorisation layer
(`hotline.web.access`), health and call records, and the app's lifespan (what the app opens itself
it closes itself). OpenAPI docs at /docs (served offline)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from hotline import __version__
from hotline.assist.matcher import Matcher
from hotline.assist.registry import KnowledgeRegistry
from hotline.center.acd import Acd
from hotline.center.agents import AgentDirectory
from hotline.center.assist_service import AssistService
from hotline.center.audit import AuditLog
from hotline.center.auth import AuthConfig, Authenticator
from hotline.center.call_events import CallEvents
from hotline.center.cluster_versions import ClusterVersions
from hotline.center.nodes import NodeDirectory
from hotline.center.store import CallStore
from hotline.center.tickets import TicketStore
from hotline.ivr.registry import FlowRegistry
from hotline.web.access import Access, AccessDenied, denied_handler
from hotline.web.auth_api import auth_router
from hotline.web.cluster_files import ensure_local, internal_router, recording_path
from hotline.web.desk_api import CustomerLookup, desk_router
from hotline.web.docs import docs_router, mount_static
from hotline.web.flows_api import flows_router
from hotline.web.knowledge_api import knowledge_router
from hotline.web.metrics_api import metrics_router
from hotline.web.monitor_api import monitor_router
from hotline.web.pages import FAVICON, add_page, forbidden_page, login_page
from hotline.web.qa_api import qa_router
from hotline.web.reports_api import reports_router
from hotline.web.softphone import softphone_router
from hotline.web.supervisor_api import supervisor_router
from hotline.web.tickets_api import tickets_router

log = logging.getLogger(__name__)


@dataclass
class AppState:
    store: CallStore
    redis: aioredis.Redis
    sip_address: str
    sip_listening: Callable[[], Awaitable[bool]]
    asr_engine: str
    asr_model: str
    data_dir: Path
    flows: FlowRegistry | None = None
    tickets: TicketStore | None = None
    agents: AgentDirectory | None = None
    acd: Acd | None = None
    call_events: CallEvents | None = None
    crm: CustomerLookup | None = None
    knowledge: KnowledgeRegistry[Matcher] | None = None
    assist: AssistService | None = None
    qa_rubric: Path | None = None  # the QA scoring rubric (YAML); None: the built-in one
    auth: AuthConfig = field(default_factory=AuthConfig)
    audit: AuditLog | None = None  # None: data_dir/audit.db
    # the recognition service's queue and timings (None: it does not answer); absent: no service
    recognition: Callable[[], Awaitable[dict[str, Any] | None]] | None = None
    caller_signing_secret: str | None = None  # browser callers' signed customer ids (None: refused)
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")  # who may scrape /metrics
    edge_stats: Callable[[], Awaitable[Mapping[str, int]]] | None = None  # the SIP edge's counters
    nodes: NodeDirectory | None = None  # the cluster (None: tests of one app without one)
    cluster: ClusterVersions | None = None  # flow / knowledge versions shared by the nodes (None: this node's own)


class Health(BaseModel):
    status: str
    version: str
    store: dict[str, Any]
    redis: dict[str, Any]
    asr: dict[str, Any]
    sip: dict[str, Any]


def create_app(state: AppState) -> FastAPI:
    agents = state.agents if state.agents is not None else AgentDirectory(state.redis)
    owned = AsyncExitStack()  # what the app opens itself: closed when its lifespan ends
    audit = state.audit
    if audit is None:
        audit = AuditLog(state.data_dir / "audit.db")
        owned.callback(audit.close)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with owned:
            log.info("http app started")
            yield
            log.info("http app stopping")

    access = Access(Authenticator(state.redis, agents, state.auth), audit)
    # every route depends on the access check: a route with no rule in access.RULES is refused
    app = FastAPI(title="hotline", version=__version__, dependencies=[Depends(access.authorize)], lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None,
                  description="Offline-first contact-center server: calls, flows, tickets and health. Log in with "
                              "`POST /api/auth/token` and send `Authorization: Bearer <token>`; the pages use a "
                              "session cookie.")
    app.state.access = access
    app.add_exception_handler(AccessDenied, denied_handler(login_page, forbidden_page))
    mount_static(app)

    @app.get("/api/health", response_model=Health)
    async def health() -> Health:
        redis_ok, workers = True, []
        try:
            await state.redis.ping()
            beats = await (state.nodes or NodeDirectory(state.redis, "")).workers()
            workers = [{"id": wid, **info} for wid, info in sorted(beats.items()) if info["live"]]
        except (aioredis.RedisError, OSError) as exc:
            redis_ok = False
            redis_error = type(exc).__name__
        listening = await state.sip_listening()
        engines = sorted({w.get("asr_engine", "") for w in workers} - {""}) or [state.asr_engine]
        models = sorted({w.get("asr_model", "") for w in workers} - {""}) or [state.asr_model]
        asr: dict[str, Any] = {"engine": engines[0], "model": models[0]}
        if state.recognition is not None:
            service = await state.recognition()
            asr["service"] = service if service is not None else {"ok": False}
            if service is not None:
                asr["service"]["ok"] = True
        try:  # the call store answers (SQLite: off the loop)
            await asyncio.to_thread(state.store.recent, 1)
            store: dict[str, Any] = {"ok": True}
        except Exception as exc:  # noqa: BLE001 (health reports it; it must not fail itself)
            store = {"ok": False, "error": type(exc).__name__}
        ok = (redis_ok and listening and bool(workers) and asr.get("service", {}).get("ok", True)
              and store["ok"])
        return Health(
            status="ok" if ok else "degraded",
            version=__version__,
            store=store,
            redis={"ok": redis_ok, **({} if redis_ok else {"error": redis_error})},
            asr=asr,
            sip={"listening": listening, "address": state.sip_address, "workers": workers,
                 "node": state.nodes.node if state.nodes else "",
                 "capacity": sum(int(w.get("max_calls", 0)) for w in workers)},
        )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(FAVICON, media_type="image/x-icon", headers={"cache-control": "public, max-age=86400"})

    @app.get("/api/calls")
    async def list_calls(limit: int = Query(20, ge=1, le=1000)) -> list[dict[str, Any]]:
        """Most recent calls first."""
        return state.store.recent(limit)

    @app.get("/api/calls/{call_id}")
    async def get_call(call_id: str) -> dict[str, Any]:
        record = state.store.get(call_id)
        if record is None:
            raise HTTPException(status_code=404, detail=f"no call with id {call_id!r}")
        return record

    @app.get("/api/calls/{call_id}/recording/{party}", response_class=FileResponse,
             responses={200: {"content": {"audio/wav": {}}}})
    async def get_recording(call_id: str, party: str) -> FileResponse:
        """The recording of one party of a call (mono WAV at the media rate); QA and admin users only."""
        record = await asyncio.to_thread(state.store.get, call_id)
        if record is not None:  # a call held on another node: its file is copied here first
            await ensure_local(state.nodes, state.data_dir, record, party)
        path = recording_path(state.store, state.data_dir, call_id, party)
        return FileResponse(path, media_type="audio/wav", filename=f"{call_id}.{party}.wav")

    app.include_router(auth_router(access, agents))
    app.include_router(docs_router(app))
    app.include_router(softphone_router(state.redis, state.caller_signing_secret))
    if state.flows is not None:
        app.include_router(flows_router(state.flows, access,
                                        state.cluster.publish_flows if state.cluster is not None else None))
    if state.tickets is not None:
        app.include_router(tickets_router(state.tickets, access))
    app.include_router(qa_router(state.store, access, state.data_dir, state.qa_rubric, state.tickets, state.nodes))
    app.include_router(internal_router(state.redis, state.store, state.data_dir))
    app.include_router(reports_router(state.store, state.tickets, state.knowledge, redis=state.redis))
    app.include_router(supervisor_router(state.redis, agents, state.store, state.tickets, state.flows, state.data_dir))
    app.include_router(metrics_router(state.redis, agents, state.metrics_allow, state.edge_stats))
    app.include_router(monitor_router(state.redis, access))
    if state.knowledge is not None:
        app.include_router(knowledge_router(state.knowledge, state.store, access,
                                            state.cluster.publish_knowledge if state.cluster is not None else None))
    if state.acd is not None and state.call_events is not None:
        app.include_router(desk_router(state.redis, agents, state.acd, state.call_events, state.store,
                                       state.tickets, access, state.crm, state.assist, state.nodes))
        desk_page = APIRouter()
        add_page(desk_page, "/desk", "desk.html")
        app.include_router(desk_page)
    return app
