"""A small app for the reports' HTTP and page tests: the real access layer (with the reports' rules
added to `RULES`), the real sign-in routes, the static files and the reports router, over a real
redis-server and SQLite stores (the full app's `create_app` is not edited by these tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from fastapi import Depends, FastAPI

from hotline.center.agents import AgentDirectory
from hotline.center.audit import AuditLog
from hotline.center.auth import AuthConfig, Authenticator
from hotline.center.store import SqliteCallStore
from hotline.center.tickets import TicketStore
from hotline.web import access
from hotline.web.access import RULES, Access, AccessDenied, denied_handler
from hotline.web.auth_api import auth_router
from hotline.web.docs import mount_static
from hotline.web.pages import forbidden_page, login_page
from hotline.web.reports_api import REPORT_RULES, reports_router


def with_reports_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """/reports answers an anonymous browser with the login form, as the pages in `access.PAGES` do
    (a no-op once /reports is one of them)."""
    monkeypatch.setattr(access, "PAGE_PATHS", access.PAGE_PATHS | {"/reports"})


def store_records(path: Path, records: list[dict[str, Any]]) -> SqliteCallStore:
    """A call store holding `records` as they are (dicts in `CallRecord.to_dict()`'s shape)."""
    store = SqliteCallStore(path)
    for r in records:
        store.save_fields(r["id"], r["started_at"], r["status"], dict(r))
    return store


def reports_app(client: aioredis.Redis, agents: AgentDirectory, store: SqliteCallStore, data_dir: Path,
                tickets: TicketStore | None = None) -> FastAPI:
    audit = AuditLog(data_dir / "audit.db")
    access = Access(Authenticator(client, agents, AuthConfig()), audit, rules={**RULES, **REPORT_RULES})
    app = FastAPI(dependencies=[Depends(access.authorize)])
    app.state.access = access
    app.add_exception_handler(AccessDenied, denied_handler(login_page, forbidden_page))
    mount_static(app)
    app.include_router(auth_router(access, agents))
    app.include_router(reports_router(store, tickets))
    return app
