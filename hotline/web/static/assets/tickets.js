// The ticket list (agents, supervisors, admins): filters, a new ticket, and one ticket's details,
// changes and history. A ticket's call links to the call's record for the roles that may read it.
'use strict';
const {$, esc, when} = hotline;
let current = null;
let agents = [];
let canSeeCalls = false;  // call records: qa, supervisor, admin (hotline.web.access CALLS)
let canReview = false;  // the QA page (recording and transcript): qa, admin
const callHref = id => (canReview ? `/qa?call=${encodeURIComponent(id)}` : `/api/calls/${encodeURIComponent(id)}`);
const callLink = id => (canSeeCalls
  ? `<a class="call-link" href="${callHref(id)}" target="_blank" rel="noopener">${esc(id)}</a>`
  : `<span class="call-id" title="call records are for QA, supervisors and admins">${esc(id)}</span>`);
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
    <td>${t.call_id ? callLink(t.call_id) : ''}</td><td>${esc(t.description)}</td></tr>`).join('');
}
// the assignee choices: every agent, and (in a ticket's details) whoever it is assigned to now
function assigneeOptions(select, keep) {
  const names = agents.map(a => a.username);
  const options = [select.options[0]];
  for (const a of agents) options.push(new Option(`${a.name} (${a.username})`, a.username));
  if (keep && !names.includes(keep)) options.push(new Option(`${keep} (not an agent)`, keep));
  select.replaceChildren(...options);
}
async function loadAgents() {
  const r = await hotline.request('/api/tickets/assignees');
  agents = r.ok ? r.body : [];
  assigneeOptions($('n-assignee'));
  $('agent-names').replaceChildren(...agents.map(a => new Option(a.name, a.username)));
}
async function show(ref) {
  const r = await hotline.request('/api/tickets/' + encodeURIComponent(ref));
  if (!r.ok) return;
  const t = current = r.body;
  $('detail').hidden = false;
  $('d-ref').textContent = t.ref;
  $('d-summary').textContent = `${t.type}, ${t.priority}, created ${when(t.created_at)}, due ${when(t.due_at)}` +
    (t.caller ? `, caller ${t.caller}` : '') + (t.parcel_number ? `, parcel ${t.parcel_number}` : '') +
    (t.description ? `: ${t.description}` : '');
  $('d-call-line').hidden = !t.call_id;
  $('d-call').innerHTML = t.call_id ? callLink(t.call_id) : '';
  $('d-status').value = t.status;
  assigneeOptions($('d-assignee'), t.assignee);
  $('d-assignee').value = t.assignee;
  $('d-queue').value = t.queue;
  $('d-priority').value = t.priority;
  $('d-history').innerHTML = t.history.map(h => `<li>${when(h.at)} ${esc(h.by)}: ${h.status ? 'status ' + esc(h.status) : ''}
    ${h.changes ? esc(Object.entries(h.changes).map(([k, v]) => `${k} ${v[0] || '-'} -> ${v[1]}`).join(', ')) : ''}
    ${h.note ? esc(h.note) : ''}</li>`).join('');
}
$('d-form').onsubmit = async ev => {
  ev.preventDefault();
  const body = {status: $('d-status').value, queue: $('d-queue').value, priority: $('d-priority').value,
                note: $('d-note').value || null};
  // the assignee only when changed: one given before the checks (a flow's, say) does not block a change
  if ($('d-assignee').value !== current.assignee) body.assignee = $('d-assignee').value;
  const r = await hotline.request('/api/tickets/' + encodeURIComponent(current.ref), 'PATCH', body);
  $('d-result').textContent = r.ok ? 'saved' : hotline.detail(r.body);
  if (!r.ok) return;
  $('d-note').value = '';
  show(current.ref);
  search();
};

// --- a new ticket ---------------------------------------------------------------------------
const NEW_FIELDS = {type: 'n-type', priority: 'n-priority', caller: 'n-caller', parcel_number: 'n-parcel',
                    call_id: 'n-call', description: 'n-description', assignee: 'n-assignee', queue: 'n-queue'};
function clearNewErrors() {
  for (const el of document.querySelectorAll('#new-ticket .field-error')) el.textContent = '';
  for (const el of document.querySelectorAll('#new-ticket [aria-invalid]')) el.removeAttribute('aria-invalid');
}
function newError(name, message) {
  const error = $('err-' + (name === 'queue' ? 'assignee' : name));
  if (!error) return false;
  error.textContent = message;
  $(NEW_FIELDS[name]).setAttribute('aria-invalid', 'true');
  return true;
}
// the API's refusal next to its field: a sentence naming the field, or pydantic's list of errors
function placeErrors(detail) {
  if (typeof detail === 'string') {
    const m = detail.match(/^(?:ticket )?(type|priority|assignee|caller|parcel|description)\b/);
    const name = m ? (m[1] === 'parcel' ? 'parcel_number' : m[1]) : '';
    return name && newError(name, detail);
  }
  let placed = false;
  for (const e of [].concat(detail || [])) {
    const name = e.loc ? e.loc[e.loc.length - 1] : '';
    placed = (NEW_FIELDS[name] && newError(name, e.msg)) || placed;
  }
  return placed;
}
$('new-ticket-form').onsubmit = async ev => {
  ev.preventDefault();
  clearNewErrors();
  $('n-result').textContent = '';
  const body = {};
  for (const [name, id] of Object.entries(NEW_FIELDS)) body[name] = $(id).value.trim();
  if (!body.type) {
    newError('type', 'choose the type of ticket');
    $('n-type').focus();
    return;
  }
  const r = await hotline.request('/api/tickets', 'POST', body);
  if (!r.ok) {
    if (!placeErrors(r.body.detail)) $('n-result').textContent = hotline.detail(r.body);
    const first = document.querySelector('#new-ticket [aria-invalid=true]');
    if (first) first.focus();
    return;
  }
  $('n-result').textContent = `created ticket ${r.body.ref}`;
  document.body.dataset.created = r.body.ref;
  for (const id of ['n-caller', 'n-parcel', 'n-call', 'n-description', 'n-queue']) $(id).value = '';
  $('n-type').value = '';
  $('n-priority').value = 'normal';
  $('n-assignee').value = '';
  await search();
  location.hash = r.body.ref;
};
$('new-ticket-open').onclick = () => {
  $('new-ticket').hidden = false;
  $('n-type').focus();
};
$('n-cancel').onclick = () => { clearNewErrors(); $('new-ticket').hidden = true; };
for (const id of Object.values(NEW_FIELDS)) {
  $(id).addEventListener('input', () => {
    $(id).removeAttribute('aria-invalid');
    const error = $(id).getAttribute('aria-describedby');
    if (error) $(error).textContent = '';
  });
}

$('filters').onsubmit = ev => { ev.preventDefault(); search(); };
window.onhashchange = () => show(location.hash.slice(1));
Promise.all([hotline.me, loadAgents()]).then(([user]) => {
  canSeeCalls = Boolean(user && user.roles.some(r => ['qa', 'supervisor', 'admin'].includes(r)));
  canReview = Boolean(user && user.roles.some(r => ['qa', 'admin'].includes(r)));
  search();
  if (location.hash) show(location.hash.slice(1));
});
