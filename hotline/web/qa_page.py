"""The QA page (/qa, behind the staff login, roles qa or admin): search archived calls, open one to play
both parties (caller left, agent right) with the waveform and the transcript in sync (clicking a
line or the waveform seeks), score it against the rubric, and export the scores as CSV."""

from __future__ import annotations

QA_BODY = """
<h1>Quality review</h1>
<section id="qa-main">
  <p><input id="q-text" size="30" placeholder="words said in the call">
    from <input id="q-since" type="date"> to <input id="q-until" type="date">
    agent <input id="q-agent" size="8"> queue <input id="q-queue" size="8">
    outcome <input id="q-outcome" size="10"> disposition <select id="q-disposition"><option value="">any</option>
    <option>resolved</option><option>follow_up</option><option>ticket_created</option><option>transferred</option>
    <option>other</option></select>
    <button id="search">Search</button> <a id="export" href="#">Export scores (CSV)</a></p>
  <table><thead><tr><th>Started</th><th>Caller</th><th>Agent</th><th>Queue</th><th>Outcome</th><th>Disposition</th>
    <th>Found</th></tr></thead><tbody id="results"></tbody></table>
  <section id="call" hidden>
    <h2>Call <span id="call-id"></span></h2>
    <p id="call-summary"></p>
    <canvas id="wave" width="900" height="90" style="width:100%;max-width:900px;border:1px solid #e6eaef;cursor:pointer">
    </canvas>
    <p><audio id="player" controls preload="auto"></audio> <span class="file">caller left, agent right</span></p>
    <ol id="qa-transcript"></ol>
    <h3>Score</h3>
    <table><tbody id="rubric"></tbody></table>
    <p><textarea id="comments" rows="3" cols="80" placeholder="comments"></textarea></p>
    <p><button id="submit-review">Save review</button> <span id="review-result"></span></p>
    <h3>Reviews</h3><ul id="reviews"></ul>
  </section>
</section>
"""

QA_SCRIPT = """
let current = null, rubric = null, wave = null;  // the session cookie goes with every request and the player
const $ = id => document.getElementById(id);
const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const hits = s => esc(s).replace(/\\u0002/g, '<mark>').replace(/\\u0003/g, '</mark>');
const when = t => new Date(t * 1000).toLocaleString();
const ms = t => { const s = Math.floor(t / 1000); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`; };
(async () => {
  rubric = await (await fetch('/api/qa/rubric')).json();
  search();
})();
function filters() {
  const q = new URLSearchParams();
  if ($('q-text').value) q.set('text', $('q-text').value);
  if ($('q-since').value) q.set('since', new Date($('q-since').value + 'T00:00').getTime() / 1000);
  if ($('q-until').value) q.set('until', new Date($('q-until').value + 'T00:00').getTime() / 1000 + 86400);
  for (const k of ['agent', 'queue', 'outcome', 'disposition']) if ($('q-' + k).value) q.set(k, $('q-' + k).value);
  return q;
}
async function search() {
  const r = await fetch('/api/qa/calls?' + filters());
  const list = r.ok ? await r.json() : [];
  $('export').href = '/api/qa/export.csv?' + filters();
  $('results').innerHTML = list.map(c => `<tr data-call="${esc(c.id)}" style="cursor:pointer">
    <td>${when(c.started_at)}</td><td>${esc(c.caller)}</td><td>${esc(c.agent)}</td><td>${esc(c.queues.join(' '))}</td>
    <td>${esc(c.outcome)}</td><td>${esc(c.disposition)}</td><td class="snippet">${hits(c.snippet)}</td></tr>`).join('');
  for (const tr of document.querySelectorAll('#results tr')) tr.onclick = () => open(tr.dataset.call);
}
$('search').onclick = search;
async function open(id) {
  const r = await fetch(`/api/qa/calls/${encodeURIComponent(id)}`);
  if (!r.ok) return;
  const c = current = await r.json();
  $('call').hidden = false; $('call-id').textContent = c.id;
  $('call-summary').textContent = `${when(c.started_at)}, ${c.from_uri}, ${c.duration_s ?? '?'} s, ` +
    `IVR: ${(c.ivr_path || []).join(' > ')}` + (c.agent ? `, agent ${c.agent}` : '') +
    (c.wrapup ? `, ${c.wrapup.disposition}: ${c.wrapup.notes}` : '') + ((c.ticket_details || []).length ? ', tickets ' + c.ticket_details.map(t => `${t.ref} (${t.type}, ${t.status})`).join(' ')
      : (c.tickets.length ? `, tickets ${c.tickets.join(' ')}` : ''));
  $('player').src = `/api/qa/calls/${encodeURIComponent(id)}/stereo.wav`;
  $('qa-transcript').innerHTML = (c.transcript || []).map((s, i) => `<li data-i="${i}" data-start="${s.start_ms}"
    data-end="${s.end_ms}" data-speaker="${esc(s.speaker)}" style="cursor:pointer">
    <span class="file">${ms(s.start_ms)}</span> <b>${esc(s.speaker)}</b>: ${esc(s.text)}</li>`).join('');
  for (const li of document.querySelectorAll('#qa-transcript li')) li.onclick = () => {
    $('player').currentTime = Number(li.dataset.start) / 1000; $('player').play();
  };
  $('rubric').innerHTML = rubric.criteria.map(k => `<tr><td>${esc(k.label)}</td><td>
    <input type="number" min="0" max="${k.max}" value="${k.max}" data-criterion="${esc(k.id)}" style="width:4em"> / ${k.max}
    </td></tr>`).join('');
  $('reviews').innerHTML = (c.qa || []).map(v => `<li>${esc(v.reviewer)} ${when(v.at)}: ${v.percent} % ${esc(v.comments)}</li>`).join('');
  const w = await fetch(`/api/qa/calls/${encodeURIComponent(id)}/waveform/caller?points=900`);
  wave = w.ok ? await w.json() : null;
  draw(0);
}
function draw(atMs) {
  const canvas = $('wave'), g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  if (!wave || !wave.peaks.length) return;
  const mid = canvas.height / 2, step = canvas.width / wave.peaks.length;
  g.fillStyle = '#7aa7e0';
  wave.peaks.forEach((p, i) => g.fillRect(i * step, mid - p * mid, Math.max(1, step - 0.5), Math.max(1, 2 * p * mid)));
  g.fillStyle = 'rgba(255, 190, 60, 0.35)';  // where each transcript line is
  for (const s of current.transcript || []) g.fillRect(s.start_ms / wave.duration_ms * canvas.width, 0,
    (s.end_ms - s.start_ms) / wave.duration_ms * canvas.width, 4);
  const x = atMs / wave.duration_ms * canvas.width;
  g.fillStyle = '#c62828'; g.fillRect(x, 0, 2, canvas.height);
}
$('wave').onclick = ev => {
  if (!wave) return;
  const box = $('wave').getBoundingClientRect();
  $('player').currentTime = (ev.clientX - box.left) / box.width * wave.duration_ms / 1000;
};
$('player').ontimeupdate = () => {  // the line being heard is highlighted and kept in view
  const t = $('player').currentTime * 1000;
  draw(t);
  for (const li of document.querySelectorAll('#qa-transcript li')) {
    const on = Number(li.dataset.start) <= t && t < Number(li.dataset.end) + 300;
    if (on && li.dataset.playing !== 'yes') li.scrollIntoView({block: 'nearest'});
    li.dataset.playing = on ? 'yes' : 'no';
    li.style.background = on ? '#fff4d6' : '';
  }
};
$('submit-review').onclick = async () => {
  const scores = {};
  for (const input of document.querySelectorAll('#rubric input')) scores[input.dataset.criterion] = Number(input.value);
  const r = await fetch(`/api/qa/calls/${encodeURIComponent(current.id)}/reviews`, {method: 'POST',
    headers: {'content-type': 'application/json'}, body: JSON.stringify({scores, comments: $('comments').value})});
  const body = await r.json();
  $('review-result').textContent = r.ok ? `saved: ${body.percent} %` : body.detail;
  if (r.ok) open(current.id);
};
"""
