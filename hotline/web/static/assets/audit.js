// The audit log (admin): who did what, newest first.
'use strict';
const {$, esc} = hotline;
async function show() {
  const q = new URLSearchParams({limit: 500});
  if ($('a-actor').value) q.set('actor', $('a-actor').value);
  if ($('a-action').value) q.set('action', $('a-action').value);
  const r = await hotline.request('/api/audit?' + q);
  const rows = r.ok ? r.body : [];
  $('audit').innerHTML = rows.map(e => `<tr><td>${new Date(e.at * 1000).toLocaleString()}</td><td>${esc(e.actor)}</td>
    <td>${esc(e.action)}</td><td>${esc(e.target)}</td><td>${esc(e.address)}</td>
    <td class="file">${esc(JSON.stringify(e.detail))}</td></tr>`).join('');
}
$('a-show').onclick = show;
show();
