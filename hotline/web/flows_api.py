"""Flows over HTTP: status and errors, versions, rollback, diagrams, and the admin page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from hotline.ivr.diagram import flow_svg
from hotline.ivr.graph import DiagramError
from hotline.ivr.loader import parse_flow_text
from hotline.ivr.model import FlowErrors
from hotline.ivr.registry import FlowRegistry
from hotline.web.access import Access
from hotline.web.pages import add_page


class Rollback(BaseModel):
    version: int = Field(ge=1, description="the version to make active again")


def flows_router(registry: FlowRegistry, access: Access,
                 on_activated: Callable[[], Awaitable[object]] | None = None) -> APIRouter:
    """`on_activated`: awaited after a rollback made another version active (e.g. the cluster's publish)."""
    router = APIRouter(tags=["flows"])

    def entry(name: str) -> dict[str, Any]:
        for item in registry.status():
            if item["name"] == name:
                return item
        raise HTTPException(status_code=404, detail=f"no flow named {name!r}")

    @router.get("/api/flows")
    async def list_flows() -> list[dict[str, Any]]:
        """Every flow file: status (ok / error with file:line:column), active version, history."""
        return registry.status()

    @router.get("/api/flows/{name}")
    async def get_flow(name: str) -> dict[str, Any]:
        return entry(name)

    @router.get("/api/flows/{name}/versions/{version}", response_class=PlainTextResponse)
    async def get_version(name: str, version: int) -> str:
        """The YAML text of one stored version."""
        try:
            return registry.version_text(name, version)
        except KeyError as exc:
            raise HTTPException(status_code=404, detail=str(exc.args[0])) from exc

    @router.post("/api/flows/{name}/rollback")
    async def rollback(request: Request, name: str, body: Rollback) -> dict[str, Any]:
        """Make an earlier version active again (admin); new calls use it, calls in progress keep theirs."""
        before = entry(name)["active_version"]
        try:
            registry.rollback(name, body.version)
        except KeyError as exc:
            raise HTTPException(status_code=404, detail=str(exc.args[0])) from exc
        except FlowErrors as exc:
            raise HTTPException(status_code=409, detail=[e.to_dict() for e in exc.errors]) from exc
        await access.record(request, "flow.rollback", name, {"from_version": before, "to_version": body.version})
        if on_activated is not None:
            await on_activated()
        return entry(name)

    @router.get("/api/flows/{name}/graph.svg", response_class=Response,
                responses={200: {"content": {"image/svg+xml": {}}}})
    async def graph(name: str, version: int | None = None) -> Response:
        item = entry(name)
        flow = registry.active.get(name)
        if version is not None:
            try:
                flow = parse_flow_text(registry.version_text(name, version), item["file"], registry.flows_dir)
            except (KeyError, FlowErrors) as exc:
                raise HTTPException(status_code=404, detail=f"version {version} cannot be drawn") from exc
        if flow is None:
            raise HTTPException(status_code=404, detail=f"flow {name!r} has no valid version")
        try:  # Graphviz runs as a child process: off the app's loop
            svg = await asyncio.to_thread(flow_svg, flow)
        except DiagramError as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from exc
        return Response(svg, media_type="image/svg+xml")

    add_page(router, "/admin/flows", "flows.html")
    return router
