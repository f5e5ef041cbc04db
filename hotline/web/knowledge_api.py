"""The knowledge base over HTTP: status and errors, articles (read, create, edit, delete), a
matcher try-out, the usage report, and the admin page."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from hotline.assist.kb import KbError, to_plain
from hotline.assist.matcher import Matcher
from hotline.assist.registry import KnowledgeRegistry
from hotline.assist.report import usage_report
from hotline.center.store import CallStore
from hotline.web.access import Access
from hotline.web.pages import page

_EXAMPLE = {"title": "Parcel arrived damaged", "tags": ["broken", "crushed"], "title_zh": "包裹破损",
            "script": "I'm sorry it arrived damaged...", "steps": ["Ask for photos", "Create a damage ticket"]}


def _when(value: str | None, default: float) -> float:
    """An ISO date or date-time (``2026-11-22``, ``2026-11-22T08:00``) or epoch seconds."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=f"bad time {value!r}: use 2026-11-22, "
                                                    "2026-11-22T08:00 or epoch seconds") from exc
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the server's local time zone
    return moment.timestamp()


def knowledge_router(registry: KnowledgeRegistry[Matcher], store: CallStore, access: Access) -> APIRouter:
    router = APIRouter(tags=["knowledge"])

    def current() -> Any:
        version = registry.current
        if version is None:
            raise HTTPException(status_code=503, detail={"message": "no valid knowledge base loaded",
                                                         "errors": registry.errors})
        return version

    @router.get("/api/knowledge")
    async def status() -> dict[str, Any]:
        """Version, files, errors of a rejected edit (file:line), and every article's id, title and file."""
        version = registry.current
        articles = [{"id": a.id, "title": a.title("en"), "languages": list(a.languages),
                     "file": version.files.get(a.id)} for a in version.kb] if version else []
        return {**registry.status(), "items": articles}

    @router.get("/api/knowledge/report")
    async def report(since: str | None = Query(None, description="ISO date/time or epoch seconds; default 7 days ago"),
                     until: str | None = Query(None, description="ISO date/time or epoch seconds; default now"),
                     ) -> dict[str, Any]:
        """Knowledge-base usage: per article suggested / used / not relevant, and the match rate."""
        end = _when(until, time.time())
        start = _when(since, end - timedelta(days=7).total_seconds())
        if start >= end:
            raise HTTPException(status_code=422, detail="since must be before until")
        records = await asyncio.get_running_loop().run_in_executor(None, store.between, start, end, "assist")
        version = registry.current
        return {"since": start, "until": end, **usage_report(records, version.kb if version else None)}

    @router.get("/api/knowledge/suggest")
    async def suggest(text: str = Query(..., min_length=1, max_length=2000), language: str = Query("en"),
                      ) -> dict[str, Any]:
        """Try the matcher: the top three articles for a sentence, and whether one would be shown."""
        matcher = current().matcher
        chosen = matcher.match(text, language)
        return {"suggestion": chosen.article_id if chosen else None,
                "confidence": round(chosen.confidence, 3) if chosen else None,
                "ranked": [{"article": a, "score": round(s, 4)} for a, s in matcher.rank(text, language)]}

    @router.get("/api/knowledge/{article_id}")
    async def get_article(article_id: str) -> dict[str, Any]:
        version = current()
        article = version.kb.by_id.get(article_id)
        if article is None:
            raise HTTPException(status_code=404, detail=f"no article {article_id!r}")
        return {"article": to_plain(article), "file": version.files.get(article_id)}

    @router.put("/api/knowledge/{article_id}")
    async def put_article(request: Request, article_id: str, article: Annotated[dict[str, Any], Body(examples=[_EXAMPLE])],
                          file: str | None = Query(None, description="file for a new article (default articles.yaml)"),
                          ) -> dict[str, Any]:
        """Create or replace an article (the file layout: title, title_zh, tags, script, steps...).
        It is validated first; the file is rewritten and the matcher rebuilt at once."""
        if article.get("id", article_id) != article_id:
            raise HTTPException(status_code=422, detail=f"id in the body ({article.get('id')!r}) is not {article_id!r}")
        try:
            created = await asyncio.get_running_loop().run_in_executor(
                None, lambda: registry.put_article({**article, "id": article_id}, file))
        except KbError as exc:
            raise HTTPException(status_code=422, detail=str(exc).splitlines()) from exc
        await access.record(request, "knowledge.created" if created else "knowledge.edited", article_id,
                            {"version": registry.status()["version"]})
        return {"created": created, **await get_article(article_id)}

    @router.delete("/api/knowledge/{article_id}")
    async def delete_article(request: Request, article_id: str) -> dict[str, Any]:
        """Remove an article from its file (admin); the file's other content and comments stay."""
        try:
            await asyncio.get_running_loop().run_in_executor(None, registry.delete_article, article_id)
        except KeyError as exc:
            raise HTTPException(status_code=404, detail=f"no article {article_id!r}") from exc
        except KbError as exc:
            raise HTTPException(status_code=422, detail=str(exc).splitlines()) from exc
        version = registry.status()["version"]
        await access.record(request, "knowledge.deleted", article_id, {"version": version})
        return {"deleted": article_id, "version": version}

    @router.get("/admin/knowledge", response_class=HTMLResponse, include_in_schema=False)
    async def admin_page() -> str:
        return page("Knowledge base", _BODY, _SCRIPT)

    return router


_BODY = """
<h1>Knowledge base</h1>
<p id="kb-status"></p>
<ul id="kb-errors" class="error"></ul>
<h2>Usage, last <select id="days"><option>1</option><option selected>7</option><option>30</option></select> days</h2>
<p id="usage-summary"></p>
<table><thead><tr><th>Article</th><th>Suggested</th><th>Used</th><th>Not relevant</th><th>No verdict</th>
<th>Used rate</th></tr></thead><tbody id="usage"></tbody></table>
<p>Never suggested: <span id="never"></span></p>
<h2>Try a sentence</h2>
<input id="try-text" size="60" placeholder="my parcel arrived broken"> <select id="try-lang">
<option>en</option><option>zh</option></select> <button id="try">Match</button> <span id="try-result"></span>
<h2>Articles</h2>
<table><thead><tr><th>Id</th><th>Title</th><th>Languages</th><th>File</th></tr></thead>
<tbody id="articles"></tbody></table>
<h2>Edit an article</h2>
<p><input id="edit-id" placeholder="article id"> <button id="load">Load</button>
<button id="save">Save</button> <button id="delete">Delete</button> <span id="edit-result"></span></p>
<textarea id="edit-json" rows="16" cols="100" placeholder='{"title": "...", "tags": [], "script": "...", "steps": []}'>
</textarea>
"""

_SCRIPT = """
const $ = id => document.getElementById(id);
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const pct = x => x === null || x === undefined ? '-' : (100 * x).toFixed(1) + ' %';
async function load() {
  const kb = await (await fetch('/api/knowledge')).json();
  $('kb-status').innerHTML = `version <b>${kb.version}</b>, ${kb.articles} articles from ${esc(kb.files.join(', '))}
    <span class="status ${kb.ok ? 'ok' : 'error'}">${kb.ok ? 'ok' : 'last edit rejected'}</span>`;
  $('kb-errors').innerHTML = kb.errors.map(e => `<li>${esc(e)}</li>`).join('');
  $('articles').innerHTML = kb.items.map(a => `<tr data-article="${esc(a.id)}"><td>${esc(a.id)}</td>
    <td>${esc(a.title)}</td><td>${esc(a.languages.join(' '))}</td><td class="file">${esc(a.file)}</td></tr>`).join('');
  for (const tr of document.querySelectorAll('#articles tr')) {  // a click opens the article in the editor
    tr.style.cursor = 'pointer';
    tr.onclick = () => { $('edit-id').value = tr.dataset.article; $('load').onclick(); };
  }
  const since = Date.now() / 1000 - 86400 * Number($('days').value);
  const r = await (await fetch(`/api/knowledge/report?since=${since}`)).json();
  $('usage-summary').textContent = `${r.calls} calls with an agent, ${r.utterances} caller utterances, ` +
    `${r.suggested} cards (match rate ${pct(r.match_rate)}), ${r.used} used, ${r.not_relevant} not relevant`;
  $('usage').innerHTML = r.articles.map(a => `<tr data-article="${esc(a.id)}"><td>${esc(a.title)}
    <span class="file">${esc(a.id)}</span></td><td>${a.suggested}</td><td>${a.used}</td><td>${a.not_relevant}</td>
    <td>${a.no_feedback}</td><td>${pct(a.used_rate)}</td></tr>`).join('');
  $('never').textContent = r.never_suggested.join(', ') || '-';
}
$('days').onchange = load;
$('try').onclick = async () => {
  const r = await fetch(`/api/knowledge/suggest?text=${encodeURIComponent($('try-text').value)}&language=${$('try-lang').value}`);
  const body = await r.json();
  $('try-result').textContent = r.ok ? (body.suggestion ? `${body.suggestion} (confidence ${body.confidence})`
    : 'no suggestion') + ' - ranked: ' + body.ranked.map(x => `${x.article} ${x.score}`).join(', ') : JSON.stringify(body.detail);
};
$('load').onclick = async () => {
  const r = await fetch(`/api/knowledge/${encodeURIComponent($('edit-id').value)}`);
  const body = await r.json();
  if (!r.ok) { $('edit-result').textContent = JSON.stringify(body.detail); return; }
  $('edit-json').value = JSON.stringify(body.article, null, 2);
  $('edit-result').textContent = body.file;
};
$('save').onclick = async () => {
  let article;
  try { article = JSON.parse($('edit-json').value); } catch (e) { $('edit-result').textContent = 'not JSON: ' + e; return; }
  const r = await fetch(`/api/knowledge/${encodeURIComponent($('edit-id').value)}`,
    {method: 'PUT', headers: {'content-type': 'application/json'}, body: JSON.stringify(article)});
  const body = await r.json();
  $('edit-result').textContent = r.ok ? (body.created ? 'created' : 'saved') : [].concat(body.detail).join('; ');
  load();
};
$('delete').onclick = async () => {
  const id = $('edit-id').value;
  if (!id || !confirm(`Delete the article ${id}? It is removed from its file at once.`)) return;
  const r = await fetch(`/api/knowledge/${encodeURIComponent($('edit-id').value)}`, {method: 'DELETE'});
  $('edit-result').textContent = r.ok ? 'deleted' : JSON.stringify((await r.json()).detail);
  load();
};
load();
"""
