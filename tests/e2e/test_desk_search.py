"""The desk's knowledge search as an agent works it, in headless Chromium against a real `hotline
serve` (the network outside blocked): a call that asked the voice bot first is on Alice's desk (she
reloaded it during the call: the wrap-up is due), the call bar says what the caller asked the bot,
which article it read and that it did not help; she finds an article by words (English, then
Chinese), opens it, marks it used; the knowledge report on the admin page then counts it with the
bot's figures, and the article form edits the bot's spoken answer. Screenshots in /tmp/shots/."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from hotline.center.agents import AgentState, Presence
from hotline.center.keys import PRESENCE_KEY
from hotline.center.records import CallRecord, Segment
from hotline.center.store import SqliteCallStore
from tests.support.browser import Visit, headless_chromium
from tests.support.server import REPO, ServerProcess
from tests.support.tools import require

VIEWPORT = {"width": 1366, "height": 800}
DEMO = {"ada": "ada-demo", "alice": "alice-demo"}
CALL = "ds-call-1"
SHOTS = Path("/tmp/shots")
QUESTION = "my parcel came and the box is all crushed"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    require("chromium")
    data = tmp_path_factory.mktemp("desk-search")
    knowledge = data / "knowledge"
    knowledge.mkdir()
    (knowledge / "parcels.yaml").write_text((REPO / "config" / "knowledge" / "parcels.yaml").read_text("utf-8"),
                                            encoding="utf-8")
    store = SqliteCallStore(data / "calls.db")  # the call on Alice's desk: the bot's answer did not help
    now = time.time()
    store.save(CallRecord(
        CALL, "sip-ds-1", "sip:+15550188@x", "sip:hotline@x", started_at=now - 120, ended_at=now - 5,
        status="completed", agent="alice", ivr_path=["welcome", "questions", "agent"],
        transcript=[Segment("caller", QUESTION, 300, 2500, "whisper")],
        variables={"lang": "en", "bot.question": QUESTION, "bot.article": "damaged-item",
                   "bot.title": "Parcel arrived damaged"},
        bot=[{"node": "questions", "language": "en", "question": QUESTION, "article": "damaged-item", "score": 0.91,
              "resolved": "no", "outcome": "agent", "at": now - 60}]))
    # another caller the bot helped on its own
    store.save(CallRecord("ds-call-0", "sip-ds-0", "sip:+15550187@x", "sip:hotline@x", started_at=now - 900,
                          ended_at=now - 800, status="completed",
                          bot=[{"node": "questions", "language": "en", "question": "where is my parcel",
                                "article": "track-parcel", "score": 0.95, "resolved": "yes", "outcome": "resolved",
                                "at": now - 850}]))
    store.close()
    proc = ServerProcess(data, workers=1, flows=REPO / "flows",
                         settings_yaml=f"knowledge: {knowledge}\npost_call_transcription: false\n")
    proc.start()
    try:
        yield proc
    finally:
        assert proc.stop() == 0, proc.tail()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as chromium:
        yield chromium


def on_the_call(server: ServerProcess) -> None:
    """Alice is on the call (her desk was reloaded during it): the desk resumes it with its wrap-up."""
    client = redis.Redis(unix_socket_path=str(server.data / "redis" / "redis.sock"))
    try:
        client.hset(PRESENCE_KEY, "alice", json.dumps(asdict(Presence(state=AgentState.ON_CALL, call=CALL))))
    finally:
        client.close()


def test_the_desk_search_finds_an_article_marks_it_used_and_the_report_counts_it(
        browser: Any, server: ServerProcess) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    on_the_call(server)
    desk = Visit(browser, server.base_url, DEMO, VIEWPORT)
    try:
        page = desk.log_in("/desk", "alice")
        page.wait_for_selector("#call-panel:not([hidden])")
        page.wait_for_selector("#wrapup:not([hidden])")
        # what the caller asked the bot, the article it read, and that it did not help
        page.wait_for_selector("#bot-asked:not([hidden])")
        assert page.inner_text("#bot-question") == QUESTION
        assert "Parcel arrived damaged" in page.inner_text("#bot-offered")
        assert page.inner_text("#bot-verdict") == "\u00b7 the caller said it did not help"
        assert page.get_attribute("#bot-asked", "data-resolved") == "no"

        # Chinese words find the article too (its card in Chinese)
        page.fill("#kb-q", "包裹坏了")
        page.press("#kb-q", "Enter")
        page.wait_for_function("window.deskSearch.searches === 1")
        page.wait_for_selector("#kb-list li[data-article='damaged-item']")
        assert page.get_attribute("#kb-list li:first-child", "data-article") == "damaged-item"
        assert page.inner_text("#kb-title") == "包裹破损"

        # English words: the ranked list, best first; opening one shows its script and steps
        page.fill("#kb-q", "box crushed")
        page.click("#kb-go")
        page.wait_for_function("window.deskSearch.searches === 2")
        ranked = [li.get_attribute("data-article") for li in page.query_selector_all("#kb-list li")]
        assert ranked[0] == "damaged-item" and len(ranked) >= 2, ranked
        assert "articles for \u201cbox crushed\u201d" in page.inner_text("#kb-summary")
        assert "crushed" in page.inner_text("#kb-list li:first-child .kb-words")
        page.click(f"#kb-list li[data-article='{ranked[1]}'] button")  # a look at the second...
        page.wait_for_selector(f"#kb-article[data-article='{ranked[1]}'][data-n='0']")
        page.click("#kb-list li[data-article='damaged-item'] button")  # ...then the right one
        page.wait_for_selector("#kb-article[data-article='damaged-item'][data-n='1']")
        assert page.inner_text("#kb-title") == "Parcel arrived damaged"
        assert page.inner_text("#kb-script") and page.query_selector_all("#kb-steps li")
        page.wait_for_selector("#kb-used:not([disabled])")
        page.screenshot(path=str(SHOTS / "desk-search.png"))
        page.click("#kb-used")
        page.wait_for_selector("#kb-article[data-verdict=used]")
        assert page.inner_text("#kb-verdict") == "marked used" and page.is_disabled("#kb-used")
        page.screenshot(path=str(SHOTS / "desk-search-used.png"))
        page.press("#kb-q", "Escape")
        page.wait_for_selector("#kb-results", state="hidden")
        # the bot's article opens from the call bar
        page.click("#bot-open")
        page.wait_for_selector("#kb-article[data-article='damaged-item'][data-n='2']")
        desk.check()
    finally:
        desk.context.close()

    record = server.admin_get(f"/api/calls/{CALL}")
    entries = record["assist"]["suggestions"]
    assert [(e["n"], e["article"], e["source"], e["feedback"]) for e in entries] == [
        (0, ranked[1], "search", None), (1, "damaged-item", "search", "used"), (2, "damaged-item", "search", None)]
    report = server.admin_get("/api/knowledge/report")
    assert (report["searched"], report["search_used"]) == (3, 1)
    assert report["bot"]["questions"] == 2 and report["bot"]["self_served"] == 1

    admin = Visit(browser, server.base_url, DEMO, VIEWPORT)
    try:
        page = admin.log_in("/admin/knowledge", "ada")
        row = "#usage tr[data-article='damaged-item']"
        page.wait_for_selector(row)
        assert page.inner_text(f"{row} td[data-col=searched]") == "2"
        assert page.inner_text(f"{row} td[data-col=search_used]") == "1"
        assert page.inner_text(f"{row} td[data-col=bot_offered]") == "1"
        assert page.inner_text("#usage tr[data-article='track-parcel'] td[data-col=bot_self_service]") == "100.0 %"
        assert "Desk search: 3 articles opened during calls, 1 used" == page.inner_text("#search-summary")
        bot = page.inner_text("#bot-summary")
        assert "2 questions in 2 calls" in bot and "self-service rate 50.0 %" in bot and "1 to an agent" in bot
        page.set_viewport_size({"width": 1366, "height": 1000})
        page.screenshot(path=str(SHOTS / "knowledge-report.png"), full_page=False)

        # the bot's spoken answer in the article form: written to the file, read back
        page.click("#articles tr[data-article='damaged-item']")
        page.wait_for_function("document.body.dataset.loaded === 'damaged-item'")
        page.fill("#answer-en", "I'm sorry it arrived damaged. Keep the box and send us photos.")
        page.fill("#answer-zh", "很抱歉包裹破损。请保留包装并拍照发给我们。")
        page.click("#save")
        page.wait_for_function("document.querySelector('#edit-result').textContent === 'saved'")
        kb_file = server.data / "knowledge" / "parcels.yaml"
        saved = next(a for a in yaml.safe_load(kb_file.read_text("utf-8")) if a["id"] == "damaged-item")
        assert saved["answer"].startswith("I'm sorry it arrived damaged") and saved["answer_zh"].startswith("很抱歉")
        page.click("#articles tr[data-article='damaged-item']")  # loaded again: the form shows them
        page.wait_for_function("document.querySelector('#edit-result').textContent === 'loaded damaged-item'")
        assert page.input_value("#answer-zh").startswith("很抱歉")
        page.fill("#answer-zh", "")  # cleared: removed from the file
        page.click("#save")
        page.wait_for_function("document.querySelector('#edit-result').textContent === 'saved'")
        saved = next(a for a in yaml.safe_load(kb_file.read_text("utf-8")) if a["id"] == "damaged-item")
        assert "answer_zh" not in saved and saved["answer"].startswith("I'm sorry")
        page.evaluate("document.querySelector('#answer-en').scrollIntoView({block: 'center'})")
        page.screenshot(path=str(SHOTS / "knowledge-answer-form.png"))
        admin.check()
    finally:
        admin.context.close()
