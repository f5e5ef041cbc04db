// The QA page (qa, admin): search archived calls (filters offer the values the archive has), open
// one to play both parties (caller left, agent right) with both channels' waveform and the
// transcript in sync (clicking a line or the waveform seeks there), score it against the rubric
// (no criterion has a default: every one must be scored), and export the scores as CSV.
'use strict';
const {$, esc, when} = hotline;
// the wrap-up dispositions of the desk, offered even before a call has one
const DISPOSITIONS = ['resolved', 'follow_up', 'ticket_created', 'transferred', 'no_answer', 'other'];
const FILTERS = ['agent', 'queue', 'outcome', 'disposition'];
let current = null, rubric = null, lanes = null;  // the session cookie goes with every request and the player
/* exported wave */
let wave = null;  // the caller's waveform ({duration_ms, peaks}), once loaded (tests wait for it)
// the search marks the words found with \u0002 ... \u0003
const hits = s => esc(s).split('\u0002').join('<mark>').split('\u0003').join('</mark>');
const clock = s => { const t = Math.max(0, Math.floor(s)); return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`; };
const words = s => String(s).split('_').join(' ');
const player = $('player');

function filters() {
  const q = new URLSearchParams();
  if ($('q-text').value) q.set('text', $('q-text').value);
  if ($('q-since').value) q.set('since', new Date($('q-since').value + 'T00:00').getTime() / 1000);
  if ($('q-until').value) q.set('until', new Date($('q-until').value + 'T00:00').getTime() / 1000 + 86400);
  for (const k of FILTERS) if ($('q-' + k).value) q.set(k, $('q-' + k).value);
  return q;
}
// the choices of each filter: the values the archive's recent calls have (and the known dispositions)
async function loadChoices() {
  const r = await hotline.request('/api/qa/calls?limit=500');
  const calls = r.ok ? r.body : [];
  const seen = {agent: new Set(), queue: new Set(), outcome: new Set(), disposition: new Set(DISPOSITIONS)};
  for (const c of calls) {
    if (c.agent) seen.agent.add(c.agent);
    for (const q of c.queues || []) seen.queue.add(q);
    if (c.outcome) seen.outcome.add(c.outcome);
    if (c.disposition) seen.disposition.add(c.disposition);
  }
  for (const k of FILTERS) {
    const select = $('q-' + k), chosen = select.value;
    const values = [...seen[k]].sort((a, b) => a.localeCompare(b));
    select.innerHTML = '<option value="">any</option>'
      + values.map(v => `<option value="${esc(v)}">${esc(k === 'agent' ? v : words(v))}</option>`).join('');
    select.value = chosen;
  }
}
async function search() {
  const r = await hotline.request('/api/qa/calls?' + filters());
  const list = r.ok ? r.body : [];
  $('export').href = '/api/qa/export.csv?' + filters();
  $('results').innerHTML = list.map(c => `<tr data-call="${esc(c.id)}"${current && current.id === c.id ? ' aria-current="true"' : ''}>
    <td>${when(c.started_at)}</td><td>${esc(c.caller)}</td><td>${esc(c.agent)}</td><td>${esc(c.queues.join(' '))}</td>
    <td>${esc(words(c.outcome))}</td><td>${esc(words(c.disposition))}</td>
    <td class="reviewed">${c.reviews ? `yes (${esc(c.reviews)})` : '<span class="file">no</span>'}</td>
    <td class="num score">${c.score === null || c.score === undefined ? '<span class="file">-</span>' : `${esc(c.score)} %`}</td>
    <td class="snippet">${hits(c.snippet)}</td></tr>`).join('');
  $('results-note').textContent = r.ok ? (list.length ? `${list.length} call${list.length === 1 ? '' : 's'}` : 'No calls match.')
    : hotline.detail(r.body);
  for (const tr of document.querySelectorAll('#results tr')) tr.onclick = () => openCall(tr.dataset.call);
}

function facts(c) {
  const rows = [['Started', when(c.started_at)], ['Caller', c.from_uri],
    ['Duration', c.duration_s === null || c.duration_s === undefined ? '?' : `${c.duration_s} s`],
    ['IVR', (c.ivr_path || []).join(' > ') + (c.outcome ? ` (${words(c.outcome)})` : '')]];
  if (c.agent) rows.push(['Agent', c.agent]);
  if (c.wrapup) rows.push(['Wrap-up', `${words(c.wrapup.disposition || '')}${c.wrapup.notes ? ': ' + c.wrapup.notes : ''}`]);
  const tickets = (c.ticket_details || []).map(t => `${t.ref} (${t.type}, ${t.status})`);
  if (tickets.length || (c.tickets || []).length) rows.push(['Tickets', tickets.length ? tickets.join(', ') : c.tickets.join(', ')]);
  return rows.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('');
}
// the supervisors who listened in (listen, whisper or barge): who, when, each mode change, leaving
function showMonitors(c) {
  const list = c.monitors || [];
  $('call-monitors').hidden = !list.length;
  $('monitor-list').replaceChildren(...list.map(m => {
    const time = t => new Date(t * 1000).toLocaleTimeString();
    const modes = (m.modes && m.modes.length ? m.modes : [{mode: m.mode, at: m.at}])
      .map(x => `${x.mode} at ${time(x.at)}`).join(', then ');
    const left = m.left_at ? `; left at ${time(m.left_at)}` : '; still on the call';
    return hotline.text('li', `${m.supervisor}: ${modes}${left}`, {'data-supervisor': m.supervisor});
  }));
}
async function openCall(id) {
  const r = await hotline.request(`/api/qa/calls/${encodeURIComponent(id)}`);
  if (!r.ok) return;
  const c = current = r.body;
  for (const tr of document.querySelectorAll('#results tr')) tr.toggleAttribute('aria-current', tr.dataset.call === id);
  $('call').hidden = false;
  $('call-id').textContent = c.id;
  $('call-summary').innerHTML = facts(c);
  showMonitors(c);
  if ((c.recordings || {}).caller) player.src = `/api/qa/calls/${encodeURIComponent(id)}/stereo.wav`;
  else player.removeAttribute('src');
  $('no-recording').hidden = Boolean((c.recordings || {}).caller);
  $('qa-transcript').innerHTML = (c.transcript || []).map((s, i) => `<li data-i="${i}" data-start="${esc(s.start_ms)}"
    data-end="${esc(s.end_ms)}" data-speaker="${esc(s.speaker)}" title="play from ${clock(s.start_ms / 1000)}">
    <span class="at">${clock(s.start_ms / 1000)}</span><span class="who ${s.speaker === 'caller' ? 'caller' : 'agent'}">${esc(s.speaker)}</span>
    <span class="said">${esc(s.text)}</span></li>`).join('') || '<li class="file">no transcript</li>';
  for (const li of document.querySelectorAll('#qa-transcript li[data-start]')) {
    li.onclick = () => seek(Number(li.dataset.start) / 1000, true);
  }
  showRubric();
  showReviews(c.qa || []);
  $('comments').value = '';
  $('review-result').textContent = '';
  lanes = wave = null;
  $('wave').dataset.drawn = 'no';
  tick();
  $('call').scrollIntoView({block: 'start'});
  const loaded = await loadLanes(c);
  if (current !== c) return;  // another call was opened meanwhile
  lanes = loaded;
  wave = lanes.caller[0] || null;
  $('wave').dataset.drawn = 'yes';
  tick();
}

// the waveform: the caller above the middle line, the agent(s) below it, on the call's time line
async function loadLanes(c) {
  const parties = Object.keys(c.recordings || {}).filter(p => p === 'caller' || p.startsWith('agent'));
  const offsets = c.recording_offsets || {};
  const waves = await Promise.all(parties.map(async p => {
    const w = await hotline.request(`/api/qa/calls/${encodeURIComponent(c.id)}/waveform/${encodeURIComponent(p)}?points=1200`);
    return w.ok ? {party: p, offset: Number(offsets[p] || 0), ...w.body} : null;
  }));
  const found = waves.filter(w => w && w.peaks.length);
  const caller = found.find(w => w.party === 'caller');
  const total = caller ? caller.duration_ms : Math.max(0, ...found.map(w => w.offset + w.duration_ms));
  // quiet lines would be a flat line: the loudest peak of the call fills its lane (at most 8 times louder)
  const loudest = Math.max(0.01, ...found.map(w => Math.max(...w.peaks)));
  return {total, gain: Math.min(8, 1 / loudest), caller: found.filter(w => w.party === 'caller'),
    agent: found.filter(w => w.party !== 'caller')};
}
function columns(waves, total, n) {  // the loudest peak of each pixel column
  const out = new Float32Array(n);
  for (const w of waves) {
    const per = w.duration_ms / w.peaks.length;
    w.peaks.forEach((p, i) => {
      const a = Math.floor((w.offset + i * per) / total * n), b = Math.ceil((w.offset + (i + 1) * per) / total * n);
      for (let x = Math.max(0, a); x < Math.min(n, Math.max(b, a + 1)); x++) out[x] = Math.max(out[x], p);
    });
  }
  return out;
}
function draw(atMs) {
  const canvas = $('wave'), ratio = window.devicePixelRatio || 1;
  const width = Math.max(100, Math.round(canvas.clientWidth * ratio)), height = Math.round(120 * ratio);
  if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, width, height);
  const mid = height / 2, room = mid - 8 * ratio;
  g.fillStyle = '#d0d7e2';
  g.fillRect(0, mid, width, Math.max(1, ratio));
  if (!lanes || !lanes.total) return;
  const playedX = atMs / lanes.total * width;
  if (!lanes.cols || lanes.cols.width !== width) {  // per pixel column, made again when the size changes
    lanes.cols = {width, caller: columns(lanes.caller, lanes.total, width), agent: columns(lanes.agent, lanes.total, width)};
  }
  const lane = (cols, up, dark, light) => {
    for (let x = 0; x < width; x++) {
      if (!cols[x]) continue;
      const h = Math.max(ratio, Math.min(1, cols[x] * lanes.gain) * room);
      g.fillStyle = x < playedX ? dark : light;
      g.fillRect(x, up ? mid - h : mid + Math.max(1, ratio), 1, h);
    }
  };
  lane(lanes.cols.caller, true, '#1f5fbf', '#8fb3e8');
  lane(lanes.cols.agent, false, '#18794e', '#8fcfae');
  for (const s of current.transcript || []) {  // where each line is: above for the caller, below for the agent
    g.fillStyle = s.speaker === 'caller' ? 'rgba(31, 95, 191, 0.55)' : 'rgba(24, 121, 78, 0.55)';
    const x = s.start_ms / lanes.total * width, w = Math.max(2, (s.end_ms - s.start_ms) / lanes.total * width);
    g.fillRect(x, s.speaker === 'caller' ? 0 : height - 4 * ratio, w, 4 * ratio);
  }
  g.fillStyle = '#c62828';
  g.fillRect(Math.min(width - 2 * ratio, playedX), 0, 2 * ratio, height);
}

function seek(seconds, play) {
  player.currentTime = seconds;
  tick();
  if (play) player.play().catch(() => {});  // a play cut short by another seek is not an error
}
// the playhead, the clock and the line being heard (highlighted and kept in view in the transcript)
function tick() {
  const t = player.currentTime * 1000;
  draw(t);
  const total = lanes && lanes.total ? lanes.total / 1000 : (player.duration || 0);
  $('clock').textContent = `${clock(player.currentTime)} / ${clock(isFinite(total) ? total : 0)}`;
  const list = $('qa-transcript');
  for (const li of list.querySelectorAll('li[data-start]')) {
    const on = Number(li.dataset.start) <= t && t < Number(li.dataset.end) + 300;
    if (on && li.dataset.playing !== 'yes' && !player.paused) {
      const top = li.offsetTop, bottom = top + li.offsetHeight;
      if (top < list.scrollTop || bottom > list.scrollTop + list.clientHeight) list.scrollTop = top - 8;
    }
    li.dataset.playing = on ? 'yes' : 'no';
  }
}
function animate() {
  tick();
  if (!player.paused && !player.ended) requestAnimationFrame(animate);
}
player.addEventListener('play', () => requestAnimationFrame(animate));
for (const ev of ['timeupdate', 'seeked', 'loadedmetadata', 'pause']) player.addEventListener(ev, tick);
window.addEventListener('resize', tick);
$('wave').onclick = ev => {
  if (!lanes || !lanes.total) return;
  const box = $('wave').getBoundingClientRect();
  seek(Math.min(1, Math.max(0, (ev.clientX - box.left) / box.width)) * lanes.total / 1000, true);
};

// scoring: every criterion starts unset; the form shows the running total and what is left
function showRubric() {
  $('rubric').innerHTML = rubric.criteria.map(k => {
    const choices = [];
    for (let n = 0; n <= k.max; n++) {
      choices.push(`<label><input type="radio" name="c-${esc(k.id)}" value="${n}" data-criterion="${esc(k.id)}"><span>${n}</span></label>`);
    }
    return `<fieldset class="criterion" data-id="${esc(k.id)}"><legend>${esc(k.label)} <span class="file">/ ${esc(k.max)}</span></legend>
      <div class="choices">${choices.join('')}</div></fieldset>`;
  }).join('');
  for (const input of document.querySelectorAll('#rubric input')) {
    input.onchange = () => { input.closest('fieldset').classList.remove('missing'); $('review-result').textContent = ''; showTotal(); };
  }
  showTotal();
}
function scoredNow() {  // criterion id -> points, only those scored
  const scores = {};
  for (const input of document.querySelectorAll('#rubric input:checked')) scores[input.dataset.criterion] = Number(input.value);
  return scores;
}
function showTotal() {
  const scores = scoredNow(), done = Object.keys(scores).length;
  const sum = Object.values(scores).reduce((a, b) => a + b, 0);
  $('score-total').textContent = `${sum} / ${rubric.max_total}, ${done} of ${rubric.criteria.length} scored`;
}
function breakdown(v) {  // a saved review's criteria; older reviews only have scores by id
  if (v.criteria) return v.criteria;
  const labels = {};
  for (const k of rubric.criteria) labels[k.id] = k;
  return Object.entries(v.scores || {}).map(([id, score]) => ({id, score, label: labels[id] ? labels[id].label : id,
    max: labels[id] ? labels[id].max : ''}));
}
function showReviews(reviews) {
  $('reviews').innerHTML = reviews.slice().reverse().map(v => `<article class="review">
    <header><b>${esc(v.reviewer)}</b> <span class="file">${when(v.at)}</span>
      <span class="total">${esc(v.total)} / ${esc(v.max)} (${esc(v.percent)} %)</span></header>
    <table><tbody>${breakdown(v).map(k => `<tr data-criterion="${esc(k.id)}"><td>${esc(k.label)}</td>
      <td class="num score">${esc(k.score)} / ${esc(k.max)}</td></tr>`).join('')}</tbody></table>
    ${v.comments ? `<p class="comments">${esc(v.comments)}</p>` : ''}</article>`).join('')
    || '<p class="file">Not reviewed yet.</p>';
}
$('submit-review').onclick = async () => {
  const scores = scoredNow();
  const missing = rubric.criteria.filter(k => !(k.id in scores));
  for (const k of rubric.criteria) document.querySelector(`#rubric fieldset[data-id="${CSS.escape(k.id)}"]`)
    .classList.toggle('missing', !(k.id in scores));
  const result = $('review-result');
  result.className = '';
  if (missing.length) {
    result.className = 'refused';
    result.textContent = `Score every criterion first. Not scored: ${missing.map(k => k.label).join('; ')}`;
    document.querySelector('#rubric fieldset.missing input').focus();
    return;
  }
  const r = await hotline.request(`/api/qa/calls/${encodeURIComponent(current.id)}/reviews`, 'POST',
    {scores, comments: $('comments').value});
  if (!r.ok) { result.className = 'refused'; result.textContent = hotline.detail(r.body); return; }
  // the form keeps what was saved; the review appears under Reviews with its scores per criterion
  result.className = 'saved';
  result.textContent = `saved: ${r.body.total} / ${r.body.max} (${r.body.percent} %)`;
  current.qa = (current.qa || []).concat([r.body]);
  showReviews(current.qa);
  search();
};
$('filters').onsubmit = ev => { ev.preventDefault(); search(); };
for (const k of FILTERS) $('q-' + k).onchange = search;
(async () => {
  rubric = await hotline.getJSON('/api/qa/rubric');
  await loadChoices();
  search();
  const wanted = new URLSearchParams(location.search).get('call');  // a link from a ticket
  if (wanted) openCall(wanted);
})();
