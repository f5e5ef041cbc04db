// The supervisor's wallboard: polls GET /api/supervisor/live every second (the figures are computed
// on the server) and updates the tables in place, row by row, so that what other scripts put in a
// row stays there: each agent on a call has a `.monitor-controls[data-call]` container that
// /static/monitor.js (listen / whisper / barge) fills; it is kept while the agent stays on that
// call. After every update the document gets a `wallboard:render` event with the data.
// Clocks (time in state, call time, waits) tick every half second from the server's `now`.
// `?wall=1` is the large-screen mode: big type, no navigation.
'use strict';
const {$} = hotline;
const POLL_MS = 1000;
const STATE_LABELS = {
  available: 'available', ringing: 'ringing', on_call: 'on call', wrap_up: 'wrap-up', away: 'away',
  not_responding: 'not responding', offline: 'offline',
};
const wall = new URLSearchParams(location.search).get('wall') === '1';
let offset = 0;  // server clock - our clock, seconds
let failures = 0;

const serverNow = () => Date.now() / 1000 + offset;

function clock(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '-';
  const s = Math.max(0, Math.floor(seconds));
  const pad = n => String(n).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${pad(Math.floor(s % 3600 / 60))}:${pad(s % 60)}`
    : `${Math.floor(s / 60)}:${pad(s % 60)}`;
}

const percent = v => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(0)}%`);

// a cell that ticks: its text is the time since `since` (epoch seconds), '-' without one
function ticking(el, since) {
  if (since === null || since === undefined) {
    delete el.dataset.since;
    el.textContent = '-';
  } else {
    el.dataset.since = String(since);
    el.textContent = clock(serverNow() - since);
  }
}

function tick() {
  for (const el of document.querySelectorAll('[data-since]')) el.textContent = clock(serverNow() - Number(el.dataset.since));
  $('board-clock').textContent = new Date(serverNow() * 1000).toLocaleTimeString();
}

// table rows keyed by `id`, kept (and moved) rather than redrawn; `build` makes a row's cells once
function syncRows(table, items, id, build, update, empty) {
  const tbody = table.tBodies[0];
  const seen = new Set();
  let previous = null;
  for (const item of items) {
    const key = id(item);
    seen.add(key);
    let tr = [...tbody.rows].find(r => r.dataset.id === key);
    if (!tr) {
      tr = document.createElement('tr');
      tr.dataset.id = key;
      build(tr, item);
    }
    update(tr, item);
    const next = previous ? previous.nextElementSibling : tbody.firstElementChild;
    if (tr !== next) tbody.insertBefore(tr, next);
    previous = tr;
  }
  for (const tr of [...tbody.rows]) if (tr.dataset.id === undefined || !seen.has(tr.dataset.id)) tr.remove();
  if (!items.length) {
    const tr = tbody.insertRow();
    const td = tr.insertCell();
    td.colSpan = table.tHead.rows[0].cells.length;
    td.className = 'hint';
    td.textContent = empty;
  }
}

function cells(tr, keys) {
  for (const key of keys) {
    const td = tr.insertCell();
    td.dataset.key = key;
    if (/_s$|^(waiting|agents_|abandoned|answered|service_level)/.test(key)) td.className = 'num';
    if (['skills', 'monitor', 'flow', 'channel'].includes(key)) td.classList.add('detail');
  }
}

const cell = (tr, key) => tr.querySelector(`td[data-key="${key}"]`);

function setText(tr, key, value) {
  const td = cell(tr, key);
  const text = value === null || value === undefined || value === '' ? '-' : String(value);
  if (td.textContent !== text) td.textContent = text;
  return td;
}

const QUEUE_KEYS = ['queue', 'waiting', 'longest_wait_s', 'agents_available', 'agents_busy', 'service_level',
  'answered_today', 'abandoned_today', 'skills'];

function updateQueue(tr, q) {
  tr.dataset.queue = q.queue;
  tr.classList.toggle('risk', q.at_risk);
  tr.classList.toggle('waiting', q.waiting > 0);
  tr.classList.toggle('over-max', q.over_max_wait > 0);
  setText(tr, 'queue', q.queue);
  setText(tr, 'waiting', q.waiting).title = q.ringing ? `${q.ringing} ringing an agent` : '';
  ticking(cell(tr, 'longest_wait_s'), q.oldest_at);
  setText(tr, 'agents_available', q.agents_available);
  setText(tr, 'agents_busy', q.agents_busy);
  const sl = setText(tr, 'service_level', percent(q.service_level));
  sl.title = `${q.answered_in_target_today} of ${q.service_level_calls} answered within the target`;
  setText(tr, 'answered_today', `${q.answered_today} / ${q.offered_today}`);
  setText(tr, 'abandoned_today', q.abandoned_today);
  setText(tr, 'skills', q.skills.filter(Boolean).join(', '));
}

const AGENT_KEYS = ['agent', 'state', 'in_state_s', 'call', 'call_s', 'queue', 'skills', 'monitor'];

function updateAgent(tr, a) {
  tr.dataset.agent = a.username;
  tr.dataset.state = a.state;
  const who = setText(tr, 'agent', a.name);
  who.title = a.username;
  let state = STATE_LABELS[a.state] || a.state;
  if (a.reason) state += ` (${a.reason})`;
  if (a.next_state) state += `, then ${STATE_LABELS[a.next_state] || a.next_state}`;
  setText(tr, 'state', state).dataset.state = a.state;
  ticking(cell(tr, 'in_state_s'), a.since);
  setText(tr, 'call', a.call);
  ticking(cell(tr, 'call_s'), a.call_since);
  setText(tr, 'queue', a.queue);
  setText(tr, 'skills', a.skills.join(', '));
  // the listen / whisper / barge container: kept while the agent stays on the same call
  const td = cell(tr, 'monitor');
  const box = td.querySelector('.monitor-controls');
  if (!a.monitor) {
    if (box) box.remove();
  } else if (!box || box.dataset.call !== a.call) {
    const fresh = document.createElement('div');
    fresh.className = 'monitor-controls';
    fresh.dataset.call = a.call;
    fresh.dataset.agent = a.username;
    if (box) box.replaceWith(fresh); else td.appendChild(fresh);
  }
}

const IVR_KEYS = ['call', 'node', 'duration_s', 'flow', 'channel'];

function updateIvr(tr, c) {
  tr.dataset.call = c.call;
  setText(tr, 'call', c.call);
  setText(tr, 'node', c.node);
  ticking(cell(tr, 'duration_s'), c.started_at);
  setText(tr, 'flow', c.flow);
  setText(tr, 'channel', c.channel);
}

function renderAlerts(alerts) {
  const list = $('alerts');
  list.replaceChildren();
  for (const a of alerts) {
    const li = document.createElement('li');
    li.className = `alert ${a.severity}`;
    li.dataset.kind = a.kind;
    li.textContent = a.text;
    if (a.kind === 'overdue_tickets' && a.tickets.length) {
      const refs = document.createElement('span');
      refs.className = 'refs';
      refs.textContent = ` (${a.tickets.map(t => t.ref).join(', ')}${a.count > a.tickets.length ? ', ...' : ''})`;
      li.appendChild(refs);
    }
    list.appendChild(li);
  }
  if (!alerts.length) list.innerHTML = '<li class="hint">none</li>';
  $('h-alerts').textContent = alerts.length ? `Alerts (${alerts.length})` : 'Alerts';
}

function render(data) {
  const t = data.totals;
  $('t-waiting').textContent = String(t.waiting);
  ticking($('t-longest'), t.oldest_at);
  $('t-sl').textContent = percent(t.service_level);
  $('t-sl').classList.toggle('risk', t.service_level !== null && t.service_level < data.config.service_level_goal);
  $('t-sl-goal').textContent = `goal ${percent(data.config.service_level_goal)} within ${data.config.service_target_s} s`;
  $('t-abandoned').textContent = String(t.abandoned_today);
  $('t-ivr').textContent = String(t.in_ivr);
  $('t-agents').textContent = Object.entries(t.agents).filter(([s]) => s !== 'offline')
    .map(([s, n]) => `${n} ${STATE_LABELS[s] || s}`).join(' · ') || 'nobody logged in';
  renderAlerts(data.alerts);
  syncRows($('queues'), data.queues, q => q.queue, tr => cells(tr, QUEUE_KEYS), updateQueue, 'no queues');
  syncRows($('agents'), data.agents, a => a.username, tr => cells(tr, AGENT_KEYS), updateAgent, 'no agents');
  syncRows($('ivr'), data.ivr, c => c.call, tr => cells(tr, IVR_KEYS), updateIvr, 'no calls in the IVR');
  document.body.dataset.loaded = 'yes';
  document.dispatchEvent(new CustomEvent('wallboard:render', {detail: data}));
}

async function poll() {
  try {
    const response = await window.fetch('/api/supervisor/live', {cache: 'no-store'});
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const data = await response.json();
    offset = data.now - Date.now() / 1000;
    render(data);
    failures = 0;
    $('board-status').textContent = 'live';
    $('board-status').className = 'board-status ok';
  } catch (err) {
    failures += 1;
    $('board-status').textContent = `not updating (${err.message}), retrying`;
    $('board-status').className = 'board-status stale';
  }
  setTimeout(poll, failures ? Math.min(POLL_MS * (failures + 1), 10000) : POLL_MS);
}

if (wall) {
  document.body.classList.add('wall');
  $('wall-toggle').textContent = 'Exit large screen';
  $('wall-toggle').href = '/supervisor';
}
setInterval(tick, 500);
tick();
poll();
