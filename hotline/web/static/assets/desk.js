// The agent desk (agents): go available, take ringing calls with the WebRTC softphone, see who is
// calling and why, follow the two-sided transcript and the knowledge cards live, and wrap up.
'use strict';
const {$, esc} = hotline;
let ws = null, pc = null, currentCall = null, callerNumber = '';
function setState(s) { $('state').textContent = s; $('state').dataset.state = s; }
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
function handle(m) {
  if (m.type === 'hello' || m.type === 'state') setState(m.state);
  if (m.type === 'ring') {
    currentCall = m.call;
    $('ring-info').textContent = `${m.context.caller || ''} queue ${m.queue}, waited ${m.waited_s} s`;
    $('ringing').hidden = false;
    $('ringing').dataset.call = m.call;
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
    const card = document.querySelector(`.card[data-n="${Number(m.n)}"]`);
    if (card) card.dataset.saved = 'yes';
  }
  if (m.type === 'error') { $('call-state').title = m.detail; }
}
async function answer() {
  $('ringing').hidden = true;
  const stream = await hotline.microphone();
  pc = new RTCPeerConnection();
  stream.getTracks().forEach(t => pc.addTrack(t, stream));
  pc.ontrack = ev => { $('remote').srcObject = new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => {
    $('call-state').textContent = pc.connectionState;
    $('call-state').dataset.state = pc.connectionState;
    if (['failed', 'closed', 'disconnected'].includes(pc.connectionState)) callEnded();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await hotline.waitIce(pc);
  send({type: 'answer', call: currentCall, sdp: pc.localDescription.sdp});
}
async function showCall(call) {
  $('call-panel').hidden = false;
  $('transcript').innerHTML = '';
  $('suggestions').innerHTML = '';
  const r = await hotline.request(`/api/agent/calls/${encodeURIComponent(call)}/context`);
  if (!r.ok) return;
  const ctx = r.body;
  $('caller').textContent = ctx.call.from_uri;
  callerNumber = ctx.call.from_uri;
  const custom = Object.entries(ctx.customer || {}).filter(([k]) => k !== 'found').map(([k, v]) => [`crm.${k}`, v]);
  const rows = [...custom, ['IVR path', (ctx.call.ivr_path || []).join(' > ')],
    ...Object.entries(ctx.call.variables || {}).filter(([k]) => !k.endsWith('_zh')).sort()];
  $('context').innerHTML = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td data-var="${esc(k)}">${esc(v)}</td></tr>`).join('');
  $('previous').innerHTML = ctx.previous_calls.map(c =>
    `<li>${new Date(c.started_at * 1000).toLocaleString()} ${esc(c.outcome)} ${esc(c.agent)}</li>`).join('');
  $('tickets').innerHTML = ctx.tickets.map(t => `<li>${esc(t.ref)} ${esc(t.type)} ${esc(t.description)}</li>`).join('');
}
// knowledge cards: newest first; each has the script to read and the steps, and the agent's verdict
window.assistTimings = [];  // per card: ms from the caller's final transcript event to the card here
function showSuggestion(e) {
  const arrived = Date.now();
  if (e.transcript_ts) window.assistTimings.push({n: e.n, article: e.article, ms: arrived - e.transcript_ts * 1000});
  for (const old of document.querySelectorAll('.card.latest')) old.classList.remove('latest');
  const card = document.createElement('article');
  card.className = 'card latest';
  card.dataset.article = e.article;
  card.dataset.n = e.n;
  card.innerHTML = `<h4>${esc(e.title)}</h4>
    <p class="script">${esc(e.script)}</p>
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
  if ([...$('reminders').children].some(li => li.dataset.ref === String(t.ref))) return;
  const li = document.createElement('li');
  li.dataset.ref = t.ref;
  li.innerHTML = `Ticket <a href="/tickets#${esc(t.ref)}" target="_blank">${esc(t.ref)}</a> (${esc(t.type)},
    ${esc(t.priority)}) is overdue since ${new Date(t.due_at * 1000).toLocaleTimeString()}: ${esc(t.description)}`;
  $('reminders').appendChild(li);
}
async function loadReminders(me) {
  const r = await hotline.request('/api/tickets?overdue=true&limit=50');
  if (!r.ok) return;
  for (const t of r.body) if (!t.assignee || t.assignee === me) addReminder(t);
}
async function newTicket() {
  const body = {type: $('new-ticket-type').value, priority: $('new-ticket-priority').value,
                parcel_number: $('new-ticket-parcel').value, description: $('new-ticket-description').value,
                call_id: currentCall || '', caller: callerNumber};
  const r = await hotline.request('/api/tickets', 'POST', body);
  $('new-ticket-result').textContent = r.ok ? `ticket ${r.body.ref} created` : JSON.stringify(r.body.detail);
  $('new-ticket-result').dataset.ref = r.ok ? r.body.ref : '';
}
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
$('go-available').onclick = () => send({type: 'state', state: 'available'});
$('go-away').onclick = () => send({type: 'state', state: 'away'});
$('answer').onclick = answer;
$('new-ticket').onclick = newTicket;
$('hangup').onclick = () => callEnded();
$('hold').onclick = () => {
  const held = $('hold').dataset.held === 'yes';
  send({type: held ? 'resume' : 'hold', call: currentCall});
  $('hold').dataset.held = held ? 'no' : 'yes';
  $('hold').textContent = held ? 'Hold' : 'Resume';
};
$('transfer').onclick = () => {
  const agent = $('transfer-agent').value.trim();
  const queue = $('transfer-queue').value;
  send({type: 'transfer', call: currentCall, queue, skill: queue === 'address' ? 'address_change' : 'general', agent});
};
$('wrapup-done').onclick = () => {
  send({type: 'wrapup', call: currentCall, disposition: $('disposition').value, notes: $('notes').value});
  $('wrapup').hidden = true;
  $('call-panel').hidden = true;
  currentCall = null;
  pc = null;
};
hotline.me.then(user => { if (user) { $('me').textContent = user.name; connect(); } });
