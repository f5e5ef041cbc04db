"""The QA page in headless Chromium against the real app (uvicorn, a real redis-server, a SQLite
archive with a 40 s call whose agent answered at 15 s): the player can seek (byte ranges), clicking
a transcript line plays from it and highlights it, the waveform seeks, the filters offer the
archive's values, a review with an unscored criterion is refused by its label, and a saved review
shows its scores per criterion while the form keeps them."""

from __future__ import annotations

import asyncio
import math
import struct
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import uvicorn
from playwright.sync_api import sync_playwright

from hotline.center.agents import AgentDirectory
from hotline.center.records import CallRecord, Segment
from hotline.center.redis_server import EmbeddedRedis
from hotline.center.store import SqliteCallStore
from hotline.web.app import AppState, create_app
from tests.support.browser import log_in, watch_errors
from tests.support.staff import add_staff, password_of
from tests.support.tools import free_port, require

REPO = Path(__file__).resolve().parents[2]
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--autoplay-policy=no-user-gesture-required"]
CALL = "qa-seek-1"
LINES = [Segment("caller", "hello, my parcel never arrived", 1000, 3500, "whisper"),
         Segment("agent", "sorry about that, let me check", 16000, 18500, "whisper"),
         Segment("caller", "the number is PX forty two", 36000, 38500, "whisper")]


def tone(path: Path, seconds: float, hz: float, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{int(seconds * rate)}h", *(int(5000 * math.sin(2 * math.pi * hz * i / rate))
                                                                 for i in range(int(seconds * rate)))))


class AppServer(threading.Thread):
    """The app on a free port, in its own thread and event loop, with an embedded redis-server."""

    def __init__(self, data: Path) -> None:
        super().__init__(daemon=True)
        self.data = data
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ready = threading.Event()
        self.server: uvicorn.Server | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by the fixture
            self.error = exc
            self.ready.set()

    async def _serve(self) -> None:
        redis_server = EmbeddedRedis(self.data)
        await redis_server.start()
        client = aioredis.from_url(redis_server.url)
        agents = AgentDirectory(client)
        await add_staff(agents)
        store = SqliteCallStore(self.data / "calls.db")

        async def listening() -> bool:
            return True

        app = create_app(AppState(store, client, "127.0.0.1:5060", listening, "whisper", "base", self.data,
                                  agents=agents, qa_rubric=REPO / "config" / "qa_rubric.yaml"))
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        serving = asyncio.create_task(self.server.serve())
        while not self.server.started and not serving.done():
            await asyncio.sleep(0.05)
        self.ready.set()
        try:
            await serving
        finally:
            store.close()
            await client.aclose()
            await redis_server.stop()


@pytest.fixture(scope="module")
def qa_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    require("redis-server")
    data = tmp_path_factory.mktemp("qa-page")
    tone(data / "recordings" / "seek.caller.wav", 40.0, 440)
    tone(data / "recordings" / "seek.agent.wav", 20.0, 660)
    store = SqliteCallStore(data / "calls.db")
    store.save(CallRecord(CALL, "sip-seek-1", "sip:+15550142@x", "sip:hotline@x", started_at=time.time() - 900,
                          ended_at=time.time() - 860, status="completed", agent="alice", outcome="transferred",
                          transcript=LINES, transfers=[{"queue": "general", "agent": "alice", "result": "answered"}],
                          recordings={"caller": "recordings/seek.caller.wav", "agent": "recordings/seek.agent.wav"},
                          recording_offsets={"agent": 15000}))
    store.close()
    server = AppServer(data)
    server.start()
    assert server.ready.wait(60) and server.error is None, server.error
    yield server
    assert server.server is not None
    server.server.should_exit = True
    server.join(30)


@pytest.fixture
def page(qa_app: AppServer) -> Iterator[Any]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require("chromium"), headless=True, args=FLAGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        errors = watch_errors(page)
        try:
            log_in(page, f"{qa_app.base}/qa", "quinn", password_of("quinn"))
            yield page
            time.sleep(0.3)
            assert errors == [], errors
        finally:
            browser.close()


def current_time(page: Any) -> float:
    return float(page.evaluate("document.querySelector('#player').currentTime"))


def open_call(page: Any) -> None:
    page.click(f"#results tr[data-call='{CALL}']")
    page.wait_for_selector("#call:not([hidden])")
    page.wait_for_function("document.querySelector('#player').readyState >= 1", timeout=15000)
    page.wait_for_selector("#wave[data-drawn=yes]")


def test_the_player_seeks_from_the_transcript_and_the_waveform(page: Any) -> None:
    row = page.wait_for_selector(f"#results tr[data-call='{CALL}']")
    assert row.query_selector(".reviewed").inner_text() == "no" and row.query_selector(".score").inner_text() == "-"
    # the filters offer the archive's values, with "any"
    agents = page.eval_on_selector_all("#q-agent option", "os => os.map(o => o.value)")
    assert agents == ["", "alice"] and page.inner_text("#q-agent option:first-child") == "any"
    assert "general" in page.eval_on_selector_all("#q-queue option", "os => os.map(o => o.value)")
    assert "transferred" in page.eval_on_selector_all("#q-outcome option", "os => os.map(o => o.value)")
    assert "resolved" in page.eval_on_selector_all("#q-disposition option", "os => os.map(o => o.value)")
    page.select_option("#q-agent", "alice")
    page.wait_for_function("document.querySelector('#export').href.includes('agent=alice')")
    page.wait_for_selector(f"#results tr[data-call='{CALL}']")

    open_call(page)
    assert page.evaluate("document.querySelector('#player').duration") == pytest.approx(40.0, abs=0.1)
    seekable = page.evaluate("(() => { const s = document.querySelector('#player').seekable;"
                             " return s.length ? s.end(s.length - 1) : 0; })()")
    assert seekable == pytest.approx(40.0, abs=0.1)  # the server answers byte ranges

    page.click("#qa-transcript li[data-start='36000']")
    assert current_time(page) == pytest.approx(36.0, abs=0.5)
    page.wait_for_function("!document.querySelector('#player').paused"
                           " && document.querySelector('#player').currentTime > 36.2", timeout=15000)
    assert current_time(page) < 38.0  # it plays from the line, not from the start
    page.wait_for_selector("#qa-transcript li[data-start='36000'][data-playing=yes]")
    assert page.query_selector("#qa-transcript li[data-start='1000'][data-playing=yes]") is None

    page.click("#qa-transcript li[data-start='16000']")
    assert current_time(page) == pytest.approx(16.0, abs=0.5)
    page.wait_for_selector("#qa-transcript li[data-start='16000'][data-playing=yes]")

    box = page.query_selector("#wave").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
    assert current_time(page) == pytest.approx(10.0, abs=0.5)
    page.evaluate("document.querySelector('#player').pause()")
    # both channels are drawn: the caller above the middle line, the agent below it (from 15 s on)
    drawn = page.evaluate("""(() => {
      const c = document.querySelector('#wave'), g = c.getContext('2d'), h = c.height, w = c.width;
      const ink = (x, y) => g.getImageData(Math.round(x), Math.round(y), 1, 1).data[3] > 0;
      return {callerEarly: ink(w * 0.05, h * 0.35), agentEarly: ink(w * 0.05, h * 0.65),
              agentLate: ink(w * 0.6, h * 0.65), callerLate: ink(w * 0.6, h * 0.35)};
    })()""")
    assert drawn == {"callerEarly": True, "agentEarly": False, "agentLate": True, "callerLate": True}


def test_a_review_needs_every_criterion_and_shows_its_scores(page: Any) -> None:
    open_call(page)
    criteria = page.eval_on_selector_all("#rubric fieldset", "fs => fs.map(f => f.dataset.id)")
    assert len(criteria) >= 3
    assert page.query_selector("#rubric input:checked") is None  # nothing scored by default
    for i, cid in enumerate(criteria[:-1]):
        page.check(f"#rubric input[name='c-{cid}'][value='{i % 3 + 1}']")
    last = criteria[-1]
    last_label = page.inner_text(f"#rubric fieldset[data-id='{last}'] legend").rsplit(" / ", 1)[0].strip()
    page.click("#submit-review")
    refused = page.inner_text("#review-result")
    assert "Not scored" in refused and last_label in refused and last not in refused.replace(last_label, "")
    assert page.query_selector(f"#rubric fieldset[data-id='{last}'].missing") is not None
    assert page.query_selector("#reviews .review") is None  # nothing was saved

    page.check(f"#rubric input[name='c-{last}'][value='2']")
    page.fill("#comments", "clear and polite")
    page.click("#submit-review")
    page.wait_for_function("document.querySelector('#review-result').textContent.startsWith('saved: ')")
    review = page.wait_for_selector("#reviews .review")
    shown = page.eval_on_selector_all("#reviews .review tr", "rs => rs.map(r => [r.dataset.criterion,"
                                      " r.querySelector('td').textContent, r.querySelector('.score').textContent])")
    expected = [i % 3 + 1 for i in range(len(criteria) - 1)] + [2]
    assert [s[0] for s in shown] == criteria
    assert [int(s[2].split(" / ")[0]) for s in shown] == expected
    assert shown[-1][1] == last_label
    assert f"{sum(expected)} / " in review.query_selector(".total").inner_text()
    assert "clear and polite" in review.inner_text()
    # the form keeps what was saved instead of going back to defaults
    assert page.eval_on_selector_all("#rubric input:checked", "is => is.map(i => Number(i.value))") == expected
    row = page.wait_for_selector(f"#results tr[data-call='{CALL}'] .reviewed:has-text('yes')")
    assert row.inner_text() == "yes (1)"
    score = page.inner_text(f"#results tr[data-call='{CALL}'] .score")
    assert score.endswith(" %") and float(score[:-2]) > 0
