"""Browser helpers shared by the end-to-end tests of the built-in pages."""

from __future__ import annotations

from typing import Any


def log_in(page: Any, url: str, username: str, password: str) -> None:
    """Open a page with the standard login form (desk, QA) and submit it."""
    page.goto(url)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login")
