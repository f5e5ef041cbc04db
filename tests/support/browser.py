"""Browser helpers shared by the end-to-end tests of the built-in pages."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

from tests.support.tools import require


def log_in(page: Any, url: str, username: str, password: str, timeout_ms: float = 30000) -> None:
    """Open a staff page and log in on the login form it answers with (HTTP 401, anonymous visitor);
    the form reloads the same URL, and this returns once the real page is there (the navigation
    shows the user). A refused login or a page the user's roles do not open fails here."""
    page.goto(url)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login")
    shown = page.wait_for_selector("#whoami, #login-error:not(:empty)", timeout=timeout_ms)
    if shown.get_attribute("id") == "login-error":
        raise AssertionError(f"login as {username} on {url} refused: {shown.inner_text()}")
    refused = page.query_selector("#forbidden")
    if refused is not None:
        raise AssertionError(f"{username} may not open {url}: {refused.inner_text()}")


# a page answered with the login form (401) or the refusal page (403) is the expected answer, not an error
EXPECTED_STATUS = ("status of 401", "status of 403")


def watch_errors(page: Any) -> list[str]:
    """The page's uncaught exceptions and console errors from now on (a list that fills as they
    happen); the browser's note on a document answered 401 or 403 is left out."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error"
            and not any(s in msg.text for s in EXPECTED_STATUS) else None)
    return errors


# headless Chromium as the page tests run it: no sandbox (root in CI), nothing fetched in the background
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")
MEDIA_FLAGS = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")  # a microphone, no prompt


@contextlib.contextmanager
def headless_chromium(*extra_flags: str) -> Iterator[Any]:
    """Debian's chromium driven by Playwright (the browser the set-up installed)."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=require("chromium"), headless=True,
                                     args=[*CHROMIUM_FLAGS, *extra_flags])
        yield chromium
        chromium.close()


class Visit:
    """A fresh browser context (no cookie yet) that records the page's errors, the requests it tried
    to send outside (refused: the pages must work offline) and, with ``track_missing``, its 404s."""

    def __init__(self, browser: Any, base: str, passwords: Mapping[str, str],
                 viewport: dict[str, int] | None = None, track_missing: bool = True) -> None:
        self.base, self.passwords = base, passwords
        self.context = browser.new_context(viewport=viewport) if viewport else browser.new_context()
        self.blocked: list[str] = []
        self.missing: list[str] = []
        self.context.route("**/*", self._only_local)
        self.page = self.context.new_page()
        if track_missing:
            self.page.on("response", lambda r: self.missing.append(r.url) if r.status == 404 else None)
        self.errors = watch_errors(self.page)

    def _only_local(self, route: Any) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def log_in(self, path: str, user: str) -> Any:
        log_in(self.page, f"{self.base}{path}", user, self.passwords[user])
        return self.page

    def check(self) -> None:
        time.sleep(0.3)  # late errors of the last action
        assert self.errors == [] and self.blocked == [] and self.missing == [], (self.errors, self.blocked,
                                                                                 self.missing)
