"""The role x route matrix: every route of the real app (from the OpenAPI schema plus the page and
WebSocket routes) called as anonymous, agent, qa, supervisor and admin, against a real
redis-server; what is allowed must match README's table and `hotline.web.access.RULES`."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from hotline.assist.matcher import Matcher
from hotline.assist.registry import KnowledgeRegistry
from hotline.center.acd import Acd
from hotline.center.agents import AgentDirectory
from hotline.center.call_events import CallEvents
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.store import SqliteCallStore
from hotline.center.tickets import SqliteTicketStore
from hotline.ivr.registry import FlowRegistry
from hotline.web.access import PAGES, RULES
from hotline.web.app import AppState, create_app
from hotline.web.pages import ASSETS_DIR
from tests.support.staff import ROLE_USERS, add_staff, bearer

REPO = Path(__file__).resolve().parents[2]
ROLES = ("agent", "qa", "supervisor", "admin")
SAMPLE = {"call_id": "c-none", "party": "caller", "username": "nobody", "ref": "999999", "name": "main",
          "version": "1", "article_id": "no-such-article", "table": "acd"}
# routes that end the session they are called with: each call gets a fresh login
ENDS_SESSION = {("POST", "/api/auth/logout"), ("POST", "/api/auth/logout-all")}


def readme_matrix() -> dict[tuple[str, str], set[str]]:
    """README's table: (method, route) -> who may ("anonymous" and/or roles)."""
    text = (REPO / "README.md").read_text()
    out = {}
    for m in re.finditer(r"^\| (GET|POST|PUT|PATCH|DELETE|WS) \| `([^`]+)` \|(.*)\|$", text, re.M):
        cells = [c.strip() for c in m.group(3).split("|")]
        assert len(cells) == 5, m.group(0)
        out[(m.group(1), m.group(2))] = {who for who, cell in zip(("anonymous", *ROLES), cells, strict=True)
                                         if cell == "yes"}
    return out


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every route: the OpenAPI schema's operations plus the pages and WebSockets it leaves out."""
    found = {(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops}
    routes = list(app.routes)
    while routes:
        route = routes.pop()
        if hasattr(route, "original_router"):  # an included router (FastAPI includes them lazily)
            routes.extend(route.original_router.routes)
        elif isinstance(route, APIWebSocketRoute):
            found.add(("WS", route.path))
        elif isinstance(route, APIRoute):
            found |= {(m, route.path) for m in route.methods - {"HEAD"}}
    return found


def build_app(tmp_path: Path, redis_url: str) -> tuple[FastAPI, AgentDirectory, list[aioredis.Redis]]:
    """The app with every router; Redis clients connect on first use, in whatever loop runs the app."""
    client, events_client = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    agents = AgentDirectory(client)
    shutil.copytree(REPO / "config" / "knowledge", tmp_path / "knowledge")
    knowledge: KnowledgeRegistry[Matcher] = KnowledgeRegistry(tmp_path / "knowledge", Matcher)
    assert knowledge.scan()
    flows = FlowRegistry(REPO / "flows", tmp_path / "flow-state")
    flows.scan()

    async def listening() -> bool:
        return True

    async def crm(caller: str) -> dict[str, str]:
        return {}

    app = create_app(AppState(SqliteCallStore(tmp_path / "calls.db"), client, "127.0.0.1:5060", listening, "whisper",
                              "base", tmp_path, flows=flows, tickets=SqliteTicketStore(tmp_path / "tickets.db"),
                              agents=agents, acd=Acd(client, agents), call_events=CallEvents(events_client), crm=crm,
                              knowledge=knowledge))
    return app, agents, [client, events_client]


@pytest.fixture
async def full_app(tmp_path: Path, _tools_present: None) -> AsyncIterator[tuple[FastAPI, AgentDirectory]]:
    server = EmbeddedRedis(tmp_path)
    await server.start()
    app, agents, clients = build_app(tmp_path, server.url)
    await add_staff(agents)
    yield app, agents
    for client in clients:
        await client.aclose()
    await server.stop()


def test_readme_matrix_is_the_code_s_rules() -> None:
    documented = readme_matrix()
    coded = {key: ({"anonymous", *ROLES} if not roles else set(roles)) for key, roles in RULES.items()}
    assert documented == coded


async def test_every_route_has_a_rule_and_the_app_enforces_it(full_app: tuple[FastAPI, AgentDirectory]) -> None:
    app, _ = full_app
    routes = app_routes(app)
    assert routes == set(RULES), (f"routes without a rule: {sorted(routes - set(RULES))}; "
                                  f"rules without a route: {sorted(set(RULES) - routes)}")
    matrix = readme_matrix()
    assert ("POST", "/api/agents") in routes and ("WS", "/ws/agent") in routes and ("GET", "/desk") in routes
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        tokens = {role: await bearer(http, user) for role, user in ROLE_USERS.items()}
        checked = 0
        for method, path in sorted(routes, key=lambda r: (r in ENDS_SESSION, r)):  # logging out comes last
            if method == "WS":
                continue
            url = path.format(**SAMPLE)
            for who in ("anonymous", *ROLES):
                if who == "anonymous":
                    headers = {"accept": "application/json"}
                elif (method, path) in ENDS_SESSION:
                    headers = await bearer(http, ROLE_USERS[who])
                else:
                    headers = tokens[who]
                r = await http.request(method, url, headers=headers, json={} if method in ("POST", "PUT", "PATCH")
                                       else None)
                allowed = who in matrix[(method, path)]
                where = f"{method} {url} as {who}: {r.status_code} {r.text[:200]}"
                if allowed:
                    assert r.status_code not in (401, 403) and r.status_code < 500, where
                elif who == "anonymous":
                    assert r.status_code == 401, where
                else:
                    assert r.status_code == 403, where
                checked += 1
    assert checked >= 5 * 50


async def test_anonymous_cannot_make_an_admin(full_app: tuple[FastAPI, AgentDirectory]) -> None:
    app, agents = full_app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        body = {"username": "mallory", "name": "M", "password": "long-enough-pw", "roles": ["admin"]}
        r = await http.post("/api/agents", json=body)
        assert r.status_code == 401
        r = await http.post("/api/agents", json=body, headers=await bearer(http, "sam"))  # a supervisor
        assert r.status_code == 403
        assert await agents.get("mallory") is None
        assert (await http.get("/api/calls")).status_code == 401
        assert (await http.get("/api/tickets")).status_code == 401
        assert (await http.get("/api/agents")).status_code == 401
        # a token in the query string is not a login
        token = (await http.post("/api/auth/token", json={"username": "ada", "password": "ada-password-1"})).json()
        assert (await http.get("/api/calls", params={"token": token["token"]})).status_code == 401


def test_desk_websocket_needs_an_agent_login(tmp_path: Path, redis_url: str) -> None:
    app, agents, _ = build_app(tmp_path, redis_url)
    with TestClient(app) as client:
        assert client.portal is not None
        client.portal.call(add_staff, agents)
        with pytest.raises(WebSocketDisconnect) as anonymous:
            with client.websocket_connect("/ws/agent"):
                pass
        assert anonymous.value.code == 4401
        qa_token = client.post("/api/auth/token", json={"username": "quinn", "password": "quinn-password-1"})
        with pytest.raises(WebSocketDisconnect) as wrong_role:
            with client.websocket_connect("/ws/agent", headers={"authorization": f"Bearer {qa_token.json()['token']}"}):
                pass
        assert wrong_role.value.code == 4403
        agent_token = client.post("/api/auth/token", json={"username": "alice", "password": "alice-password-1"})
        with client.websocket_connect("/ws/agent", headers={"authorization": f"Bearer {agent_token.json()['token']}"}) as ws:
            hello = ws.receive_json()
            assert hello["type"] == "hello" and hello["agent"]["username"] == "alice"
        # with the cookie, a page of another site may not open the desk's socket
        client.post("/api/auth/login", json={"username": "alice", "password": "alice-password-1"})
        with pytest.raises(WebSocketDisconnect) as cross_site:
            with client.websocket_connect("/ws/agent", headers={"origin": "http://evil.example"}):
                pass
        assert cross_site.value.code == 4403
        with client.websocket_connect("/ws/agent", headers={"origin": "http://testserver"}) as ws:
            assert ws.receive_json()["type"] == "hello"


async def test_staff_pages_answer_with_the_login_form_and_put_no_token_in_urls(full_app: tuple[FastAPI, AgentDirectory]) -> None:
    app, _ = full_app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        await check_pages(http)


async def check_pages(http: httpx.AsyncClient) -> None:
    html = {"accept": "text/html"}
    for p in PAGES:
        r = await http.get(p.path, headers=html)
        assert r.status_code == 401 and 'id="login-form"' in r.text, p.path
    call_page = await http.get("/call")
    assert call_page.status_code == 200 and "staff-nav" not in call_page.text and "/admin/" not in call_page.text
    sources = [call_page.text, (await http.get("/login")).text, (await http.get("/")).text]
    for asset in sorted(ASSETS_DIR.iterdir()):  # the pages' scripts and style sheet: public, served as files
        served = await http.get(f"/static/{asset.name}")
        assert served.status_code == 200 and served.text == asset.read_text(encoding="utf-8"), asset.name
        sources.append(served.text)
    assert (await http.get("/static/desk.html")).status_code == 404  # the HTML only behind its route
    admin, agent, qa = await bearer(http, "ada"), await bearer(http, "alice"), await bearer(http, "quinn")
    for p in PAGES:
        who = agent if p.path == "/desk" else qa if p.path == "/qa" else admin
        r = await http.get(p.path, headers={**html, **who})
        assert r.status_code == 200, p.path
        sources.append(r.text)
    # a token in a URL ends up in history and logs: no page builds one
    for text in sources:
        assert not re.search(r"[?&]token=|token=\$\{|/ws/agent\?", text), text[:200]
    wrong_role = await http.get("/admin/flows", headers={**html, **agent})
    assert wrong_role.status_code == 403 and 'id="forbidden"' in wrong_role.text
