// The knowledge base page (admin): status, usage report, a matcher try-out and the article editor.
'use strict';
const {$, esc} = hotline;
const pct = x => (x === null || x === undefined ? '-' : (100 * x).toFixed(1) + ' %');
async function load() {
  const kb = await hotline.getJSON('/api/knowledge');
  $('kb-status').innerHTML = `version <b>${esc(kb.version)}</b>, ${kb.articles} articles from ${esc(kb.files.join(', '))}
    <span class="status ${kb.ok ? 'ok' : 'error'}">${kb.ok ? 'ok' : 'last edit rejected'}</span>`;
  $('kb-errors').innerHTML = kb.errors.map(e => `<li>${esc(e)}</li>`).join('');
  $('articles').innerHTML = kb.items.map(a => `<tr data-article="${esc(a.id)}"><td>${esc(a.id)}</td>
    <td>${esc(a.title)}</td><td>${esc(a.languages.join(' '))}</td><td class="file">${esc(a.file)}</td></tr>`).join('');
  for (const tr of document.querySelectorAll('#articles tr')) {  // a click opens the article in the editor
    tr.onclick = () => { $('edit-id').value = tr.dataset.article; loadArticle(); };
  }
  const since = Date.now() / 1000 - 86400 * Number($('days').value);
  const r = await hotline.getJSON(`/api/knowledge/report?since=${since}`);
  $('usage-summary').textContent = `${r.calls} calls with an agent, ${r.utterances} caller utterances, ` +
    `${r.suggested} cards (match rate ${pct(r.match_rate)}), ${r.used} used, ${r.not_relevant} not relevant`;
  $('usage').innerHTML = r.articles.map(a => `<tr data-article="${esc(a.id)}"><td>${esc(a.title)}
    <span class="file">${esc(a.id)}</span></td><td>${a.suggested}</td><td>${a.used}</td><td>${a.not_relevant}</td>
    <td>${a.no_feedback}</td><td>${pct(a.used_rate)}</td></tr>`).join('');
  $('never').textContent = r.never_suggested.join(', ') || '-';
}
const articleUrl = () => `/api/knowledge/${encodeURIComponent($('edit-id').value)}`;
async function loadArticle() {
  const r = await hotline.request(articleUrl());
  if (!r.ok) { $('edit-result').textContent = JSON.stringify(r.body.detail); return; }
  $('edit-json').value = JSON.stringify(r.body.article, null, 2);
  $('edit-result').textContent = r.body.file;
}
$('days').onchange = load;
$('try').onclick = async () => {
  const q = new URLSearchParams({text: $('try-text').value, language: $('try-lang').value});
  const r = await hotline.request(`/api/knowledge/suggest?${q}`);
  const body = r.body;
  $('try-result').textContent = r.ok ? (body.suggestion ? `${body.suggestion} (confidence ${body.confidence})`
    : 'no suggestion') + ' - ranked: ' + body.ranked.map(x => `${x.article} ${x.score}`).join(', ') : JSON.stringify(body.detail);
};
$('load').onclick = loadArticle;
$('save').onclick = async () => {
  let article;
  try { article = JSON.parse($('edit-json').value); } catch (e) { $('edit-result').textContent = 'not JSON: ' + e; return; }
  const r = await hotline.request(articleUrl(), 'PUT', article);
  $('edit-result').textContent = r.ok ? (r.body.created ? 'created' : 'saved') : [].concat(r.body.detail).join('; ');
  load();
};
$('delete').onclick = async () => {
  const id = $('edit-id').value;
  if (!id || !confirm(`Delete the article ${id}? It is removed from its file at once.`)) return;
  const r = await hotline.request(articleUrl(), 'DELETE');
  $('edit-result').textContent = r.ok ? 'deleted' : JSON.stringify(r.body.detail);
  load();
};
load();
