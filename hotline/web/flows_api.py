"""Flows over HTTP: status and errors, versions, rollback, diagrams, and the admin page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from hotline.ivr.diagram import flow_svg
from hotline.ivr.loader import parse_flow_text
from hotline.ivr.model import FlowErrors
from hotline.ivr.registry import FlowRegistry
from hotline.web.access import Access
from hotline.web.pages import page


class Rollback(BaseModel):
    version: int = Field(ge=1, description="the version to make active again")


def flows_router(registry: FlowRegistry, access: Access) -> APIRouter:
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
        return Response(flow_svg(flow), media_type="image/svg+xml")

    @router.get("/admin/flows", response_class=HTMLResponse, include_in_schema=False)
    async def admin_page() -> str:
        return page("Flows", _ADMIN_BODY, _ADMIN_SCRIPT)

    return router


_ADMIN_BODY = """
<h1>IVR flows</h1>
<p>Files in the flows directory are validated when they change. A broken edit is rejected and the
previous version keeps serving; calls in progress always finish on the version they started with.</p>
<table id="flows"><thead><tr><th>Flow</th><th>Status</th><th>Active</th><th>Versions</th><th></th></tr></thead>
<tbody></tbody></table>
<section id="diagram"></section>
"""

_ADMIN_SCRIPT = """
const esc = s => String(s).replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
async function load() {
  const flows = await (await fetch('/api/flows')).json();
  const rows = flows.map(f => {
    const errors = f.errors.map(e => `<div class="error">${esc(e.file)}:${e.line}:${e.column}: ${esc(e.message)}</div>`).join('');
    const versions = f.versions.slice(0, 8).map(v =>
      `<button data-flow="${esc(f.name)}" data-version="${v.version}" ${v.version === f.active_version ? 'disabled' : ''}>`
      + `v${v.version}${v.source === 'rollback' ? ' (rollback)' : ''}</button>`).join(' ');
    return `<tr data-flow="${esc(f.name)}"><td><a href="#" data-graph="${esc(f.name)}">${esc(f.name)}</a>`
      + `<div class="file">${esc(f.file)}</div></td>`
      + `<td class="status ${f.status}">${f.status}${errors}</td><td>${f.active_version ? 'v' + f.active_version : '-'}</td>`
      + `<td>${versions}</td><td>${f.nodes} nodes, ${esc(f.languages.join(', '))}</td></tr>`;
  });
  document.querySelector('#flows tbody').innerHTML = rows.join('');
}
document.addEventListener('click', async ev => {
  const t = ev.target;
  if (t.dataset.graph) {
    ev.preventDefault();
    document.getElementById('diagram').innerHTML =
      `<h2>${esc(t.dataset.graph)}</h2><img alt="diagram" src="/api/flows/${encodeURIComponent(t.dataset.graph)}/graph.svg?ts=${Date.now()}">`;
  } else if (t.dataset.version) {
    if (!confirm(`Make version ${t.dataset.version} of ${t.dataset.flow} active?`)) return;
    const r = await fetch(`/api/flows/${encodeURIComponent(t.dataset.flow)}/rollback`,
      {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({version: +t.dataset.version})});
    if (!r.ok) alert(JSON.stringify((await r.json()).detail));
    load();
  }
});
load();
setInterval(load, 3000);
"""
