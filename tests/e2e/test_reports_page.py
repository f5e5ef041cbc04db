"""The reports page in headless Chromium (the network outside blocked) over the scripted calls: a
supervisor logs in, the page draws its charts with the Chart.js that hotline serves and its tables
from the API, the ACD table shows the queue's counts, and no JavaScript error happens. A screenshot
goes to /tmp/shots/reports.png."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import redis.asyncio as aioredis
import uvicorn

from hotline.center.agents import AgentDirectory
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.tickets import SqliteTicketStore
from hotline.web import reports_api
from tests.support.browser import headless_chromium, log_in, watch_errors
from tests.support.report_calls import mix
from tests.support.reports_app import reports_app, store_records, with_reports_page
from tests.support.staff import add_staff, password_of
from tests.support.tools import require

SHOT = Path("/tmp/shots/reports.png")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def reports_server(tmp_path: Path, _tools_present: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    require("chromium")
    if not reports_api.CHART_JS.is_file():
        pytest.fail(f"Chart.js missing at {reports_api.CHART_JS}: run `make setup` (Debian libjs-chart.js)")
    with_reports_page(monkeypatch)
    redis_server, loop = EmbeddedRedis(tmp_path), asyncio.new_event_loop()
    loop.run_until_complete(redis_server.start())

    async def seed() -> None:
        client = aioredis.from_url(redis_server.url)
        await add_staff(AgentDirectory(client))
        await client.aclose()

    loop.run_until_complete(seed())
    # the calls of the last days (all inside the page's default period: the last 7 days)
    records = [r for r in mix(time.time() - 3 * 86400.0) if r["id"] != "old"]
    store = store_records(tmp_path / "calls.db", records)
    tickets = SqliteTicketStore(tmp_path / "tickets.db")
    tickets.create("damage", call_id="answered", queue="general")
    client = aioredis.from_url(redis_server.url)  # connects in the server's loop
    app = reports_app(client, AgentDirectory(client), store, tmp_path, tickets)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="reports-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the HTTP server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    store.close()
    tickets.close()
    loop.run_until_complete(redis_server.stop())
    loop.close()


def test_reports_page_draws_charts_and_tables(reports_server: str) -> None:
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    with headless_chromium() as chromium:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        blocked: list[str] = []

        def only_local(route: Any) -> None:
            if urlparse(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        page = context.new_page()
        errors = watch_errors(page)
        log_in(page, f"{reports_server}/reports", "sam", password_of("sam"))
        page.wait_for_selector('body[data-loaded="yes"]', timeout=30000)
        assert page.get_attribute("body", "data-charts") == "yes"
        # a chart is drawn: Chart.js owns the canvas and has painted pixels on it
        painted = page.evaluate("""() => {
            const canvas = document.getElementById('chart-acd');
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
            return {chart: !!window.Chart.getChart(canvas), painted: n, width: canvas.width};
        }""")
        assert painted["chart"] and painted["width"] > 0 and painted["painted"] > 1000, painted
        general = page.locator("#table-acd tbody tr", has_text="general")
        assert general.locator('td[data-key="offered"]').inner_text() == "4"
        assert general.locator('td[data-key="answered"]').inner_text() == "2"
        assert general.locator('td[data-key="service_level"]').inner_text() == "25.0%"
        containment = page.locator("#table-ivr_containment tbody tr", has_text="Self-served")
        assert containment.locator('td[data-key="calls"]').inner_text() == "2"
        assert page.locator("#table-tickets tbody tr", has_text="total").locator(
            'td[data-key="opened"]').inner_text() == "1"
        csv_link = page.locator("#table-acd").locator("xpath=..").locator("a", has_text="CSV")
        assert csv_link.get_attribute("href").startswith("/api/reports/acd.csv?")
        # one queue only
        page.fill("#f-queue", "billing")
        page.click("#show")
        page.wait_for_function("() => document.getElementById('report-status').textContent.includes('queue billing')")
        assert [t.strip() for t in page.locator("#table-acd tbody tr td:first-child").all_inner_texts()] == ["billing"]
        page.fill("#f-queue", "")
        page.click("#show")
        page.wait_for_function("() => !document.getElementById('report-status').textContent.includes('queue')")
        page.wait_for_selector("#table-acd tbody tr:has-text('general')")
        page.screenshot(path=str(SHOT), full_page=True)
        context.close()
    assert errors == [], errors
    assert blocked == [], blocked
