"""Staff login end to end, in headless Chromium against a real `hotline serve` with the network to
the outside blocked: an admin logs in once, reaches the flows and knowledge pages, edits an
article (the file's comments survive), deletes one after confirming, reads /docs (served offline),
logs out and is refused afterwards; a QA reviewer plays a recording with the session cookie alone,
and no request ever carries a token in its URL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import sync_playwright

from hotline.center.records import CallRecord, Segment
from hotline.center.store import SqliteCallStore
from hotline.web.access import ADMIN, PAGES
from tests.support.browser import log_in
from tests.support.server import REPO, ServerProcess
from tests.support.tools import require
from tests.support.voices import tone_wav

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]
OUR_COMMENT = "# Reviewed by the operations team: keep the damage article first in line."


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    require("chromium")
    data = tmp_path_factory.mktemp("staff-login")
    knowledge = data / "knowledge"
    knowledge.mkdir()
    text = (REPO / "config" / "knowledge" / "parcels.yaml").read_text(encoding="utf-8")
    # comments of our own between and inside articles: an edit through the page must keep them
    text = text.replace("- id: damaged-item\n", f"{OUR_COMMENT}\n- id: damaged-item\n")
    text = text.replace("- id: redelivery\n", "- id: redelivery  # most asked-for in November\n")
    (knowledge / "parcels.yaml").write_text(text, encoding="utf-8")
    # an archived call with a recording, for the QA player
    store = SqliteCallStore(data / "calls.db")
    tone_wav(data / "recordings" / "qa-call.caller.wav", 3.0)
    store.save(CallRecord("qa-call-1", "sip-qa-1", "sip:+15550123@x", "sip:hotline@x", started_at=time.time() - 300,
                          status="completed", transcript=[Segment("caller", "my parcel arrived damaged", 200, 1800,
                                                                  "whisper")],
                          recordings={"caller": "recordings/qa-call.caller.wav"}))
    server = ServerProcess(data, workers=1, settings_yaml=f"knowledge: {knowledge}\npost_call_transcription: false\n")
    server.start()
    yield server
    server.stop()


def _browser_page(p: Any, seen: list[str], blocked: list[str]) -> Any:
    browser = p.chromium.launch(executable_path=require("chromium"), headless=True, args=FLAGS)
    context = browser.new_context()

    def only_local(route: Any) -> None:  # no internet: anything not on this server is refused
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.on("request", lambda request: seen.append(request.url))
    return browser, page


def test_admin_logs_in_once_edits_and_deletes_knowledge_reads_docs_and_logs_out(staff_server: ServerProcess) -> None:
    base = staff_server.base_url
    kb_file = staff_server.data / "knowledge" / "parcels.yaml"
    comments_before = [line for line in kb_file.read_text(encoding="utf-8").splitlines() if "#" in line]
    seen: list[str] = []
    blocked: list[str] = []
    with sync_playwright() as p:
        browser, page = _browser_page(p, seen, blocked)
        try:
            anonymous = page.goto(f"{base}/admin/flows")
            assert anonymous is not None and anonymous.status == 401  # the login form answers
            log_in(page, f"{base}/admin/flows", "ada", "ada-demo")
            page.wait_for_selector("#flows tbody tr")
            nav = [a.inner_text() for a in page.query_selector_all("#staff-nav a")]
            # the admin's pages, in the access table's order (the desk is for agents only)
            assert nav == [p.title for p in PAGES if ADMIN in p.roles]
            assert {"Tickets", "Quality review", "Reports", "Flows", "Knowledge base", "Audit log", "API"} <= set(nav)
            assert page.evaluate("document.cookie").find("hotline_session") == -1  # HttpOnly: not for scripts

            page.click("#staff-nav a[href='/admin/knowledge']")  # logged in once: the next page just opens
            page.wait_for_selector("#articles tr[data-article='damaged-item']")
            page.fill("#edit-id", "damaged-item")
            page.click("#load")  # the article editor: a form, one field set per language
            page.wait_for_function("document.body.dataset.loaded === 'damaged-item'")
            assert "damaged" in page.input_value("#title-en") and page.input_value("#title-zh") == "包裹破损"
            page.fill("#script-en", "I am sorry it arrived damaged. Could you send us a photo of the box?")
            page.click("#save")
            page.wait_for_function("document.querySelector('#edit-result').textContent === 'saved'")
            text = kb_file.read_text(encoding="utf-8")
            assert "Could you send us a photo of the box?" in text
            assert [line for line in text.splitlines() if "#" in line] == comments_before  # comments survive

            page.fill("#edit-id", "customs-fees")
            page.once("dialog", lambda dialog: dialog.dismiss())  # changed her mind: nothing happens
            page.click("#delete")
            time.sleep(0.5)
            assert "id: customs-fees" in kb_file.read_text(encoding="utf-8")
            page.once("dialog", lambda dialog: dialog.accept())
            page.click("#delete")
            page.wait_for_function("document.querySelector('#edit-result').textContent === 'deleted'")
            text = kb_file.read_text(encoding="utf-8")
            assert "id: customs-fees" not in text and OUR_COMMENT in text

            page.goto(f"{base}/docs")  # Swagger UI from files installed with hotline
            page.wait_for_selector(".opblock", timeout=20000)
            assert len(page.query_selector_all(".opblock")) > 30
            assert page.query_selector("[data-path='/api/auth/token']") is not None

            page.goto(f"{base}/admin/flows")
            page.wait_for_selector("#logout")
            page.click("#logout")
            page.wait_for_url(f"{base}/login")
            after = page.goto(f"{base}/admin/knowledge")
            assert after is not None and after.status == 401 and page.query_selector("#login-form") is not None
            api = page.evaluate("fetch('/api/knowledge').then(r => r.status)")
            assert api == 401
        finally:
            browser.close()
    assert blocked == []  # nothing tried to reach the internet
    assert not [u for u in seen if "token" in urlparse(u).query], seen
    audit = httpx.get(f"{base}/api/audit", headers={"authorization": f"Bearer {staff_server.login('ada', 'ada-demo')}"},
                      timeout=10).json()
    did = {(e["actor"], e["action"], e["target"]) for e in audit}
    assert {("ada", "knowledge.edited", "damaged-item"), ("ada", "knowledge.deleted", "customs-fees"),
            ("ada", "logout", "ada")} <= did
    # the admin's changes keep what was there before and what is there after
    edited = next(e for e in audit if e["action"] == "knowledge.edited" and e["target"] == "damaged-item")
    assert edited["detail"]["before"]["id"] == edited["detail"]["after"]["id"] == "damaged-item"
    assert edited["detail"]["before"] != edited["detail"]["after"]
    deleted = next(e for e in audit if e["action"] == "knowledge.deleted")
    assert deleted["detail"]["before"]["id"] == "customs-fees" and deleted["detail"]["before"]["title"]


def test_a_recording_plays_in_the_qa_page_with_the_session_cookie_alone(staff_server: ServerProcess) -> None:
    base = staff_server.base_url
    seen: list[str] = []
    blocked: list[str] = []
    with sync_playwright() as p:
        browser, page = _browser_page(p, seen, blocked)
        try:
            log_in(page, f"{base}/qa", "quinn", "quinn-demo")
            nav = [a.inner_text() for a in page.query_selector_all("#staff-nav a")]
            assert nav == ["Quality review", "API"]  # a QA reviewer's pages only
            page.wait_for_selector("#results tr[data-call='qa-call-1']")
            page.click("#results tr[data-call='qa-call-1']")
            page.wait_for_function("document.querySelector('#player').readyState >= 1", timeout=15000)
            src = page.evaluate("document.querySelector('#player').src")
            assert "token" not in src and src.endswith("/api/qa/calls/qa-call-1/stereo.wav")
            duration = page.evaluate("document.querySelector('#player').duration")
            assert abs(duration - 3.0) < 0.2
            page.evaluate("document.querySelector('#player').play()")
            page.wait_for_function("document.querySelector('#player').currentTime > 0.3", timeout=15000)
            export = page.get_attribute("#export", "href")
            assert export is not None and "token" not in export
            csv = page.evaluate(f"fetch({export!r}).then(r => r.status)")
            assert csv == 200
        finally:
            browser.close()
    assert not [u for u in seen if "token" in urlparse(u).query]
    # the same recording with no cookie: refused
    assert httpx.get(f"{base}/api/qa/calls/qa-call-1/stereo.wav", timeout=10).status_code == 401
