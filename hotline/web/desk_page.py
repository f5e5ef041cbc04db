"""The agent desk page (behind the staff login, role agent): go available, take ringing calls with the WebRTC softphone, see
who is calling and why, follow the two-sided transcript live, and wrap up."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from hotline.web.pages import page


def desk_page_router() -> APIRouter:
    router = APIRouter()

    @router.get("/desk", response_class=HTMLResponse, include_in_schema=False)
    async def desk() -> str:
        return page("Agent desk", _BODY, _SCRIPT)

    return router


_BODY = """
<h1>Agent desk</h1>
<section id="desk">
  <p><b id="me"></b> &middot; status <span id="state" data-state="offline">offline</span>
    <button id="go-available">Available</button> <button id="go-away">Away</button></p>
  <ul id="reminders" class="error"></ul>
  <div id="ringing" hidden style="background:#fff4d6;padding:.6rem;border:1px solid #e8b300">
    <b>Incoming call</b> <span id="ring-info"></span> <button id="answer">Answer</button>
  </div>
  <div id="call-panel" hidden>
    <p><b>Caller</b> <span id="caller"></span> <button id="hangup">Hang up</button>
      <button id="hold" data-held="no">Hold</button>
      transfer to <select id="transfer-queue"><option value="general">general queue</option>
        <option value="address">address queue</option></select>
      or agent <input id="transfer-agent" size="8" placeholder="user name">
      <button id="transfer">Transfer</button>
      <span id="call-state" data-state=""></span></p>
    <table><tbody id="context"></tbody></table>
    <h3>Previous calls</h3><ul id="previous"></ul>
    <h3>Open tickets</h3><ul id="tickets"></ul>
    <p><b>New ticket</b> <select id="new-ticket-type"><option>damage</option><option>missing</option>
      <option>not_received</option><option>redelivery</option><option>callback</option>
      <option>address_change</option><option>other</option></select>
      <select id="new-ticket-priority"><option>normal</option><option>high</option><option>urgent</option>
      <option>low</option></select>
      <input id="new-ticket-parcel" size="10" placeholder="parcel number">
      <input id="new-ticket-description" size="40" placeholder="what happened">
      <button id="new-ticket">Create</button> <span id="new-ticket-result"></span></p>
    <div style="display:flex;gap:1.5rem;align-items:flex-start">
      <div style="flex:1"><h3>Transcript</h3><ol id="transcript"></ol></div>
      <div style="flex:1"><h3>Suggested articles</h3><div id="suggestions"></div></div>
    </div>
  </div>
  <div id="wrapup" hidden>
    <h3>Wrap-up</h3>
    <select id="disposition"><option>resolved</option><option>follow_up</option><option>ticket_created</option>
      <option>transferred</option><option>other</option></select>
    <textarea id="notes" rows="3" cols="50" placeholder="notes"></textarea>
    <button id="wrapup-done">Done</button>
  </div>
  <audio id="remote" autoplay></audio>
</section>
"""

_SCRIPT = """
let ws = null, pc = null, currentCall = null;
const $ = id => document.getElementById(id);
const esc = s => String(s).replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
function setState(s) { $('state').textContent = s; $('state').dataset.state = s; }
hotline.me.then(user => { if (user) { $('me').textContent = user.name; connect(); } });
function connect() {  // the session cookie goes with the WebSocket handshake: no token in the URL
  ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/agent`);
  ws.onmessage = ev => handle(JSON.parse(ev.data));
  ws.onclose = async ev => {  // the server restarted or the network dropped: reconnect, state is restored
    setState('offline');
    if (ev.code === 4401) { location.reload(); return; }  // logged out: the login form
    const me = await fetch('/api/auth/me').catch(() => null);
    if (me && me.status === 401) { location.reload(); return; }
    setTimeout(connect, 2000);
  };
}
const send = m => ws.send(JSON.stringify(m));
$('go-available').onclick = () => send({type: 'state', state: 'available'});
$('go-away').onclick = () => send({type: 'state', state: 'away'});
function handle(m) {
  if (m.type === 'hello' || m.type === 'state') setState(m.state);
  if (m.type === 'ring') {
    currentCall = m.call;
    $('ring-info').textContent = `${m.context.caller || ''} queue ${m.queue}, waited ${m.waited_s} s`;
    $('ringing').hidden = false; $('ringing').dataset.call = m.call;
  }
  if (m.type === 'ring_cancelled') { $('ringing').hidden = true; }
  if (m.type === 'answered') {
    if (m.error) { $('ringing').hidden = true; alert(m.error); return; }
    pc.setRemoteDescription({type: 'answer', sdp: m.sdp});
    showCall(m.call);
  }
  if (m.type === 'call_event') onCallEvent(m.event);
  if (m.type === 'hello') loadReminders(m.agent.username);
  if (m.type === 'ticket_overdue') addReminder(m.ticket);
  if (m.type === 'assist_feedback_saved') {
    const card = document.querySelector(`.card[data-n="${m.n}"]`);
    if (card) card.dataset.saved = 'yes';
  }
  if (m.type === 'error') { $('call-state').title = m.detail; }
}
function waitIce(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise(resolve => {
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
    setTimeout(resolve, 3000);
  });
}
$('answer').onclick = async () => {
  $('ringing').hidden = true;
  const stream = await navigator.mediaDevices.getUserMedia(
    {audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
  pc = new RTCPeerConnection();
  stream.getTracks().forEach(t => pc.addTrack(t, stream));
  pc.ontrack = ev => { $('remote').srcObject = new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => {
    $('call-state').textContent = pc.connectionState; $('call-state').dataset.state = pc.connectionState;
    if (['failed', 'closed', 'disconnected'].includes(pc.connectionState)) callEnded();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await waitIce(pc);
  send({type: 'answer', call: currentCall, sdp: pc.localDescription.sdp});
};
async function showCall(call) {
  $('call-panel').hidden = false; $('transcript').innerHTML = ''; $('suggestions').innerHTML = '';
  const r = await fetch(`/api/agent/calls/${encodeURIComponent(call)}/context`);
  if (!r.ok) return;
  const ctx = await r.json();
  $('caller').textContent = ctx.call.from_uri; callerNumber = ctx.call.from_uri;
  const custom = Object.entries(ctx.customer || {}).filter(([k]) => k !== 'found').map(([k, v]) => [`crm.${k}`, v]);
  const rows = [...custom, ['IVR path', (ctx.call.ivr_path || []).join(' > ')],
    ...Object.entries(ctx.call.variables || {}).filter(([k]) => !k.endsWith('_zh')).sort()];
  $('context').innerHTML = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td data-var="${esc(k)}">${esc(v)}</td></tr>`).join('');
  $('previous').innerHTML = ctx.previous_calls.map(c =>
    `<li>${new Date(c.started_at * 1000).toLocaleString()} ${esc(c.outcome || '')} ${esc(c.agent || '')}</li>`).join('');
  $('tickets').innerHTML = ctx.tickets.map(t => `<li>${esc(t.ref)} ${esc(t.type)} ${esc(t.description)}</li>`).join('');
}
// knowledge cards: newest first; each has the script to read and the steps, and the agent's verdict
window.assistTimings = [];  // per card: ms from the caller's final transcript event to the card here
function showSuggestion(e) {
  const arrived = Date.now();
  if (e.transcript_ts) window.assistTimings.push({n: e.n, article: e.article, ms: arrived - e.transcript_ts * 1000});
  for (const old of document.querySelectorAll('.card.latest')) old.classList.remove('latest');
  const card = document.createElement('article');
  card.className = 'card latest'; card.dataset.article = e.article; card.dataset.n = e.n;
  card.style.cssText = 'border:1px solid #c9d6e6;border-radius:6px;padding:.6rem .8rem;margin-bottom:.7rem;background:#f7faff';
  card.innerHTML = `<h4 style="margin:0 0 .3rem">${esc(e.title)}</h4>
    <p class="script" style="margin:.2rem 0 .4rem">${esc(e.script)}</p>
    <ol class="steps">${(e.steps || []).map(s => `<li>${esc(s)}</li>`).join('')}</ol>
    <p class="file">confidence ${Math.round(100 * e.confidence)} %
      <button class="used">Used</button> <button class="dismiss">Not relevant</button>
      <span class="verdict"></span></p>`;
  const verdict = v => () => {
    send({type: 'assist_feedback', call: currentCall, n: e.n, verdict: v});
    card.querySelector('.verdict').textContent = v === 'used' ? 'marked used' : 'marked not relevant';
    card.dataset.verdict = v;
    for (const b of card.querySelectorAll('button')) b.disabled = true;
  };
  card.querySelector('.used').onclick = verdict('used');
  card.querySelector('.dismiss').onclick = verdict('not_relevant');
  $('suggestions').prepend(card);
}
// overdue tickets: pushed when their SLA time passes, and listed when the desk opens
function addReminder(t) {
  if (document.querySelector(`#reminders li[data-ref="${t.ref}"]`)) return;
  const li = document.createElement('li');
  li.dataset.ref = t.ref;
  li.innerHTML = `Ticket <a href="/tickets#${esc(t.ref)}" target="_blank">${esc(t.ref)}</a> (${esc(t.type)},
    ${esc(t.priority)}) is overdue since ${new Date(t.due_at * 1000).toLocaleTimeString()}: ${esc(t.description)}`;
  $('reminders').appendChild(li);
}
async function loadReminders(me) {
  const r = await fetch('/api/tickets?overdue=true&limit=50');
  if (!r.ok) return;
  for (const t of await r.json()) if (!t.assignee || t.assignee === me) addReminder(t);
}
let callerNumber = '';
$('new-ticket').onclick = async () => {
  const body = {type: $('new-ticket-type').value, priority: $('new-ticket-priority').value,
                parcel_number: $('new-ticket-parcel').value, description: $('new-ticket-description').value,
                call_id: currentCall || '', caller: callerNumber};
  const r = await fetch('/api/tickets', {method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify(body)});
  const t = await r.json();
  $('new-ticket-result').textContent = r.ok ? `ticket ${t.ref} created` : JSON.stringify(t.detail);
  $('new-ticket-result').dataset.ref = r.ok ? t.ref : '';
};
function onCallEvent(e) {
  if (e.type === 'assist.suggestion') showSuggestion(e);
  if (e.type === 'transcript.final') {
    const li = document.createElement('li');
    li.dataset.speaker = e.speaker;
    li.textContent = `${e.speaker}: ${e.text}`;
    $('transcript').appendChild(li);
  }
  if (e.type === 'call.ended' || e.type === 'call.transferred') callEnded();
}
function callEnded() {
  if (!currentCall || !$('wrapup').hidden) return;
  if (pc) pc.close();
  send({type: 'ended', call: currentCall});
  $('wrapup').hidden = false;
}
$('hangup').onclick = () => callEnded();
$('hold').onclick = () => {
  const held = $('hold').dataset.held === 'yes';
  send({type: held ? 'resume' : 'hold', call: currentCall});
  $('hold').dataset.held = held ? 'no' : 'yes'; $('hold').textContent = held ? 'Hold' : 'Resume';
};
$('transfer').onclick = () => {
  const agent = $('transfer-agent').value.trim();
  const queue = $('transfer-queue').value;
  send({type: 'transfer', call: currentCall, queue, skill: queue === 'address' ? 'address_change' : 'general', agent});
};
$('wrapup-done').onclick = () => {
  send({type: 'wrapup', call: currentCall, disposition: $('disposition').value, notes: $('notes').value});
  $('wrapup').hidden = true; $('call-panel').hidden = true; currentCall = null; pc = null;
};
"""
