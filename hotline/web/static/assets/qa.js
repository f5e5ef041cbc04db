// The QA page (qa, admin): search archived calls, open one to play both parties (caller left,
// agent right) with the waveform and the transcript in sync (clicking a line or the waveform
// seeks), score it against the rubric, and export the scores as CSV.
'use strict';
const {$, esc, when} = hotline;
let current = null, rubric = null, wave = null;  // the session cookie goes with every request and the player
// the search marks the words found with \u0002 ... \u0003
const hits = s => esc(s).split('\u0002').join('<mark>').split('\u0003').join('</mark>');
const ms = t => { const s = Math.floor(t / 1000); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`; };
function filters() {
  const q = new URLSearchParams();
  if ($('q-text').value) q.set('text', $('q-text').value);
  if ($('q-since').value) q.set('since', new Date($('q-since').value + 'T00:00').getTime() / 1000);
  if ($('q-until').value) q.set('until', new Date($('q-until').value + 'T00:00').getTime() / 1000 + 86400);
  for (const k of ['agent', 'queue', 'outcome', 'disposition']) if ($('q-' + k).value) q.set(k, $('q-' + k).value);
  return q;
}
async function search() {
  const r = await hotline.request('/api/qa/calls?' + filters());
  const list = r.ok ? r.body : [];
  $('export').href = '/api/qa/export.csv?' + filters();
  $('results').innerHTML = list.map(c => `<tr data-call="${esc(c.id)}">
    <td>${when(c.started_at)}</td><td>${esc(c.caller)}</td><td>${esc(c.agent)}</td><td>${esc(c.queues.join(' '))}</td>
    <td>${esc(c.outcome)}</td><td>${esc(c.disposition)}</td><td class="snippet">${hits(c.snippet)}</td></tr>`).join('');
  for (const tr of document.querySelectorAll('#results tr')) tr.onclick = () => openCall(tr.dataset.call);
}
function summary(c) {
  const duration = c.duration_s === null || c.duration_s === undefined ? '?' : c.duration_s;
  const tickets = (c.ticket_details || []).length
    ? ', tickets ' + c.ticket_details.map(t => `${t.ref} (${t.type}, ${t.status})`).join(' ')
    : (c.tickets.length ? `, tickets ${c.tickets.join(' ')}` : '');
  return `${when(c.started_at)}, ${c.from_uri}, ${duration} s, IVR: ${(c.ivr_path || []).join(' > ')}`
    + (c.agent ? `, agent ${c.agent}` : '') + (c.wrapup ? `, ${c.wrapup.disposition}: ${c.wrapup.notes}` : '') + tickets;
}
async function openCall(id) {
  const r = await hotline.request(`/api/qa/calls/${encodeURIComponent(id)}`);
  if (!r.ok) return;
  const c = current = r.body;
  $('call').hidden = false;
  $('call-id').textContent = c.id;
  $('call-summary').textContent = summary(c);
  $('player').src = `/api/qa/calls/${encodeURIComponent(id)}/stereo.wav`;
  $('qa-transcript').innerHTML = (c.transcript || []).map((s, i) => `<li data-i="${i}" data-start="${s.start_ms}"
    data-end="${s.end_ms}" data-speaker="${esc(s.speaker)}">
    <span class="file">${ms(s.start_ms)}</span> <b>${esc(s.speaker)}</b>: ${esc(s.text)}</li>`).join('');
  for (const li of document.querySelectorAll('#qa-transcript li')) {
    li.onclick = () => { $('player').currentTime = Number(li.dataset.start) / 1000; $('player').play(); };
  }
  $('rubric').innerHTML = rubric.criteria.map(k => `<tr><td>${esc(k.label)}</td><td>
    <input type="number" min="0" max="${esc(k.max)}" value="${esc(k.max)}" data-criterion="${esc(k.id)}"> / ${esc(k.max)}
    </td></tr>`).join('');
  $('reviews').innerHTML = (c.qa || []).map(v => `<li>${esc(v.reviewer)} ${when(v.at)}: ${esc(v.percent)} % ${esc(v.comments)}</li>`).join('');
  const w = await hotline.request(`/api/qa/calls/${encodeURIComponent(id)}/waveform/caller?points=900`);
  wave = w.ok ? w.body : null;
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
  for (const s of current.transcript || []) {
    g.fillRect(s.start_ms / wave.duration_ms * canvas.width, 0, (s.end_ms - s.start_ms) / wave.duration_ms * canvas.width, 4);
  }
  const x = atMs / wave.duration_ms * canvas.width;
  g.fillStyle = '#c62828';
  g.fillRect(x, 0, 2, canvas.height);
}
$('search').onclick = search;
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
  }
};
$('submit-review').onclick = async () => {
  const scores = {};
  for (const input of document.querySelectorAll('#rubric input')) scores[input.dataset.criterion] = Number(input.value);
  const r = await hotline.request(`/api/qa/calls/${encodeURIComponent(current.id)}/reviews`, 'POST',
    {scores, comments: $('comments').value});
  $('review-result').textContent = r.ok ? `saved: ${r.body.percent} %` : hotline.detail(r.body);
  if (r.ok) openCall(current.id);
};
(async () => {
  rubric = await hotline.getJSON('/api/qa/rubric');
  search();
})();
