"""Signing in against a real redis-server: throttling and lock-out without hashing, cookie sessions
with CSRF, logout (one, everywhere, by an admin), expiry, password rules, the audit log, the
production mode's first admin from the CLI, and no token in any page's URLs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from hotline.center.agents import Agent, AgentDirectory, hash_password
from hotline.center.auth import AuthConfig
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.settings import Settings
from hotline.center.store import SqliteCallStore
from hotline.center.supervisor import prepare_accounts
from hotline.web.access import Access
from hotline.web.app import AppState, create_app
from tests.support.staff import add_staff, bearer

REPO = Path(__file__).resolve().parents[2]
FAST = AuthConfig(lockout_s=1.5, failure_delay_s=0.01, session_ttl_s=3600)


class Env:
    def __init__(self, http: httpx.AsyncClient, access: Access, agents: AgentDirectory, redis_url: str) -> None:
        self.http, self.access, self.agents, self.redis_url = http, access, agents, redis_url


async def make_env(tmp_path: Path, server: EmbeddedRedis, config: AuthConfig) -> tuple[Env, aioredis.Redis]:
    client = aioredis.from_url(server.url)
    agents = AgentDirectory(client)
    await add_staff(agents)

    async def listening() -> bool:
        return True

    app = create_app(AppState(SqliteCallStore(tmp_path / "calls.db"), client, "127.0.0.1:5060", listening, "whisper",
                              "base", tmp_path, agents=agents, auth=config))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    return Env(http, app.state.access, agents, server.url), client


@pytest.fixture
async def env(tmp_path: Path, redis_server: EmbeddedRedis) -> AsyncIterator[Env]:
    e, client = await make_env(tmp_path, redis_server, FAST)
    yield e
    await e.http.aclose()
    await client.aclose()


async def test_twenty_wrong_passwords_lock_the_account_without_hashing(env: Env) -> None:
    auth = env.access.auth
    statuses = []
    for _ in range(20):
        r = await env.http.post("/api/auth/token", json={"username": "alice", "password": "guess-guess"})
        statuses.append(r.status_code)
    # max_failures passwords are checked and refused, the last of them locks the account (429 says so);
    # every later attempt is refused before any hash is computed
    n = FAST.max_failures
    assert statuses == [401] * (n - 1) + [429] * (20 - n + 1)
    assert auth.hash_checks == n
    locked = await env.http.post("/api/auth/token", json={"username": "alice", "password": "alice-password-1"})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1  # even the right one, for now
    assert "try again in" in locked.json()["detail"]
    other = await env.http.post("/api/auth/token", json={"username": "quinn", "password": "quinn-password-1"})
    assert other.status_code == 200  # other accounts are not locked
    await asyncio.sleep(FAST.lockout_s + 0.2)
    later = await env.http.post("/api/auth/token", json={"username": "alice", "password": "alice-password-1"})
    assert later.status_code == 200 and later.json()["token"]
    audit = (await env.http.get("/api/audit", params={"action": "login"}, headers=await bearer(env.http, "ada"))).json()
    actions = [e["action"] for e in audit if e["target"] == "alice"]
    assert actions.count("login.failed") == n - 1 and actions.count("login.locked") == 20 - n + 2 and "login" in actions
    assert all("alice-password-1" not in str(e) and "guess-guess" not in str(e) for e in audit)


async def test_failures_slow_down_before_the_lock(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    e, client = await make_env(tmp_path, redis_server, AuthConfig(failure_delay_s=0.2, max_failures=5))
    loop = asyncio.get_running_loop()
    waits = []
    for _ in range(3):
        start = loop.time()
        await e.http.post("/api/auth/token", json={"username": "bob", "password": "wrong-wrong"})
        waits.append(loop.time() - start)
    assert waits[0] >= 0.2 and waits[1] >= 0.4 and waits[2] >= 0.6  # the n-th failure waits n x 0.2 s
    await e.http.aclose()
    await client.aclose()


async def test_cookie_session_needs_csrf_for_changes_and_logout_ends_it(env: Env) -> None:
    http = env.http
    r = await http.post("/api/auth/login", json={"username": "ada", "password": "ada-password-1"})
    assert r.status_code == 200 and r.json()["user"]["roles"] == ["admin"] and "token" not in r.json()
    session_cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("hotline_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    csrf = http.cookies["hotline_csrf"]
    me = (await http.get("/api/auth/me")).json()
    assert me["username"] == "ada" and {p["path"] for p in me["pages"]} >= {"/admin/flows", "/admin/knowledge"}
    assert "/desk" not in {p["path"] for p in me["pages"]}  # not an agent
    body = {"username": "dora", "name": "Dora", "password": "dora-password-1", "roles": ["agent"]}
    refused = await http.post("/api/agents", json=body)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert (await http.post("/api/agents", json=body, headers={"x-csrf-token": "forged"})).status_code == 403
    assert await env.agents.get("dora") is None
    made = await http.post("/api/agents", json=body, headers={"x-csrf-token": csrf})
    assert made.status_code == 201
    short = await http.post("/api/agents", json={**body, "username": "eve", "password": "short"},
                            headers={"x-csrf-token": csrf})
    assert short.status_code == 422 and "at least 10 characters" in short.json()["detail"]
    out = await http.post("/api/auth/logout", headers={"x-csrf-token": csrf})
    assert out.status_code == 200
    assert (await http.get("/api/auth/me")).status_code == 401
    audit = (await http.get("/api/audit", headers=await bearer(http, "ada"))).json()
    created = next(e for e in audit if e["action"] == "agent.created")
    assert created["actor"] == "ada" and created["target"] == "dora" and created["detail"]["roles"] == ["agent"]
    assert created["detail"]["before"] is None and created["detail"]["after"]["username"] == "dora"
    assert "dora-password-1" not in str(audit)


async def test_logout_everywhere_and_admin_revoke_end_every_session(env: Env) -> None:
    http = env.http
    first, second = await bearer(http, "alice"), await bearer(http, "alice")
    assert (await http.get("/api/auth/me", headers=first)).status_code == 200
    assert (await http.post("/api/auth/logout-all", headers=second)).json()["logged_out"] == 2
    assert (await http.get("/api/auth/me", headers=first)).status_code == 401
    again = await bearer(http, "alice")
    admin = await bearer(http, "ada")
    assert (await http.delete("/api/agents/alice/sessions", headers=await bearer(http, "sam"))).status_code == 403
    assert (await http.delete("/api/agents/alice/sessions", headers=admin)).json()["sessions_ended"] == 1
    assert (await http.get("/api/auth/me", headers=again)).status_code == 401
    # a password change ends the other sessions, keeps this one
    mine, other = await bearer(http, "alice"), await bearer(http, "alice")
    weak = await http.post("/api/auth/password", json={"current": "alice-password-1", "new": "short"}, headers=mine)
    assert weak.status_code == 422
    wrong = await http.post("/api/auth/password", json={"current": "nope", "new": "a-new-password"}, headers=mine)
    assert wrong.status_code == 403
    changed = await http.post("/api/auth/password", json={"current": "alice-password-1", "new": "a-new-password"},
                              headers=mine)
    assert changed.json() == {"changed": True, "other_sessions_ended": 1}
    assert (await http.get("/api/auth/me", headers=other)).status_code == 401
    assert (await http.get("/api/auth/me", headers=mine)).status_code == 200
    assert (await http.post("/api/auth/token", json={"username": "alice", "password": "a-new-password"})).status_code == 200


async def test_sessions_expire(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    e, client = await make_env(tmp_path, redis_server, AuthConfig(session_ttl_s=1.0))
    token = await bearer(e.http, "alice")
    assert (await e.http.get("/api/auth/me", headers=token)).status_code == 200
    await asyncio.sleep(1.3)
    expired = await e.http.get("/api/auth/me", headers=token)
    assert expired.status_code == 401 and "log in again" in expired.json()["detail"]
    assert not [k async for k in client.scan_iter("hotline:session:*")]  # Redis dropped it too
    await e.http.aclose()
    await client.aclose()


async def test_production_mode_needs_an_admin_made_with_the_cli(tmp_path: Path, redis_server: EmbeddedRedis) -> None:
    client = aioredis.from_url(redis_server.url)
    agents = AgentDirectory(client)
    demo = Settings(data=tmp_path, agents_file=REPO / "config" / "agents.yaml")
    assert await prepare_accounts(agents, demo)
    assert (await agents.get("ada")).demo  # type: ignore[union-attr]
    production = Settings(data=tmp_path, demo=False, redis=redis_server.url)
    assert not await prepare_accounts(agents, production)  # the demo accounts are gone, no admin: no start
    assert await agents.all() == []
    cli = [sys.executable, "-m", "hotline.center.cli", "users", "--redis", redis_server.url]
    short = subprocess.run([*cli, "add", "root", "--roles", "admin", "--password-stdin"], input="short\n",
                           capture_output=True, text=True, cwd=REPO, timeout=60)
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    made = subprocess.run([*cli, "add", "root", "--roles", "admin,supervisor", "--name", "Root Admin",
                           "--password-stdin"], input="a-long-root-password\n", capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert made.returncode == 0, made.stderr
    listed = subprocess.run([*cli, "list"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert "root\tRoot Admin\tadmin,supervisor" in listed.stdout
    assert await prepare_accounts(agents, production)
    root = await agents.get("root")
    assert root is not None and not root.demo and "a-long-root-password" not in root.password_hash
    await agents.save(Agent("old", "Old", [], hash_password("old-password-1"), ["agent"], demo=True))
    assert await prepare_accounts(agents, production) and await agents.get("old") is None
    await client.aclose()


def test_users_cli_starts_the_embedded_redis_when_no_server_runs(tmp_path: Path, _tools_present: None) -> None:
    cli = [sys.executable, "-m", "hotline.center.cli", "users", "--data", str(tmp_path)]
    made = subprocess.run([*cli, "add", "boss", "--roles", "admin", "--password-stdin"], input="boss-password-1\n",
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert made.returncode == 0, made.stderr
    # the account survives the embedded Redis stopping (append-only file in the data directory)
    listed = subprocess.run([*cli, "list"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert listed.returncode == 0 and listed.stdout.startswith("boss\tboss\tadmin")
