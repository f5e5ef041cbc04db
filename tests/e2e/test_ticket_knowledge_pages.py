"""The tickets and knowledge pages as their users work them, in headless Chromium against a real
`hotline serve` (the network outside blocked): an agent creates a ticket from the page (refusals
shown next to their field), a supervisor follows a ticket's link to its call; an admin edits an
article in the form editor (the loaded article scrolled into view, steps added and removed, a
missing field marked) and reads why a sentence matched (Chinese drawn in a CJK font). Also: no
page asks for a missing /favicon.ico, and the login form submits on Enter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from hotline.center.records import CallRecord, Segment
from hotline.center.store import SqliteCallStore
from tests.support.browser import Visit, headless_chromium
from tests.support.server import REPO, ServerProcess, auth
from tests.support.tools import require

VIEWPORT = {"width": 1366, "height": 800}
DEMO = {"ada": "ada-demo", "alice": "alice-demo", "sam": "sam-lead-password"}
CALL = "tk-call-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    require("chromium")
    data = tmp_path_factory.mktemp("tk-pages")
    knowledge = data / "knowledge"
    knowledge.mkdir()
    (knowledge / "parcels.yaml").write_text((REPO / "config" / "knowledge" / "parcels.yaml").read_text("utf-8"),
                                            encoding="utf-8")
    store = SqliteCallStore(data / "calls.db")  # the call a ticket links to
    store.save(CallRecord(CALL, "sip-tk-1", "sip:+15550177@x", "sip:hotline@x", started_at=time.time() - 900,
                          ended_at=time.time() - 800, status="completed",
                          transcript=[Segment("caller", "the box was crushed", 300, 1800, "whisper")]))
    store.close()
    proc = ServerProcess(data, workers=1, flows=REPO / "flows",
                         settings_yaml=f"knowledge: {knowledge}\npost_call_transcription: false\n")
    proc.start()
    try:
        # a supervisor, to follow a ticket's link to its call (the demo has none)
        r = httpx.post(f"{proc.base_url}/api/agents", headers=auth(proc.admin_token), timeout=10, json={
            "username": "sam", "name": "Sam Lead", "password": DEMO["sam"], "roles": ["supervisor"]})
        assert r.status_code in (200, 201), r.text
        yield proc
    finally:
        assert proc.stop() == 0, proc.tail()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def visit(browser: Any, server: ServerProcess) -> Iterator[Visit]:
    v = Visit(browser, server.base_url, DEMO, VIEWPORT)
    try:
        yield v
        time.sleep(0.3)
        assert v.errors == [] and v.blocked == [] and v.missing == [], (v.errors, v.blocked, v.missing)
    finally:
        v.context.close()


def in_viewport(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and 0 <= box["y"] < height and box["y"] + min(box["height"], 200) <= height


def test_an_agent_creates_a_ticket_from_the_page(visit: Visit, server: ServerProcess) -> None:
    page = visit.log_in("/tickets", "alice")
    page.click("#new-ticket-open")
    page.wait_for_selector("#new-ticket:not([hidden])")
    page.wait_for_function("document.querySelectorAll('#n-assignee option').length > 1")
    assignees = [o.get_attribute("value") for o in page.query_selector_all("#n-assignee option")]
    assert assignees[0] == "" and {"alice", "bob", "chen"} <= set(assignees) and "ada" not in assignees
    page.click("#n-create")  # no type chosen: marked on the page, nothing sent
    assert page.inner_text("#err-type") == "choose the type of ticket"
    assert page.get_attribute("#n-type", "aria-invalid") == "true"
    page.select_option("#n-type", "damage")
    page.select_option("#n-priority", "high")
    page.fill("#n-caller", "+15550177")
    page.fill("#n-parcel", "PX990312")
    page.fill("#n-call", CALL)
    page.fill("#n-description", "box crushed, photos on the way")
    # an account that stopped being an agent after the page loaded: the server's refusal is shown there
    page.evaluate("document.querySelector('#n-assignee').add(new Option('ada', 'ada'))")
    page.select_option("#n-assignee", "ada")
    page.click("#n-create")
    page.wait_for_selector("#err-assignee:not(:empty)")
    assert "'ada' is not an agent" in page.inner_text("#err-assignee")
    assert page.evaluate("document.body.dataset.created") is None
    visit.errors[:] = [e for e in visit.errors if "status of 422" not in e]  # the browser's note on that answer
    page.select_option("#n-assignee", "bob")
    page.press("#n-parcel", "Enter")  # Enter in a field submits the form
    page.wait_for_function("document.body.dataset.created")
    ref = page.evaluate("document.body.dataset.created")
    page.wait_for_selector(f"#list tr[data-ref='{ref}']")
    page.wait_for_function(f"document.querySelector('#d-ref').textContent === '{ref}'")  # its details open
    assert page.input_value("#n-assignee") == "" and page.input_value("#n-type") == ""  # ready for the next
    assert page.input_value("#d-assignee") == "bob" and page.input_value("#d-priority") == "high"
    # an agent may not read call records: the call id is shown, not linked
    assert page.query_selector(f"#list tr[data-ref='{ref}'] a.call-link") is None
    assert page.inner_text(f"#list tr[data-ref='{ref}'] .call-id") == CALL
    ticket = httpx.get(f"{server.base_url}/api/tickets/{ref}", headers=auth(server.admin_token), timeout=10).json()
    assert (ticket["type"], ticket["priority"], ticket["caller"], ticket["parcel_number"], ticket["call_id"],
            ticket["assignee"], ticket["description"]) == ("damage", "high", "+15550177", "PX990312", CALL, "bob",
                                                           "box crushed, photos on the way")
    assert ticket["history"][0]["by"] == "alice"
    page.set_viewport_size({"width": 1366, "height": 1000})
    page.click("#new-ticket-open")
    page.click("#n-create")  # show a marked field in the picture
    page.screenshot(path="/tmp/tickets.png", full_page=True)


def test_a_supervisor_follows_a_ticket_to_its_call(visit: Visit, server: ServerProcess) -> None:
    r = httpx.post(f"{server.base_url}/api/tickets", headers=auth(server.admin_token), timeout=10,
                   json={"type": "missing", "call_id": CALL, "caller": "sip:+15550177@x", "description": "lost"})
    ref = r.json()["ref"]
    page = visit.log_in(f"/tickets#{ref}", "sam")
    link = page.wait_for_selector(f"#list tr[data-ref='{ref}'] a.call-link")
    assert link.get_attribute("href") == f"/api/calls/{CALL}" and link.inner_text() == CALL
    page.wait_for_selector("#d-call a.call-link")
    with page.context.expect_page() as opened:
        page.click("#d-call a.call-link")
    call = opened.value
    call.wait_for_load_state()
    assert "the box was crushed" in call.content()  # the call's record, with the session cookie alone


def test_a_reviewer_follows_a_ticket_to_the_call_in_qa(visit: Visit, server: ServerProcess) -> None:
    r = httpx.post(f"{server.base_url}/api/tickets", headers=auth(server.admin_token), timeout=10,
                   json={"type": "damage", "call_id": CALL, "caller": "sip:+15550177@x", "description": "dented"})
    ref = r.json()["ref"]
    page = visit.log_in(f"/tickets#{ref}", "ada")
    link = page.wait_for_selector(f"#list tr[data-ref='{ref}'] a.call-link")
    assert link.get_attribute("href") == f"/qa?call={CALL}"  # recording and transcript, not raw JSON
    page.goto(f"{server.base_url}/qa?call={CALL}")
    page.wait_for_function(f"document.querySelector('#call-id').textContent === '{CALL}'")
    assert "the box was crushed" in page.inner_text("#call")


def test_the_article_editor(visit: Visit, server: ServerProcess) -> None:
    kb_file = server.data / "knowledge" / "parcels.yaml"
    page = visit.log_in("/admin/knowledge", "ada")
    page.wait_for_selector("#articles tr[data-article='damaged-item']")
    page.wait_for_function("document.querySelector('#usage-summary').textContent.includes('calls with an agent')")
    assert not in_viewport(page, "#editor")  # below the fold until an article is opened
    page.click("#articles tr[data-article='damaged-item']")
    page.wait_for_function("document.body.dataset.loaded === 'damaged-item'")
    time.sleep(0.3)
    assert in_viewport(page, "#editor-title") and in_viewport(page, "#title-en")  # scrolled to it
    assert page.input_value("#title-en") == "Parcel arrived damaged" and page.input_value("#title-zh") == "包裹破损"
    before = yaml.safe_load(kb_file.read_text("utf-8"))
    article = next(a for a in before if a["id"] == "damaged-item")
    steps = page.query_selector_all("#steps-en input")
    assert [s.input_value() for s in steps] == article["steps"]
    assert page.input_value("#tags-en") == ", ".join(article["tags"])

    # a step added (Enter in the last one starts the next), one removed; the zh title emptied
    page.click(f"#steps-en li:nth-child({len(steps)}) input")
    page.keyboard.press("Enter")
    page.keyboard.type("Tell the caller the ticket reference")
    page.click("#steps-en li:nth-child(1) .remove-step")
    page.fill("#title-zh", "")
    page.click("#save")
    assert page.inner_text("#err-title-zh") == "a title is needed in this language"
    assert page.get_attribute("#title-zh", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "title-zh"
    assert yaml.safe_load(kb_file.read_text("utf-8")) == before  # nothing written
    page.set_viewport_size({"width": 1366, "height": 1500})
    page.evaluate("document.querySelector('#editor').scrollIntoView()")
    page.screenshot(path="/tmp/article-editor.png", full_page=False)
    page.set_viewport_size({"width": 1366, "height": 800})
    page.fill("#title-zh", "包裹破损了")
    assert page.inner_text("#err-title-zh") == "" and page.get_attribute("#title-zh", "aria-invalid") is None
    page.click("#save")
    page.wait_for_function("document.querySelector('#edit-result').textContent === 'saved'")
    saved = next(a for a in yaml.safe_load(kb_file.read_text("utf-8")) if a["id"] == "damaged-item")
    assert saved["steps"] == article["steps"][1:] + ["Tell the caller the ticket reference"]
    assert saved["title_zh"] == "包裹破损了" and saved["tags"] == article["tags"]
    assert saved["steps_zh"] == article["steps_zh"] and saved["script"] == article["script"]

    # a new article: its fields checked on the page, then created
    page.click("#new-article")
    page.fill("#edit-id", "locker-code")
    page.fill("#add-lang-code", "x1")
    page.click("#add-lang")
    assert "2 to 8 letters" in page.inner_text("#err-add-lang")
    page.fill("#title-en", "Locker code does not work")
    page.click("#save")
    assert page.inner_text("#err-script-en") == "a script is needed in this language"
    page.fill("#script-en", "Let me send you a new code.")
    page.click("#add-step-en")
    page.keyboard.type("Check the locker number")
    page.click("#save")
    page.wait_for_function("document.querySelector('#edit-result').textContent === 'created'")
    page.wait_for_selector("#articles tr[data-article='locker-code']")


def test_try_a_sentence_explains_the_score(visit: Visit) -> None:
    page = visit.log_in("/admin/knowledge", "ada")
    page.fill("#try-text", "my parcel arrived broken")
    page.press("#try-text", "Enter")
    page.wait_for_selector("#try-explain .verdict")
    verdict = page.inner_text("#try-explain .verdict")
    assert verdict.startswith("shown: score") and "needed" in verdict
    first = page.query_selector("#try-explain tbody tr")
    assert first is not None and first.get_attribute("data-article") == "damaged-item"
    assert "broken" in first.inner_text() and "≈damage" in first.inner_text()
    assert "broken" in [m.inner_text() for m in page.query_selector_all("#try-explain mark")]
    page.fill("#try-text", "hello there")
    page.click("#try")
    page.wait_for_function("document.querySelector('#try-explain .verdict').textContent.startsWith('nothing shown')")
    page.select_option("#try-lang", "zh")
    page.fill("#try-text", "我的包裹坏了")
    page.click("#try")
    page.wait_for_function("document.querySelector('#try-explain .verdict').textContent.startsWith('shown')")
    # Chinese is drawn in a CJK font (Noto CJK from the set-up), not as boxes
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#try-explain tbody tr td:nth-child(2) a"})
    cdp.send("CSS.enable")
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    assert any("CJK" in f["familyName"] for f in fonts), fonts
    page.click("#try-explain a[data-open='damaged-item']")  # opens the article in the editor
    page.wait_for_function("document.body.dataset.loaded === 'damaged-item'")
    page.screenshot(path="/tmp/knowledge-zh.png", full_page=False)


def test_favicon_and_login_on_enter(visit: Visit) -> None:
    icon = httpx.get(f"{visit.base}/favicon.ico", timeout=10)
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"
    page = visit.page
    page.goto(f"{visit.base}/login?next=/tickets")
    assert page.query_selector("form #password[type=password]") is not None
    page.fill("#username", "alice")
    page.fill("#password", "alice-demo")
    page.press("#password", "Enter")
    page.wait_for_url(f"{visit.base}/tickets")
    page.wait_for_selector("#whoami")
    for path in ("/call", "/", "/tickets"):
        page.goto(f"{visit.base}{path}")
        page.wait_for_load_state("networkidle")
    # the browser asks for the icon on its own: answered (a 404 would fail this test's visit check)
