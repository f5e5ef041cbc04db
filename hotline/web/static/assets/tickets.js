// The ticket list (agents, supervisors, admins): filters, and one ticket's details, changes and history.
'use strict';
const {$, esc, when} = hotline;
let current = null;
async function search() {
  const q = new URLSearchParams();
  for (const k of ['status', 'type', 'priority', 'assignee', 'queue']) if ($('f-' + k).value) q.set(k, $('f-' + k).value);
  if ($('f-open').checked) q.set('open_only', 'true');
  if ($('f-overdue').checked) q.set('overdue', 'true');
  const list = await hotline.getJSON('/api/tickets?' + q);
  $('list').innerHTML = list.map(t => `<tr data-ref="${esc(t.ref)}" class="${t.overdue ? 'overdue' : ''}">
    <td><a href="#${esc(t.ref)}">${esc(t.ref)}</a></td><td>${esc(t.type)}</td><td>${esc(t.status)}</td>
    <td>${esc(t.priority)}</td><td>${esc(t.caller)}</td><td>${esc(t.parcel_number)}</td>
    <td>${esc(t.assignee)} ${esc(t.queue)}</td>
    <td${t.overdue ? ' class="error"' : ''}>${when(t.due_at)}${t.overdue ? ' (overdue)' : ''}</td>
    <td>${esc(t.description)}</td></tr>`).join('');
}
async function show(ref) {
  const r = await hotline.request('/api/tickets/' + encodeURIComponent(ref));
  if (!r.ok) return;
  const t = current = r.body;
  $('detail').hidden = false;
  $('d-ref').textContent = t.ref;
  $('d-summary').textContent = `${t.type}, ${t.priority}, created ${when(t.created_at)}, due ${when(t.due_at)}` +
    (t.call_id ? `, call ${t.call_id}` : '');
  $('d-status').value = t.status;
  $('d-assignee').value = t.assignee;
  $('d-queue').value = t.queue;
  $('d-priority').value = t.priority;
  $('d-history').innerHTML = t.history.map(h => `<li>${when(h.at)} ${esc(h.by)}: ${h.status ? 'status ' + esc(h.status) : ''}
    ${h.changes ? esc(Object.entries(h.changes).map(([k, v]) => `${k} ${v[0] || '-'} -> ${v[1]}`).join(', ')) : ''}
    ${h.note ? esc(h.note) : ''}</li>`).join('');
}
$('d-save').onclick = async () => {
  const body = {status: $('d-status').value, assignee: $('d-assignee').value, queue: $('d-queue').value,
                priority: $('d-priority').value, note: $('d-note').value || null};
  const r = await hotline.request('/api/tickets/' + encodeURIComponent(current.ref), 'PATCH', body);
  $('d-result').textContent = r.ok ? 'saved' : hotline.detail(r.body);
  $('d-note').value = '';
  show(current.ref);
  search();
};
$('search').onclick = search;
window.onhashchange = () => show(location.hash.slice(1));
search();
if (location.hash) show(location.hash.slice(1));
