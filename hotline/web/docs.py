"""API documentation that works with no internet: Swagger UI at /docs and ReDoc at /redoc load
their scripts from files installed with hotline (the `fastapi-offline` package ships Swagger UI's
and ReDoc's built assets), not from a CDN. Like every staff page, they need a login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from hotline.web.pages import ASSETS_DIR

DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"


def mount_static(app: FastAPI) -> None:
    """Static files: the pages' scripts and style sheet and the documentation assets (nothing
    private; the pages' HTML is served by their own routes, behind their access rules)."""
    app.mount("/static/docs", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.mount("/static", StaticFiles(directory=ASSETS_DIR), name="static")


def docs_router(app: FastAPI) -> APIRouter:
    router = APIRouter()
    schema: dict[str, Any] = {}

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        if not schema:
            schema.update(app.openapi())
            # Swagger UI's "Authorize" takes a token from POST /api/auth/token; GETs also work with
            # the page's session cookie
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "a token from POST /api/auth/token"}}
            schema["security"] = [{"bearer": []}]
        return JSONResponse(schema)

    @router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - API",
                                   swagger_js_url="/static/docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static/docs/swagger-ui.css",
                                   swagger_favicon_url="/static/docs/favicon.png")

    @router.get("/redoc", response_class=HTMLResponse, include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} - API",
                              redoc_js_url="/static/docs/redoc.standalone.js",
                              redoc_favicon_url="/static/docs/favicon.png", with_google_fonts=False)

    return router
