// The flows page (admin): status and errors of every flow file, versions and rollback, diagrams.
'use strict';
const {$, esc} = hotline;
async function load() {
  const flows = await hotline.getJSON('/api/flows');
  const rows = flows.map(f => {
    const errors = f.errors.map(e => `<div class="error">${esc(e.file)}:${e.line}:${e.column}: ${esc(e.message)}</div>`).join('');
    const versions = f.versions.slice(0, 8).map(v =>
      `<button data-flow="${esc(f.name)}" data-version="${v.version}" ${v.version === f.active_version ? 'disabled' : ''}>`
      + `v${v.version}${v.source === 'rollback' ? ' (rollback)' : ''}</button>`).join(' ');
    return `<tr data-flow="${esc(f.name)}"><td><a href="#" data-graph="${esc(f.name)}">${esc(f.name)}</a>`
      + `<div class="file">${esc(f.file)}</div></td>`
      + `<td class="status ${esc(f.status)}">${esc(f.status)}${errors}</td><td>${f.active_version ? 'v' + f.active_version : '-'}</td>`
      + `<td>${versions}</td><td>${f.nodes} nodes, ${esc(f.languages.join(', '))}</td></tr>`;
  });
  document.querySelector('#flows tbody').innerHTML = rows.join('');
}
document.addEventListener('click', async ev => {
  const t = ev.target;
  if (t.dataset.graph) {
    ev.preventDefault();
    $('diagram').innerHTML = `<h2>${esc(t.dataset.graph)}</h2>`
      + `<img alt="diagram" src="/api/flows/${encodeURIComponent(t.dataset.graph)}/graph.svg?ts=${Date.now()}">`;
  } else if (t.dataset.version) {
    if (!confirm(`Make version ${t.dataset.version} of ${t.dataset.flow} active?`)) return;
    const r = await hotline.request(`/api/flows/${encodeURIComponent(t.dataset.flow)}/rollback`, 'POST',
      {version: Number(t.dataset.version)});
    if (!r.ok) alert(JSON.stringify(r.body.detail));
    load();
  }
});
load();
setInterval(load, 3000);
