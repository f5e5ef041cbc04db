"""The supervisor's wallboard in headless Chromium against a real `hotline serve` (the network outside
blocked): a supervisor (made by the admin over the API) logs in on /supervisor; a SIPp caller asks
for a person (1 for English, 0) and waits in the general queue while the only agent's desk rings
unanswered: the page shows waiting 1 and a longest wait that grows between two reads, without a
reload; then the agent answers and the grid shows her on the call, with the container the listen /
whisper / barge buttons go in (filled by /static/monitor.js, and kept by the updates that follow).
The large-screen mode has big type and no navigation. Screenshots: /tmp/shots/wallboard.png (the
caller waiting), /tmp/shots/wallboard-oncall.png and /tmp/shots/wallboard-wall.png (on the call)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.browser import Visit, headless_chromium
from tests.support.rtp_pcap import Digit, build_pcap
from tests.support.server import REPO, ServerProcess, auth
from tests.support.sipp import SippRun, fill_scenario, run_sipp
from tests.support.softphone_agent import SoftphoneAgent
from tests.support.tools import require
from tests.support.voices import tone_wav

SHOTS = Path("/tmp/shots")
VIEWPORT = {"width": 1400, "height": 900}
PASSWORDS = {"sam": "sam-lead-password"}


class HeldAgent(SoftphoneAgent):
    """An agent whose desk rings until the test lets her answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rung = threading.Event()
        self.answer_now = threading.Event()

    async def _answer(self, ws: Any, call: str) -> None:
        self.rung.set()
        while not self.answer_now.is_set():
            await asyncio.sleep(0.1)
        await super()._answer(ws, call)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    require("chromium")
    proc = ServerProcess(tmp_path_factory.mktemp("wallboard"), workers=1, flows=REPO / "flows",
                         settings_yaml="clock: '2026-11-23T10:00:00+00:00'\nring_timeout_s: 60\n"
                                       "queues:\n  default: {max_wait_s: 90, announce_every_s: 30}\n"
                                       "post_call_transcription: false\n"
                                       "wallboard: {service_target_s: 20, service_level_goal: 0.8, "
                                       "long_call_s: 600}\n").start()
    try:
        r = httpx.post(f"{proc.base_url}/api/agents", headers=auth(proc.admin_token), timeout=10, json={
            "username": "sam", "name": "Sam Lead", "password": PASSWORDS["sam"], "roles": ["supervisor"]})
        assert r.status_code in (200, 201), r.text
        yield proc
    finally:
        assert proc.stop() == 0, proc.tail()


def seconds(text: str) -> int:
    """'m:ss' or 'h:mm:ss' as seconds."""
    total = 0
    for part in text.strip().split(":"):
        total = total * 60 + int(part)
    return total


def test_wallboard_shows_a_waiting_caller_then_the_agent_on_the_call(server: ServerProcess, workdir: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tone_wav(workdir / "agent.wav", 3.0, rate=48000)
    agent = HeldAgent(server.base_url, "bob", "bob-demo", workdir / "agent.wav", talk_s=20.0, max_calls=1)
    agent_thread = threading.Thread(target=lambda: asyncio.run(agent.run(asyncio.Event())), daemon=True)
    agent_thread.start()
    token = server.login("sam", PASSWORDS["sam"])
    deadline = time.monotonic() + 20
    while not any(a["username"] == "bob" and a["state"] == "available"
                  for a in server.get("/api/supervisor/live", token=token)["agents"]):
        assert time.monotonic() < deadline, "the agent's desk did not go available"
        time.sleep(0.3)

    pcap = workdir / "caller.pcap"
    build_pcap(pcap, 60.0, [], [Digit(1.0, "1"), Digit(1.5, "0")])  # English, then a person
    scenario = fill_scenario("bye_waiter.xml", workdir, PCAP=pcap, BYE_TIMEOUT_MS=120000)
    runs: list[SippRun] = []
    caller = threading.Thread(target=lambda: runs.append(run_sipp(scenario, f"127.0.0.1:{server.sip_port}",
                                                                  workdir, timeout_s=150)), daemon=True)
    with headless_chromium() as chromium:
        visit = Visit(chromium, server.base_url, PASSWORDS, viewport=VIEWPORT)
        page = visit.log_in("/supervisor", "sam")
        page.wait_for_selector('body[data-loaded="yes"]', timeout=15000)
        page.wait_for_selector("#agents tr[data-agent='bob'][data-state='available']", timeout=10000)
        caller.start()

        # the caller waits in the queue while bob's desk rings: waiting 1, the wait growing
        assert agent.rung.wait(60), server.tail()
        general = "#queues tr[data-queue='general']"
        page.wait_for_function(f"document.querySelector(\"{general} td[data-key='waiting']\")?.textContent === '1'",
                               timeout=10000)
        assert page.inner_text("#t-waiting") == "1"
        assert page.inner_text(f"{general} td[data-key='agents_available']") == "0"
        page.wait_for_selector("#agents tr[data-agent='bob'][data-state='ringing']", timeout=5000)
        first = seconds(page.inner_text(f"{general} td[data-key='longest_wait_s']"))
        time.sleep(2.5)
        second = seconds(page.inner_text(f"{general} td[data-key='longest_wait_s']"))
        assert second >= first + 2, (first, second)
        assert seconds(page.inner_text("#t-longest")) >= second
        page.screenshot(path=str(SHOTS / "wallboard.png"), full_page=True)

        # bob answers: on the call in the grid, with the listen / whisper / barge container for it
        agent.answer_now.set()
        bob = "#agents tr[data-agent='bob']"
        page.wait_for_selector(f"{bob}[data-state='on_call']", timeout=20000)
        call = page.inner_text(f"{bob} td[data-key='call']")
        assert call and call != "-"
        page.wait_for_selector(f"{bob} .monitor-controls[data-call='{call}']", state="attached", timeout=5000)
        assert page.inner_text(f"{bob} td[data-key='queue']") == "general"
        page.wait_for_function(f"document.querySelector(\"{general} td[data-key='waiting']\").textContent === '0'",
                               timeout=10000)
        # /static/monitor.js puts its buttons in the container; the polls that follow keep them
        page.wait_for_selector(f"{bob} .monitor-controls[data-call='{call}'] button", timeout=5000)
        time.sleep(1.5)
        assert page.query_selector(f"{bob} .monitor-controls[data-call='{call}'] button") is not None
        assert seconds(page.inner_text(f"{bob} td[data-key='call_s']")) >= 1
        page.screenshot(path=str(SHOTS / "wallboard-oncall.png"), full_page=True)

        # the large screen: big type, no navigation, the same live figures
        wall = visit.context.new_page()
        wall.goto(f"{server.base_url}/supervisor?wall=1")
        wall.wait_for_selector(f"body.wall[data-loaded='yes'] {bob}[data-state='on_call']", timeout=10000)
        assert not wall.is_visible("#staff-nav")
        size = wall.evaluate("parseFloat(getComputedStyle(document.querySelector('#t-waiting')).fontSize)")
        assert size >= 48, size
        wall.screenshot(path=str(SHOTS / "wallboard-wall.png"), full_page=True)
        visit.check()
        visit.context.close()

    caller.join(150)
    agent_thread.join(30)
    assert runs and runs[0].returncode == 0, (runs[0].stdout[-1500:] if runs else "no SIPp run", server.tail())
    assert agent.calls == [call]
