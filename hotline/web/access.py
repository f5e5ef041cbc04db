"""Who may use which route: the one authorisation layer of the HTTP app.

`RULES` names, for every route (method and path template, `WS` for WebSockets), the roles that may
use it, or `PUBLIC`. The app installs `Access.authorize` as a dependency of every route, so a
route without a rule is refused for everybody (fail closed) and `tests/web/test_access_matrix.py`
checks that every route has one and that README's matrix says the same.

A caller is known by a session token: in the `hotline_session` cookie (browsers: HttpOnly,
SameSite=Lax) or in `Authorization: Bearer ...` (API clients). Requests that change something and
come with the cookie must also carry the session's CSRF token in `X-CSRF-Token` (the pages' shared
script adds it); desk WebSockets opened with the cookie must come from our own origin.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import redis.asyncio as aioredis
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection

from hotline.center.agents import Agent
from hotline.center.audit import AuditLog
from hotline.center.auth import Authenticator, Session, same_token

log = logging.getLogger(__name__)

SESSION_COOKIE = "hotline_session"
CSRF_COOKIE = "hotline_csrf"
CSRF_HEADER = "x-csrf-token"
AGENT, QA, SUPERVISOR, ADMIN = "agent", "qa", "supervisor", "admin"
STAFF = frozenset({AGENT, QA, SUPERVISOR, ADMIN})
PUBLIC: frozenset[str] = frozenset()
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    roles: frozenset[str]


# the staff pages, in navigation order; a user sees the ones their roles open
PAGES = (
    Page("/desk", "Agent desk", frozenset({AGENT})),
    Page("/tickets", "Tickets", frozenset({AGENT, SUPERVISOR, ADMIN})),
    Page("/qa", "Quality review", frozenset({QA, ADMIN})),
    Page("/supervisor", "Wallboard", frozenset({SUPERVISOR, ADMIN})),
    Page("/reports", "Reports", frozenset({SUPERVISOR, ADMIN})),
    Page("/admin/flows", "Flows", frozenset({ADMIN})),
    Page("/admin/knowledge", "Knowledge base", frozenset({ADMIN})),
    Page("/admin/audit", "Audit log", frozenset({ADMIN})),
    Page("/docs", "API", STAFF),
)


def _r(*roles: str) -> frozenset[str]:
    return frozenset(roles)


DESK = _r(AGENT, SUPERVISOR, ADMIN)
CALLS = _r(QA, SUPERVISOR, ADMIN)
REVIEW = _r(QA, ADMIN)
LEADS = _r(SUPERVISOR, ADMIN)
ONLY_ADMIN = _r(ADMIN)

RULES: dict[tuple[str, str], frozenset[str]] = {
    # customers and load balancers
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/call"): PUBLIC,
    ("POST", "/api/webrtc/calls"): PUBLIC,
    # signing in
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/token"): PUBLIC,
    ("GET", "/api/auth/me"): STAFF,
    ("POST", "/api/auth/logout"): STAFF,
    ("POST", "/api/auth/logout-all"): STAFF,
    ("POST", "/api/auth/password"): STAFF,
    # API documentation
    ("GET", "/docs"): STAFF,
    ("GET", "/redoc"): STAFF,
    ("GET", "/openapi.json"): STAFF,
    # call records and recordings
    ("GET", "/api/calls"): CALLS,
    ("GET", "/api/calls/{call_id}"): CALLS,
    ("GET", "/api/calls/{call_id}/recording/{party}"): REVIEW,
    # another node of the cluster copying a recording: a one-time ticket it put in Redis, no login
    ("GET", "/internal/recordings/{call_id}/{party}"): PUBLIC,
    # accounts
    ("GET", "/api/agents"): LEADS,
    ("POST", "/api/agents"): ONLY_ADMIN,
    ("DELETE", "/api/agents/{username}"): ONLY_ADMIN,
    ("DELETE", "/api/agents/{username}/sessions"): ONLY_ADMIN,
    ("GET", "/api/audit"): ONLY_ADMIN,
    ("GET", "/admin/audit"): ONLY_ADMIN,
    # the agent desk
    ("GET", "/desk"): _r(AGENT),
    ("WS", "/ws/agent"): _r(AGENT),
    ("GET", "/api/agent/calls/{call_id}/context"): DESK,
    ("GET", "/api/agent/knowledge/search"): DESK,
    # tickets
    ("GET", "/tickets"): DESK,
    ("GET", "/api/tickets"): STAFF,
    ("GET", "/api/tickets/assignees"): STAFF,
    ("GET", "/api/tickets/{ref}"): STAFF,
    ("POST", "/api/tickets"): DESK,
    ("PATCH", "/api/tickets/{ref}"): DESK,
    # quality review
    ("GET", "/qa"): REVIEW,
    ("GET", "/api/qa/calls"): REVIEW,
    ("GET", "/api/qa/calls/{call_id}"): REVIEW,
    ("GET", "/api/qa/calls/{call_id}/waveform/{party}"): REVIEW,
    ("GET", "/api/qa/calls/{call_id}/stereo.wav"): REVIEW,
    ("GET", "/api/qa/rubric"): REVIEW,
    ("POST", "/api/qa/calls/{call_id}/reviews"): REVIEW,
    ("GET", "/api/qa/export.csv"): REVIEW,
    # IVR flows
    ("GET", "/admin/flows"): ONLY_ADMIN,
    ("GET", "/api/flows"): LEADS,
    ("GET", "/api/flows/{name}"): LEADS,
    ("GET", "/api/flows/{name}/versions/{version}"): LEADS,
    ("GET", "/api/flows/{name}/graph.svg"): LEADS,
    ("POST", "/api/flows/{name}/rollback"): ONLY_ADMIN,
    # knowledge base
    ("GET", "/admin/knowledge"): ONLY_ADMIN,
    ("GET", "/api/knowledge"): DESK,
    ("GET", "/api/knowledge/suggest"): DESK,
    ("GET", "/api/knowledge/report"): LEADS,
    ("GET", "/api/knowledge/{article_id}"): DESK,
    ("PUT", "/api/knowledge/{article_id}"): ONLY_ADMIN,
    ("DELETE", "/api/knowledge/{article_id}"): ONLY_ADMIN,
    # the live wallboard
    ("GET", "/supervisor"): LEADS,
    ("GET", "/api/supervisor/live"): LEADS,
    # reports (the chart library is a public static file)
    ("GET", "/reports"): LEADS,
    ("GET", "/api/reports"): LEADS,
    ("GET", "/api/reports/{table}.csv"): LEADS,
    # listen / whisper / barge on a live call
    ("POST", "/api/supervisor/calls/{call_id}/monitor"): LEADS,
    ("POST", "/api/supervisor/calls/{call_id}/mode"): LEADS,
    ("DELETE", "/api/supervisor/calls/{call_id}/monitor"): LEADS,
    ("GET", "/vendor/chart.js/chart.min.js"): PUBLIC,
    # Prometheus: no login, but only for the addresses in the metrics_allow setting
    ("GET", "/metrics"): PUBLIC,
}
PAGE_PATHS = frozenset({p.path for p in PAGES} | {"/redoc", "/", "/login", "/call"})
for _page in PAGES:
    assert RULES[("GET", _page.path)] == _page.roles, _page.path


@dataclass(frozen=True)
class Principal:
    """The logged-in user of a request."""

    agent: Agent
    session: Session
    via: str  # "cookie" or "bearer"

    @property
    def username(self) -> str:
        return self.agent.username

    def pages(self) -> list[dict[str, str]]:
        return [{"path": p.path, "title": p.title} for p in PAGES if self.agent.has_role(*p.roles)]


class AccessDenied(HTTPException):
    def __init__(self, status: int, detail: str, page: bool) -> None:
        headers = {"WWW-Authenticate": 'Bearer realm="hotline"'} if status == 401 else None
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.page = page


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else ""


def _token(conn: HTTPConnection) -> tuple[str, str]:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), "bearer"
    return conn.cookies.get(SESSION_COOKIE, ""), "cookie"


def _same_origin(conn: HTTPConnection) -> bool:
    origin = conn.headers.get("origin")
    if origin is None:  # not a browser
        return True
    host = conn.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


class Access:
    """The authorisation dependency, the audit log and the sign-in service, shared by the routers."""

    def __init__(self, auth: Authenticator, audit: AuditLog,
                 rules: dict[tuple[str, str], frozenset[str]] | None = None) -> None:
        self.auth, self.audit = auth, audit
        self.rules = RULES if rules is None else rules

    async def authorize(self, conn: HTTPConnection) -> Principal | None:
        websocket = conn.scope["type"] == "websocket"
        method = "WS" if websocket else str(conn.scope.get("method", "GET"))
        method = "GET" if method == "HEAD" else method
        path = str(getattr(conn.scope.get("route"), "path", ""))
        page = path in PAGE_PATHS
        roles = self.rules.get((method, path))
        if roles is None:  # fail closed: a route nobody gave a rule is nobody's
            log.error("route without an access rule", extra={"method": method, "path": path})
            raise self._deny(websocket, 403, "this route has no access rule", page)
        if roles == PUBLIC:
            return None
        token, via = _token(conn)
        try:
            found = await self.auth.resolve(token) if token else None
        except (aioredis.RedisError, OSError) as exc:
            raise self._deny(websocket, 503, "sessions unavailable (Redis)", page) from exc
        if found is None:
            raise self._deny(websocket, 401, "log in first" if not token else "your session ended: log in again", page)
        session, agent = found
        if not agent.has_role(*roles):
            raise self._deny(websocket, 403, f"needs the role {' or '.join(sorted(roles))}", page)
        if via == "cookie":
            if websocket and not _same_origin(conn):
                raise self._deny(websocket, 403, "cross-site WebSocket refused", page)
            if method in UNSAFE and not same_token(conn.headers.get(CSRF_HEADER, ""), session.csrf):
                raise self._deny(websocket, 403, "missing or wrong X-CSRF-Token header", page)
        principal = Principal(agent, session, via)
        conn.state.principal = principal
        return principal

    @staticmethod
    def _deny(websocket: bool, status: int, detail: str, page: bool) -> Exception:
        if websocket:
            return WebSocketException(code=4000 + status, reason=detail)
        return AccessDenied(status, detail, page)

    async def record(self, conn: HTTPConnection, action: str, target: str = "",
                     detail: dict[str, Any] | None = None, actor: str | None = None) -> None:
        """An audit entry for the request's user (or `actor`)."""
        principal: Principal | None = getattr(conn.state, "principal", None)
        who = actor or (principal.username if principal else "anonymous")
        try:
            await asyncio.to_thread(self.audit.record, who, action, target, client_address(conn), detail)
        except Exception:  # noqa: BLE001 (the action is done; a full disk must not turn it into an error)
            log.exception("audit entry not written", extra={"action": action})


def current_user(conn: HTTPConnection) -> Principal:
    """The request's user, as the access check (an app-wide dependency, solved first) found it."""
    principal: Principal | None = getattr(conn.state, "principal", None)
    if principal is None:  # a public route asked for a user: a wiring mistake
        raise AccessDenied(401, "log in first", False)
    return principal


# a route parameter `user: CurrentUser` is the logged-in user
CurrentUser = Annotated[Principal, Depends(current_user)]


def denied_handler(login_page: Callable[[], str], forbidden_page: Callable[[str], str]
                   ) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AccessDenied)
        if exc.page and "text/html" in request.headers.get("accept", "text/html"):
            body = login_page() if exc.status_code == 401 else forbidden_page(str(exc.detail))
            return HTMLResponse(body, status_code=exc.status_code, headers=exc.headers)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    return handle
