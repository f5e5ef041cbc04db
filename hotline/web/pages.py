"""The built-in pages are static files: HTML in `static/pages/` (served by the routes that
`add_page` makes, so each page keeps its URL and its access rule) and their scripts and style sheet
in `static/assets/` (public, at /static: no data in them). Every page loads one shared prelude,
`/static/hotline.js` (login form, fetch with the CSRF header, escaping, navigation), and one style
sheet, `/static/hotline.css`; a page's own script fetches its data from the JSON API.

The login form answers every staff page an anonymous visitor opens (HTTP 401); the refusal page
is the one page with a server-side value in it: the reason, HTML-escaped."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).parent / "static"
PAGES_DIR = STATIC / "pages"
ASSETS_DIR = STATIC / "assets"


# the pages' icon (/favicon.ico, public): a 32x32 headset on blue, PNG in an ICO; kept here rather
# than in static/assets, which holds only what the pages load as scripts and style sheets
FAVICON = base64.b64decode(
    "AAABAAEAICAAAAEAIAC0AAAAFgAAAIlQTkcNChoKAAAADUlIRFIAAAAgAAAAIAgGAAAAc3p69AAAAHtJREFUeNrt18ENwCAMA0Bv0tE6K"
    "qO1A7RFMRiSSo7Ek/geCCXARx1nu5QHkVKHUphd4a+I3eEPxO8AvaIBquBRCNTBLAQrwyMIjIQr71CAmfdCA2bCmR41AYrwaK96AMXnwvQw"
    "wAAD0qYhA+oAPJaXAKSvZiWW06z1/Ab3mNFoSw7D5wAAAABJRU5ErkJggg==")


def page_file(name: str) -> Path:
    path = PAGES_DIR / name
    if not path.is_file():  # a packaging mistake: fail at start-up, not on the first visit
        raise FileNotFoundError(f"page {name} is not installed ({path})")
    return path


def add_page(router: APIRouter, path: str, name: str) -> None:
    """`GET path` serves `static/pages/name` (its access rule is `access.RULES[("GET", path)]`)."""
    file = page_file(name)

    async def serve_page() -> FileResponse:
        return FileResponse(file, media_type="text/html; charset=utf-8")

    router.add_api_route(path, serve_page, methods=["GET"], response_class=FileResponse, include_in_schema=False,
                         name=f"page:{name}")


def login_page() -> str:
    return page_file("login.html").read_text(encoding="utf-8")


def forbidden_page(detail: str) -> str:
    return page_file("forbidden.html").read_text(encoding="utf-8").replace("{{detail}}", escape(detail))
