"""The wallboard API against a real redis-server (accounts, presence, the ACD's queue) and real SQLite
stores: only supervisors and admins read it (401 without a login, 403 for agent and qa); two callers
queued through the real ACD (one ringing an agent), an agent on a long call, a call in the IVR,
today's records and an overdue ticket give the board's figures; the longest wait grows between two
reads; the settings come from the run's settings file, as the supervisor process writes it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import Depends, FastAPI

from hotline.center import acd
from hotline.center.acd import Acd
from hotline.center.agents import Agent, AgentDirectory, hash_password
from hotline.center.audit import AuditLog
from hotline.center.auth import AuthConfig, Authenticator
from hotline.center.keys import LIVE_CALLS_KEY
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.settings import Settings, settings_to_json
from hotline.center.tickets import SqliteTicketStore
from hotline.center.wallboard import WallboardConfig, today_start
from hotline.ivr.registry import FlowRegistry
from hotline.web.access import RULES, Access, AccessDenied, denied_handler
from hotline.web.auth_api import auth_router
from hotline.web.docs import mount_static
from hotline.web.pages import forbidden_page, login_page
from hotline.web.supervisor_api import SUPERVISOR_RULES, board_settings, supervisor_router
from tests.support.reports_app import store_records
from tests.support.staff import ROLE_USERS, add_staff, bearer

REPO = Path(__file__).resolve().parents[2]
Http = tuple[httpx.AsyncClient, dict[str, dict[str, str]]]


def record(cid: str, started: float, status: str = "live", **kw: Any) -> dict[str, Any]:
    return {"id": cid, "started_at": started, "status": status, "channel": "sip", "flow": "main",
            "ivr_path": ["welcome", "menu"], "transfers": [], "offers": [], "agent": "", **kw}


@pytest.fixture
async def http(tmp_path: Path, _tools_present: None) -> AsyncIterator[Http]:
    server = EmbeddedRedis(tmp_path)
    await server.start()
    client = aioredis.from_url(server.url)
    agents = AgentDirectory(client)
    await add_staff(agents)
    await agents.seed([Agent("bob", "Bob", ["general"], hash_password("bob-password-1")),
                       Agent("cyd", "Cyd", ["address_change"], hash_password("cyd-password-1"))])
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "settings.json").write_text(settings_to_json(Settings(
        queues={"default": {"max_wait_s": 120}, "billing": {"max_wait_s": 60}},
        wallboard={"service_target_s": 20, "service_level_goal": 0.9, "long_call_s": 60})))
    now = time.time()
    early = max(now - 600.0, today_start(now) + 1.0)  # today, whenever the test runs
    # alice has been talking for 2 minutes (over long_call_s); bob is free, cyd away, quinn never worked
    await agents.set_state("alice", "on_call", "c-talk", since=now - 120.0)
    await agents.set_state("bob", "available", since=now - 300.0)
    await agents.set_state("cyd", "away", reason="break", since=now - 30.0)
    router = Acd(client, agents)
    for call in ("c-q1", "c-q2"):
        await acd.enqueue(client, call, "w1", "general", "general", 0, {"caller": "+15550100"})
    await router.step()  # bob (available, with the skill) is rung for c-q1, the first
    store = store_records(tmp_path / "calls.db", [
        record("c-done", early, "completed", transfers=[{"queue": "general", "at": early + 5.0, "result": "answered",
                                                         "agent": "bob", "waited_s": 8.0}]),
        record("c-gone", early + 60.0, "completed", transfers=[{"queue": "general", "at": early + 65.0,
                                                                "result": "abandoned", "waited_s": 30.0}]),
        record("c-talk", now - 140.0, agent="alice", transfers=[{"queue": "general", "at": now - 130.0,
                                                                 "result": "answered", "agent": "alice",
                                                                 "waited_s": 10.0}]),
        record("c-q1", now - 10.0, ivr_path=["welcome", "menu", "agent"],
               transfers=[{"queue": "general", "at": now - 1.0}]),
        record("c-q2", now - 9.0, ivr_path=["welcome", "menu", "agent"],
               transfers=[{"queue": "general", "at": now - 1.0}]),
        record("c-ivr", now - 15.0, ivr_path=["welcome", "language", "menu"]),
        record("c-stale", now - 900.0, "completed"),  # left in the live hash by a dead worker: not shown
    ])
    for call in ("c-talk", "c-q1", "c-q2", "c-ivr", "c-stale"):
        await client.hset(LIVE_CALLS_KEY, call, "w1")
    tickets = SqliteTicketStore(tmp_path / "tickets.db")
    tickets.create("damage", call_id="c-done", caller="+15550199", due_at=now - 10.0, queue="general")
    tickets.create("other", call_id="c-done", due_at=now + 3600.0)  # not due yet
    flows = FlowRegistry(REPO / "flows", tmp_path / "flow-state")
    flows.scan()

    access = Access(Authenticator(client, agents, AuthConfig()), AuditLog(tmp_path / "audit.db"),
                    rules={**RULES, **SUPERVISOR_RULES})
    app = FastAPI(dependencies=[Depends(access.authorize)])
    app.state.access = access
    app.add_exception_handler(AccessDenied, denied_handler(login_page, forbidden_page))
    mount_static(app)
    app.include_router(auth_router(access, agents))
    app.include_router(supervisor_router(client, agents, store, tickets, flows, tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as h:
        yield h, {role: await bearer(h, user) for role, user in ROLE_USERS.items()}
    store.close()
    tickets.close()
    await client.aclose()
    await server.stop()


def test_the_rules_are_the_app_s() -> None:
    assert {k: RULES[k] for k in SUPERVISOR_RULES} == SUPERVISOR_RULES


async def test_only_supervisors_and_admins_see_the_board(http: Http) -> None:
    h, tokens = http
    for url in ("/api/supervisor/live", "/supervisor"):
        assert (await h.get(url)).status_code == 401, url
        for role in ("agent", "qa"):
            assert (await h.get(url, headers=tokens[role])).status_code == 403, (url, role)
        for role in ("supervisor", "admin"):
            assert (await h.get(url, headers=tokens[role])).status_code == 200, (url, role)
    page = await h.get("/supervisor", headers={**tokens["supervisor"], "accept": "text/html"})
    assert 'src="/static/supervisor.js"' in page.text and 'id="agents"' in page.text
    anonymous = await h.get("/supervisor", headers={"accept": "text/html"})
    assert anonymous.status_code == 401 and 'id="login-form"' in anonymous.text


async def test_the_board_s_figures(http: Http) -> None:
    h, tokens = http
    board = (await h.get("/api/supervisor/live", headers=tokens["supervisor"])).json()
    assert board["config"] == {"service_target_s": 20.0, "service_level_goal": 0.9, "long_call_s": 60.0}
    assert abs(board["now"] - time.time()) < 5
    agents = {a["username"]: a for a in board["agents"]}
    assert list(agents) == ["alice", "bob", "cyd"]  # the agents (quinn, sam and ada are not)
    alice, bob, cyd = agents["alice"], agents["bob"], agents["cyd"]
    assert (alice["state"], alice["call"], alice["queue"], alice["monitor"]) == ("on_call", "c-talk", "general", True)
    assert 119 <= alice["call_s"] <= 125 and 119 <= alice["in_state_s"] <= 125
    assert (bob["state"], bob["call"], bob["queue"], bob["monitor"]) == ("ringing", "c-q1", "general", False)
    assert (cyd["state"], cyd["reason"], cyd["skills"]) == ("away", "break", ["address_change"])

    queues = {q["queue"]: q for q in board["queues"]}
    assert set(queues) == {"general", "address", "billing"}  # the flows', the settings' and the calls'
    general = queues["general"]
    assert (general["waiting"], general["ringing"], general["agents_available"], general["agents_busy"]) == (2, 1, 0, 2)
    assert general["skills"] == ["general"] and general["max_wait_s"] == 120.0 and general["over_max_wait"] == 0
    assert 0 <= general["longest_wait_s"] < 5
    # today: c-done (8 s), c-talk (10 s) within 20 s; c-gone abandoned; c-q1, c-q2 waiting (not yet missed)
    assert (general["offered_today"], general["answered_today"], general["abandoned_today"]) == (5, 2, 1)
    assert general["answered_in_target_today"] == 2 and general["service_level"] == round(2 / 3, 4)
    assert general["at_risk"]  # below the 90% goal of the settings
    assert queues["billing"]["max_wait_s"] == 60.0 and queues["billing"]["waiting"] == 0
    assert queues["address"]["skills"] == ["address_change"] and queues["address"]["agents_available"] == 0

    assert [(c["call"], c["node"]) for c in board["ivr"]] == [("c-ivr", "menu")]
    kinds = {a["kind"]: a for a in board["alerts"]}
    assert set(kinds) == {"service_level", "long_call", "overdue_tickets"}
    assert kinds["long_call"]["agent"] == "alice" and kinds["overdue_tickets"]["count"] == 1
    assert kinds["overdue_tickets"]["tickets"][0]["type"] == "damage"
    assert "+1555" not in str(board)  # no caller numbers on a shared screen
    totals = board["totals"]
    assert (totals["waiting"], totals["in_ivr"], totals["abandoned_today"]) == (2, 1, 1)


async def test_the_longest_wait_grows(http: Http) -> None:
    h, tokens = http
    first = (await h.get("/api/supervisor/live", headers=tokens["admin"])).json()
    await asyncio.sleep(1.2)
    second = (await h.get("/api/supervisor/live", headers=tokens["admin"])).json()
    wait = [next(q for q in b["queues"] if q["queue"] == "general")["longest_wait_s"] for b in (first, second)]
    assert wait[1] >= wait[0] + 1.0, wait
    assert first["totals"]["oldest_at"] == second["totals"]["oldest_at"]  # the page ticks from it


def test_the_settings_come_from_the_run_file(tmp_path: Path) -> None:
    defaults = board_settings(tmp_path)  # no run file (an app made in a test): the defaults
    assert defaults.config == WallboardConfig() and defaults.queues == Settings().queues
    (tmp_path / "run").mkdir()
    run_file = tmp_path / "run" / "settings.json"
    run_file.write_text(settings_to_json(Settings(queues={"vip": {"max_wait_s": 30}}, wallboard={"long_call_s": 300})))
    read = board_settings(tmp_path)
    assert read.queues == {"vip": {"max_wait_s": 30}} and read.config == WallboardConfig(long_call_s=300.0)
    for broken in ("{not json", json.dumps({"queues": [], "wallboard": {"long_call_s": -1}})):
        run_file.write_text(broken)
        assert board_settings(tmp_path).config == WallboardConfig()
