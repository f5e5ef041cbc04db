"""Signing in and out, accounts and the audit log over HTTP; the login, home and audit pages.

Browsers log in with `POST /api/auth/login` and get two cookies: the session (HttpOnly) and its
CSRF token (readable by the page, echoed in X-CSRF-Token). API clients use `POST /api/auth/token`
and send `Authorization: Bearer <token>`. Tokens never appear in a URL.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hotline.center.agents import Agent, AgentDirectory, hash_password
from hotline.center.audit import AuditQuery
from hotline.center.auth import AuthError, LoginLocked, WeakPassword, check_new_password
from hotline.web.access import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Access,
    CurrentUser,
    client_address,
)
from hotline.web.pages import add_page

Role = Literal["agent", "qa", "supervisor", "admin"]


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class PasswordChange(BaseModel):
    current: str = Field(min_length=1, max_length=200)
    new: str = Field(min_length=1, max_length=200)


def _agent_role() -> list[Role]:
    return ["agent"]


class NewAgent(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=100)
    skills: list[str] = Field(default_factory=list)
    password: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(default_factory=_agent_role)


def auth_router(access: Access, agents: AgentDirectory) -> APIRouter:
    router = APIRouter(tags=["auth"])
    auth = access.auth

    async def sign_in(request: Request, body: Login, kind: str) -> tuple[str, Any, Agent]:
        try:
            return await auth.login(body.username, body.password, client_address(request), kind)
        except LoginLocked as exc:
            await access.record(request, "login.locked", body.username, actor=body.username)
            raise HTTPException(status_code=429, detail=str(exc),
                                headers={"Retry-After": str(max(1, round(exc.retry_after_s)))}) from exc
        except AuthError as exc:
            await access.record(request, "login.failed", body.username, actor=body.username)
            raise HTTPException(status_code=401, detail=str(exc)) from exc

    @router.post("/api/auth/login")
    async def login(request: Request, body: Login) -> JSONResponse:
        """Browser login: sets the session cookie (HttpOnly) and the CSRF cookie; the body has the user."""
        token, session, agent = await sign_in(request, body, "browser")
        await access.record(request, "login", agent.username, {"kind": "browser"}, actor=agent.username)
        secure = auth.config.secure_cookies or request.url.scheme == "https"
        ttl = int(auth.config.session_ttl_s)
        response = JSONResponse({"user": agent.public(), "expires": session.expires})
        response.set_cookie(SESSION_COOKIE, token, max_age=ttl, httponly=True, samesite="lax", secure=secure, path="/")
        response.set_cookie(CSRF_COOKIE, session.csrf, max_age=ttl, httponly=False, samesite="lax", secure=secure,
                            path="/")
        return response

    @router.post("/api/auth/token")
    async def token(request: Request, body: Login) -> dict[str, Any]:
        """API client login: a bearer token for the `Authorization` header (no cookie, no CSRF)."""
        value, session, agent = await sign_in(request, body, "api")
        await access.record(request, "login", agent.username, {"kind": "api"}, actor=agent.username)
        return {"token": value, "token_type": "bearer", "expires": session.expires, "user": agent.public()}

    @router.get("/api/auth/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        """The logged-in user, the pages of their roles and when the session ends."""
        return {**user.agent.public(), "pages": user.pages(), "expires": user.session.expires,
                "sessions": await auth.sessions.count(user.username)}

    @router.post("/api/auth/logout")
    async def logout(request: Request, user: CurrentUser) -> JSONResponse:
        await auth.sessions.revoke(user.session)
        await access.record(request, "logout", user.username)
        response = JSONResponse({"logged_out": 1})
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    @router.post("/api/auth/logout-all")
    async def logout_all(request: Request, user: CurrentUser) -> JSONResponse:
        """End every session of this user, on every device and API client."""
        ended = await auth.sessions.revoke_all(user.username)
        await access.record(request, "logout.everywhere", user.username, {"sessions": ended})
        response = JSONResponse({"logged_out": ended})
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    @router.post("/api/auth/password")
    async def change_password(request: Request, body: PasswordChange,
                              user: CurrentUser) -> dict[str, Any]:
        """Change one's own password; every other session of the user ends."""
        try:
            ended = await auth.change_password(user.agent, body.current, body.new, keep=user.session)
        except WeakPassword as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        except AuthError as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from exc
        await access.record(request, "password.changed", user.username, {"other_sessions_ended": ended})
        return {"changed": True, "other_sessions_ended": ended}

    @router.get("/api/agents")
    async def list_agents() -> list[dict[str, Any]]:
        """Accounts with their presence (state, since, call; the not-ready reason and the state chosen
        for after the call in progress)."""
        presence = await agents.all_presence()
        out = []
        for a in await agents.all():
            p = presence.get(a.username)
            out.append({**a.public(), "presence": {"state": p.state, "since": p.since, "call": p.call,
                                                   "reason": p.reason, "next_state": p.next_state} if p else
                        {"state": "offline", "since": 0, "call": "", "reason": "", "next_state": ""}})
        return out

    @router.post("/api/agents", status_code=201)
    async def create_agent(request: Request, body: NewAgent) -> dict[str, Any]:
        """Create an account (admin only); the password must meet the minimum length."""
        try:
            check_new_password(body.password, auth.config, body.username)
        except WeakPassword as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        if await agents.get(body.username) is not None:
            raise HTTPException(status_code=409, detail=f"agent {body.username!r} exists")
        agent = Agent(body.username, body.name, body.skills, await asyncio.to_thread(hash_password, body.password),
                      list(dict.fromkeys(body.roles)))
        await agents.save(agent)
        await access.record(request, "agent.created", agent.username,
                            {"roles": agent.roles, "skills": agent.skills, "before": None, "after": agent.public()})
        return agent.public()

    @router.delete("/api/agents/{username}")
    async def delete_agent(request: Request, username: str, user: CurrentUser
                           ) -> dict[str, Any]:
        """Delete an account and end its sessions (not one's own)."""
        if username == user.username:
            raise HTTPException(status_code=409, detail="you cannot delete your own account")
        existing = await agents.get(username)
        if existing is None or not await agents.delete(username):
            raise HTTPException(status_code=404, detail=f"no agent {username!r}")
        ended = await auth.sessions.revoke_all(username)
        await access.record(request, "agent.deleted", username,
                            {"sessions_ended": ended, "before": existing.public(), "after": None})
        return {"deleted": username, "sessions_ended": ended}

    @router.delete("/api/agents/{username}/sessions")
    async def revoke_sessions(request: Request, username: str) -> dict[str, Any]:
        """Log a user out everywhere (a lost laptop, a leaver)."""
        if await agents.get(username) is None:
            raise HTTPException(status_code=404, detail=f"no agent {username!r}")
        ended = await auth.sessions.revoke_all(username)
        await access.record(request, "sessions.revoked", username, {"sessions_ended": ended})
        return {"username": username, "sessions_ended": ended}

    @router.get("/api/audit")
    async def audit(actor: str | None = None, action: str | None = Query(None, description="a prefix, e.g. knowledge."),
                    since: float | None = None, until: float | None = None,
                    limit: int = Query(200, ge=1, le=5000)) -> list[dict[str, Any]]:
        """Who did what, newest first: logins, accounts, flows, knowledge and ticket changes."""
        q = AuditQuery(actor or None, action or None, since, until, limit)
        return await asyncio.to_thread(access.audit.query, q)

    add_page(router, "/admin/audit", "audit.html")
    add_page(router, "/login", "login.html")
    add_page(router, "/", "home.html")
    return router
