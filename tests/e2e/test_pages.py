"""Every built-in page in headless Chromium against a real `hotline serve` (the network outside
blocked): each page opens for the roles it is for, loads its data from the API and throws no
JavaScript error; an anonymous visitor of a staff page gets the login form (HTTP 401), a user
without the role the refusal page (HTTP 403). Deeper journeys live in test_staff_login.py,
test_agent_desk.py, test_browser_caller.py and test_demo_paths.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hotline.center.records import CallRecord, Segment
from hotline.center.store import SqliteCallStore
from tests.support.browser import MEDIA_FLAGS, Visit, headless_chromium
from tests.support.server import REPO, ServerProcess, auth
from tests.support.tools import require
from tests.support.voices import tone_wav

DEMO = {"ada": "ada-demo", "alice": "alice-demo", "quinn": "quinn-demo"}


@pytest.fixture(scope="module")
def pages_server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    require("chromium")
    data = tmp_path_factory.mktemp("pages")
    store = SqliteCallStore(data / "calls.db")  # an archived call with a recording, for the QA page
    tone_wav(data / "recordings" / "pages-call.caller.wav", 2.0)
    store.save(CallRecord("pages-call-1", "sip-pages-1", "sip:+15550199@x", "sip:hotline@x",
                          started_at=time.time() - 600, ended_at=time.time() - 590, status="completed",
                          transcript=[Segment("caller", "where is my parcel", 200, 1500, "whisper")],
                          recordings={"caller": "recordings/pages-call.caller.wav"}))
    store.close()
    server = ServerProcess(data, workers=1, flows=REPO / "flows", settings_yaml="post_call_transcription: false\n")
    server.start()
    yield server
    assert server.stop() == 0, server.tail()


@pytest.fixture(scope="module")
def ticket_ref(pages_server: ServerProcess) -> str:
    """A ticket made through the API, with markup in its description."""
    r = httpx.post(f"{pages_server.base_url}/api/tickets", headers=auth(pages_server.login("ada", "ada-demo")),
                   json={"type": "damage", "priority": "high", "description": "box <b>crushed</b>",
                         "parcel_number": "PX-42", "caller": "sip:+15550199@x"}, timeout=10)
    assert r.status_code == 201, r.text
    return str(r.json()["ref"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium(*MEDIA_FLAGS) as chromium:
        yield chromium


@pytest.fixture
def visit(browser: Any, pages_server: ServerProcess) -> Iterator[Visit]:
    v = Visit(browser, pages_server.base_url, DEMO, track_missing=False)
    try:
        yield v
        v.check()
    finally:
        v.context.close()


def test_home_and_login_pages(visit: Visit) -> None:
    page = visit.page
    home = page.goto(f"{visit.base}/")
    assert home is not None and home.status == 200
    assert page.inner_text("#home-login") == "Staff: log in" and page.query_selector("#whoami") is None
    # the health of the parts, for anyone (as /api/health): every part up on a running server
    page.wait_for_selector("#health tbody tr")
    parts = {row.get_attribute("data-part"): row.inner_text() for row in page.query_selector_all("#health tbody tr")}
    assert set(parts) == {"SIP edge", "Media workers", "Recogniser", "Redis", "Call store"}, parts
    assert all("\tup\t" in text for text in parts.values()), parts
    assert "up, 0 calls of" in parts["Media workers"]
    page.click("#home-login")
    page.wait_for_url(f"{visit.base}/login")
    page.fill("#username", "ada")
    page.fill("#password", "wrong-password")
    page.click("#login")
    page.wait_for_selector("#login-error:not(:empty)")
    page.goto(f"{visit.base}/login?next=/admin/audit")
    page.fill("#username", "ada")
    page.fill("#password", "ada-demo")
    page.click("#login")
    page.wait_for_url(f"{visit.base}/admin/audit")  # ?next= is followed
    page.goto(f"{visit.base}/")
    page.wait_for_selector("#home-pages ul li")
    assert "Your pages, " in page.inner_text("#home-pages h2")
    links = [a.get_attribute("href") for a in page.query_selector_all("#home-pages a")]
    assert links == ["/tickets", "/qa", "/supervisor", "/reports", "/admin/flows", "/admin/knowledge", "/admin/audit", "/docs"]
    assert page.query_selector("#staff-nav a[href='/admin/flows']") is not None


def test_call_page_for_customers(visit: Visit) -> None:
    page = visit.page
    response = page.goto(f"{visit.base}/call")
    assert response is not None and response.status == 200
    assert page.query_selector("#staff-nav") is None and page.inner_text("#state") == "idle"
    assert [k.get_attribute("data-key") for k in page.query_selector_all(".key")] == list("123456789*0#")
    assert page.evaluate("typeof receivedAudioEnergy") == "function"
    assert page.evaluate("receivedAudioEnergy()") == 0  # no call yet


def test_desk_connects_for_an_agent(visit: Visit) -> None:
    anonymous = visit.page.goto(f"{visit.base}/desk")
    assert anonymous is not None and anonymous.status == 401 and visit.page.query_selector("#login-form")
    page = visit.log_in("/desk", "alice")
    page.wait_for_selector("#state[data-state=away]")  # the WebSocket said hello
    assert page.inner_text("#me") == "Alice Moreau"
    page.click("#go-available")
    page.wait_for_selector("#state[data-state=available]")
    page.click("#go-away")
    page.wait_for_selector("#state[data-state=away]")
    assert page.is_hidden("#call-panel") and page.is_hidden("#ringing")


def test_tickets_page_lists_opens_and_changes_a_ticket(visit: Visit, ticket_ref: str) -> None:
    ref = ticket_ref
    page = visit.log_in("/tickets", "alice")
    row = page.wait_for_selector(f"#list tr[data-ref='{ref}']")
    assert "box <b>crushed</b>" in row.inner_text()  # escaped, not markup
    page.click(f"#list tr[data-ref='{ref}'] a")
    page.wait_for_selector("#detail:not([hidden])")
    assert page.inner_text("#d-ref") == str(ref) and page.input_value("#d-priority") == "high"
    page.select_option("#d-status", "in_progress")
    page.fill("#d-note", "called the depot")
    page.click("#d-save")
    page.wait_for_function("document.querySelector('#d-result').textContent === 'saved'")
    page.wait_for_function("document.querySelector('#d-history').textContent.includes('called the depot')")
    page.select_option("#f-status", "in_progress")
    page.click("#search")
    page.wait_for_function(f"[...document.querySelectorAll('#list tr')].map(r => r.dataset.ref).join() === '{ref}'")


def test_qa_page_opens_a_call(visit: Visit) -> None:
    page = visit.log_in("/qa", "quinn")
    page.click("#results tr[data-call='pages-call-1']")
    page.wait_for_selector("#call:not([hidden])")
    assert page.inner_text("#call-id") == "pages-call-1"
    assert "where is my parcel" in page.inner_text("#qa-transcript")
    page.wait_for_selector("#wave[data-drawn=yes]")
    criteria = page.eval_on_selector_all("#rubric fieldset", "fs => fs.map(f => f.dataset.id)")
    assert len(criteria) >= 3
    for cid in criteria:  # nothing is scored by default (test_qa_page.py checks scoring in depth)
        page.check(f"#rubric input[name='c-{cid}'][value='1']")
    page.fill("#comments", "clear and polite")
    page.click("#submit-review")
    page.wait_for_function("document.querySelector('#review-result').textContent.startsWith('saved: ')")
    page.wait_for_selector("#reviews .review")


def test_flows_page_shows_flows_and_a_diagram(visit: Visit) -> None:
    page = visit.log_in("/admin/flows", "ada")
    page.wait_for_selector("#flows tbody tr[data-flow='main'] .status.ok")
    page.click("a[data-graph='main']")
    page.wait_for_function("document.querySelector('#diagram img') && document.querySelector('#diagram img').complete"
                           " && document.querySelector('#diagram img').naturalWidth > 0")


def test_knowledge_page_lists_articles_and_tries_a_sentence(visit: Visit) -> None:
    page = visit.log_in("/admin/knowledge", "ada")
    page.wait_for_selector("#articles tr[data-article='damaged-item']")
    page.wait_for_function("document.querySelector('#usage-summary').textContent.includes('calls with an agent')")
    assert "ok" in page.inner_text("#kb-status")
    page.fill("#try-text", "my parcel arrived broken")
    page.click("#try")
    page.wait_for_function("document.querySelector('#try-result').textContent.includes('ranked')")
    page.click("#articles tr[data-article='damaged-item']")  # opens it in the editor
    page.wait_for_function("document.querySelector('#title-en').value.includes('damaged')")


def test_audit_page_shows_and_filters_entries(visit: Visit, ticket_ref: str) -> None:
    page = visit.log_in("/admin/audit", "ada")
    page.wait_for_selector("#audit tr")
    actions = {td.inner_text() for td in page.query_selector_all("#audit tr td:nth-child(3)")}
    assert "login" in actions and "ticket.created" in actions
    page.fill("#a-action", "ticket.")
    page.click("#a-show")
    page.wait_for_function("[...document.querySelectorAll('#audit tr td:nth-child(3)')]"
                           ".every(td => td.textContent.startsWith('ticket.'))")


def test_api_docs_pages(visit: Visit) -> None:
    anonymous = visit.page.goto(f"{visit.base}/docs")
    assert anonymous is not None and anonymous.status == 401
    page = visit.log_in("/qa", "quinn")  # the documentation has no staff navigation: log in on a page that has
    page.goto(f"{visit.base}/docs")
    page.wait_for_selector(".opblock", timeout=20000)
    assert page.query_selector("[data-path='/api/auth/token']") is not None
    assert visit.errors == [] and visit.blocked == []
    page.goto(f"{visit.base}/redoc")
    page.wait_for_selector("[role=search], .api-content", timeout=20000)
    assert "hotline" in page.title()
    time.sleep(0.3)
    # ReDoc's bundle shows its maker's logo from their CDN ("API docs by Redocly"): refused here
    # like anything outside, the page works without it
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert set(visit.blocked) <= {logo}
    visit.blocked.clear()
    visit.errors[:] = [e for e in visit.errors if e != "console: Failed to load resource: net::ERR_FAILED"]


def test_a_page_not_for_the_user_s_roles_is_refused(visit: Visit) -> None:
    page = visit.log_in("/desk", "alice")
    refused = page.goto(f"{visit.base}/admin/flows")
    assert refused is not None and refused.status == 403
    assert "needs the role admin" in page.inner_text("#forbidden")
    page.wait_for_selector("#staff-nav a[href='/desk']")  # the way back: the user's own pages
