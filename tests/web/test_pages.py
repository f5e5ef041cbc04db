"""The pages as static files: every page is an HTML file that loads the one shared prelude and
style sheet and its own script (no inline JavaScript), the files it names exist, option lists
written out in HTML agree with the Python constants, and the refusal page escapes its reason.
And the app's lifespan: it closes what the app opened itself."""

from __future__ import annotations

import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from hotline.center.audit import AuditLog
from hotline.center.store import SqliteCallStore
from hotline.center.tickets import TICKET_PRIORITIES, TICKET_STATUSES, TICKET_TYPES
from hotline.web.access import PAGES
from hotline.web.app import AppState, create_app
from hotline.web.pages import ASSETS_DIR, PAGES_DIR, forbidden_page, login_page

STAFF_PAGES = {"/desk": "desk.html", "/tickets": "tickets.html", "/qa": "qa.html", "/admin/flows": "flows.html",
               "/admin/knowledge": "knowledge.html", "/admin/audit": "audit.html", "/": "home.html",
               "/reports": "reports.html", "/supervisor": "supervisor.html"}
PUBLIC_PAGES = {"/login": "login.html", "/call": "call.html"}
STAFF_FILES = {*STAFF_PAGES.values(), "forbidden.html"}  # the refusal page has the staff navigation


class Page(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.scripts: list[str | None] = []
        self.styles: list[str] = []
        self.body: dict[str, str | None] = {}
        self.ids: list[str] = []
        self.options: dict[str, list[str]] = {}
        self._select: str | None = None
        self._option = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "script":
            self.scripts.append(a.get("src"))
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.styles.append(str(a["href"]))
        elif tag == "body":
            self.body = a
        elif tag == "select":
            self._select = str(a.get("id"))
            self.options[self._select] = []
        elif tag == "option" and self._select is not None:
            self._option = "value" not in a  # "any" has value=""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "option":
            self._option = False

    def handle_data(self, data: str) -> None:
        if self._select is not None and self._option and data.strip():
            self.options[self._select].append(data.strip())


def parse(name: str) -> Page:
    return Page((PAGES_DIR / name).read_text(encoding="utf-8"))


def test_every_page_of_the_navigation_is_a_file() -> None:
    assert {p.path for p in PAGES} - {"/docs"} <= set(STAFF_PAGES)
    assert {f.name for f in PAGES_DIR.glob("*.html")} == STAFF_FILES | set(PUBLIC_PAGES.values())


@pytest.mark.parametrize("name", sorted(STAFF_FILES | set(PUBLIC_PAGES.values())))
def test_a_page_loads_the_prelude_its_script_and_nothing_inline(name: str) -> None:
    page = parse(name)
    # the shared style sheet first; a page may add its own after it (qa.css)
    assert page.styles[0] == "/static/hotline.css" and len(page.styles) <= 2, page.styles
    for href in page.styles:
        assert (ASSETS_DIR / href.removeprefix("/static/")).is_file(), href
    assert page.scripts[0] == "/static/hotline.js" and None not in page.scripts, page.scripts  # no inline script
    assert len(page.ids) == len(set(page.ids)), "duplicate element ids"
    for src in page.scripts:
        assert src is not None and (ASSETS_DIR / src.removeprefix("/static/")).is_file(), src
    staff = name in STAFF_FILES
    assert page.body.get("data-staff") == ("yes" if staff else "no")
    assert ("staff-nav" in page.ids) == staff
    text = (PAGES_DIR / name).read_text(encoding="utf-8")
    assert not re.search(r"\son[a-z]+=", text), "inline event handlers belong in the page's script"


def test_every_asset_is_used_by_a_page() -> None:
    used = {str(src).removeprefix("/static/") for f in PAGES_DIR.glob("*.html") for src in parse(f.name).scripts}
    used |= {s.removeprefix("/static/") for f in PAGES_DIR.glob("*.html") for s in parse(f.name).styles}
    assert {f.name for f in ASSETS_DIR.iterdir()} == used


def test_the_pages_option_lists_are_the_ticket_constants() -> None:
    tickets = parse("tickets.html").options
    assert tickets["f-status"] == tickets["d-status"] == list(TICKET_STATUSES)
    assert tickets["f-type"] == list(TICKET_TYPES)
    assert tickets["f-priority"] == tickets["d-priority"] == list(TICKET_PRIORITIES)
    desk = parse("desk.html").options
    assert desk["new-ticket-type"] == list(TICKET_TYPES)
    assert desk["new-ticket-priority"][0] == "normal"  # the default first
    assert sorted(desk["new-ticket-priority"]) == sorted(TICKET_PRIORITIES)


def test_the_login_and_refusal_pages() -> None:
    assert 'id="login-form"' in login_page() and 'data-staff="no"' in login_page()
    refused = forbidden_page('needs the role <b>admin</b> & "more"')
    assert "{{" not in refused and 'id="forbidden"' in refused
    assert "needs the role &lt;b&gt;admin&lt;/b&gt; &amp; &quot;more&quot;" in refused


async def test_the_app_lifespan_closes_what_the_app_opened(tmp_path: Path) -> None:
    async def listening() -> bool:
        return True

    client = aioredis.from_url("redis://127.0.0.1:1")  # never connected to here
    ours = AuditLog(tmp_path / "ours.db")
    given = create_app(AppState(SqliteCallStore(tmp_path / "calls.db"), client, "127.0.0.1:5060", listening,
                                "whisper", "base", tmp_path, audit=ours))
    own = create_app(AppState(SqliteCallStore(tmp_path / "calls.db"), client, "127.0.0.1:5060", listening,
                              "whisper", "base", tmp_path))
    for app in (given, own):
        async with app.router.lifespan_context(app):
            app.state.access.audit.record("ada", "test")
    ours.record("ada", "still open")  # the caller's audit log is the caller's to close
    with pytest.raises(sqlite3.ProgrammingError):  # the one the app opened itself is closed
        own.state.access.audit.record("ada", "after shutdown")
    ours.close()
    await client.aclose()
