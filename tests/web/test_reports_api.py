"""The reports API against a real redis-server (accounts, tokens) and real SQLite stores: only
supervisors and admins read reports (401 without a token, 403 for agent and qa); the JSON figures
are the scripted calls' counts; every table's CSV export is the JSON table; Chart.js is served by
hotline itself, with a clear error where it is not installed."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from hotline.center import reports
from hotline.center.agents import AgentDirectory
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.tickets import SqliteTicketStore
from hotline.web import reports_api
from tests.support.report_calls import SINCE, UNTIL, T, mix
from tests.support.reports_app import reports_app, store_records, with_reports_page
from tests.support.staff import ROLE_USERS, add_staff, bearer

Http = tuple[httpx.AsyncClient, dict[str, dict[str, str]]]
PERIOD = {"since": str(SINCE), "until": str(UNTIL), "tz": "0"}


@pytest.fixture
async def http(tmp_path: Path, _tools_present: None, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Http]:
    with_reports_page(monkeypatch)
    server = EmbeddedRedis(tmp_path)
    await server.start()
    client = aioredis.from_url(server.url)
    agents = AgentDirectory(client)
    await add_staff(agents)
    store = store_records(tmp_path / "calls.db", mix())
    tickets = SqliteTicketStore(tmp_path / "tickets.db")
    tickets.create("damage", call_id="answered", due_at=T + 3600.0, queue="general")  # overdue now
    app = reports_app(client, agents, store, tmp_path, tickets)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as h:
        yield h, {role: await bearer(h, user) for role, user in ROLE_USERS.items()}
    store.close()
    tickets.close()
    await client.aclose()
    await server.stop()


async def test_only_supervisors_and_admins_read_reports(http: Http) -> None:
    h, tokens = http
    for url in ("/api/reports", "/api/reports/acd.csv", "/reports"):
        assert (await h.get(url, params=PERIOD)).status_code == 401, url
        for role in ("agent", "qa"):
            assert (await h.get(url, params=PERIOD, headers=tokens[role])).status_code == 403, (url, role)
        for role in ("supervisor", "admin"):
            assert (await h.get(url, params=PERIOD, headers=tokens[role])).status_code == 200, (url, role)
    page = await h.get("/reports", headers={**tokens["supervisor"], "accept": "text/html"})
    assert 'src="/static/reports.js"' in page.text
    anonymous = await h.get("/reports", headers={"accept": "text/html"})
    assert anonymous.status_code == 401 and 'id="login-form"' in anonymous.text


async def test_figures_are_the_calls_counts(http: Http) -> None:
    h, tokens = http
    body = (await h.get("/api/reports", params=PERIOD, headers=tokens["supervisor"])).json()
    assert body["since"] == SINCE and body["until"] == UNTIL and body["target_s"] == 20.0
    tables = body["tables"]
    assert set(tables) == set(reports.TABLES)
    acd = {r["queue"]: r for r in tables["acd"]["rows"]}
    assert (acd["general"]["offered"], acd["general"]["answered"], acd["general"]["abandoned"]) == (4, 2, 1)
    assert acd["general"]["service_level"] == 0.25 and acd["general"]["asa_s"] == 21.0
    kinds = {r["class"]: r["calls"] for r in tables["ivr_containment"]["rows"]}
    assert kinds == {"self_served": 2, "transferred": 4, "voicemail": 1, "abandoned": 1, "failed": 1, "total": 9}
    assert {r["channel"]: r["calls"] for r in tables["calls_by_channel"]["rows"]} == {"sip": 9, "webrtc": 1}
    assert body["summary"]["calls"] == 10 and body["summary"]["service_level"] == 0.4
    assert tables["tickets"]["rows"] == []  # the ticket was opened now, after the period
    to_now = (await h.get("/api/reports", params={**PERIOD, "until": str(time.time() + 60)},
                          headers=tokens["supervisor"])).json()
    tickets = {r["type"]: r for r in to_now["tables"]["tickets"]["rows"]}
    assert (tickets["damage"]["opened"], tickets["damage"]["overdue"], tickets["total"]["opened"]) == (1, 1, 1)
    assert to_now["summary"]["calls"] == 10
    knowledge = {r["metric"]: r["value"] for r in tables["knowledge"]["rows"]}
    assert knowledge["bot_questions"] == 1 and knowledge["bot_self_served"] == 1
    assert "agents.occupancy" in body["not_available"]
    # a stricter target, and one queue
    strict = (await h.get("/api/reports", params={**PERIOD, "target": "10", "queue": "general"},
                          headers=tokens["admin"])).json()
    assert strict["queue"] == "general"
    assert [r["queue"] for r in strict["tables"]["acd"]["rows"]] == ["general"]
    assert strict["tables"]["acd"]["rows"][0]["service_level"] == 0.0
    assert strict["summary"]["calls"] == 5  # answered, passed, queue-abandoned, no-agents, live


@pytest.mark.parametrize("table", reports.TABLES)
async def test_each_csv_is_its_json_table(http: Http, table: str) -> None:
    h, tokens = http
    params = {**PERIOD, "queue": ""}
    body = (await h.get("/api/reports", params=params, headers=tokens["admin"])).json()["tables"][table]
    r = await h.get(f"/api/reports/{table}.csv", params=params, headers=tokens["admin"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f"hotline-{table}.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == [c["label"] for c in body["columns"]]
    expected = [["" if row.get(c["key"]) is None else str(row[c["key"]]) for c in body["columns"]]
                for row in body["rows"]]
    assert rows[1:] == expected
    assert len(rows) == len(body["rows"]) + 1


async def test_bad_requests(http: Http) -> None:
    h, tokens = http
    assert (await h.get("/api/reports/nope.csv", headers=tokens["admin"])).status_code == 404
    assert (await h.get("/api/reports", params={"since": "yesterday"}, headers=tokens["admin"])).status_code == 422
    r = await h.get("/api/reports", params={"since": str(UNTIL), "until": str(SINCE)}, headers=tokens["admin"])
    assert r.status_code == 422


async def test_chart_js_is_served_by_hotline(http: Http, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    h, _ = http
    if reports_api.CHART_JS.is_file():  # installed by `make setup` (Debian's libjs-chart.js)
        r = await h.get(reports_api.CHART_JS_ROUTE)
        assert r.status_code == 200 and "javascript" in r.headers["content-type"] and "Chart.js v3" in r.text[:200]
    monkeypatch.setattr(reports_api, "CHART_JS", tmp_path / "missing.js")
    r = await h.get(reports_api.CHART_JS_ROUTE)
    assert r.status_code == 503 and "libjs-chart.js" in r.json()["detail"]
