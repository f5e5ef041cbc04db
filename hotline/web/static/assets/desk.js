// The agent desk (agents): go available or away (with a reason), notice a ringing call (a sound, a
// browser notification, the tab title) and answer or decline it with the WebRTC softphone, see who is
// calling and why in one call bar with its timers, follow the two-sided transcript and the knowledge
// cards side by side, and wrap up with a disposition the agent chose. What the voice bot was asked
// before the call came here is shown in the call bar; the knowledge search is desk_search.js.
'use strict';
const {$, esc} = hotline;
const STATE_WORDS = {offline: 'offline', available: 'available', ringing: 'ringing', on_call: 'on a call',
                     wrap_up: 'wrap-up', away: 'away', not_responding: 'not responding'};
const LANGUAGES = {en: 'English', zh: 'Chinese'};
const ENDED_WORDS = {caller: 'caller hung up', agent: 'you hung up', transferred: 'transferred',
                     lost: 'connection lost', ended: 'call ended'};
let ws = null, pc = null;
let ring = null;         // the call ringing here: {call, at, timeout, info}
let call = null;         // the call taken here, until its wrap-up is saved: {id, info, answeredAt, endedAt, ...}
let currentCall = null;  // call.id, kept apart for the messages that name it
let callerNumber = '';   // the caller's address as the records have it (new tickets carry it)
let presence = {state: 'offline'};
let wrapupPending = false;
// what tests (and a curious agent) can observe of the ring: sounds started and stopped, notifications
window.hotlineRing = {started: 0, stopped: 0, playing: false, notifications: 0, audio: 'none', title: ''};

const words = s => String(s || '').replace(/[_.]+/g, ' ').trim();
// a reason that only says how the caller got here says so in words
const REASONS = {agent: 'asked for an agent', operator: 'asked for an agent', to_agent: 'asked for an agent'};
const reasonWords = r => REASONS[r] || words(r);
const language = code => LANGUAGES[code] || code || '';
const clock = ms => { const s = Math.floor(ms / 1000); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`; };
// '"sipp" <sip:+155501000@10.0.0.1:5060>' -> '+155501000' (what a person calls a number)
const phoneNumber = uri => {
  const text = String(uri || ''), inside = text.match(/<([^>]*)>/);
  const m = (inside ? inside[1] : text).trim().match(/^(?:sips?:|tel:)?([^@;>]+)/);
  return m ? m[1] : '';
};
const vipLevel = v => (v && !['none', 'no', 'false', '0'].includes(String(v).toLowerCase()) ? String(v) : '');

// --- the connection -----------------------------------------------------------------------------
function connect() {  // the session cookie goes with the WebSocket handshake: no token in the URL
  ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/agent`);
  ws.onmessage = ev => handle(JSON.parse(ev.data));
  ws.onclose = async ev => {  // the server restarted or the network dropped: reconnect, state is restored
    setPresence({state: 'offline'});
    if (ev.code === 4401) { location.reload(); return; }  // logged out: the login form
    const me = await fetch('/api/auth/me').catch(() => null);
    if (me && me.status === 401) { location.reload(); return; }
    setTimeout(connect, 2000);
  };
}
const send = m => { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
// what the desk's other script (desk_search.js) uses: the socket, the call shown, and the desk's
// messages (plus {type: 'desk_call', call} when a call is shown or closed: call null)
const desk = window.hotlineDesk = {
  send, listeners: [], openArticle: null,
  call: () => currentCall,
  language: () => (call && call.info.language) || '',
  tell: m => { for (const listener of desk.listeners) listener(m); },
};
function handle(m) {
  if (m.type === 'hello') {
    setReasons(m.not_ready_reasons);
    setPresence(m);
    loadReminders(m.agent.username);
    resumeAfterReload(m);
  }
  if (m.type === 'state') setPresence(m);
  if (m.type === 'ring') onRing(m);
  if (m.type === 'ring_cancelled') onRingCancelled(m);
  if (m.type === 'answered') onAnswered(m);
  if (m.type === 'call_event') onCallEvent(m.event);
  if (m.type === 'ticket_overdue') addReminder(m.ticket);
  if (m.type === 'wrapup_saved' && m.call === currentCall) wrapupSaved();
  if (m.type === 'assist_feedback_saved') {
    const card = document.querySelector(`.card[data-n="${Number(m.n)}"]`);
    if (card) card.dataset.saved = 'yes';
  }
  if (m.type === 'error') onError(m.detail);
  desk.tell(m);
}
function onError(detail) {
  const text = typeof detail === 'string' ? detail : JSON.stringify(detail);
  if (call && !$('wrapup').hidden) {  // most likely the wrap-up refused
    wrapupPending = false;
    $('wrapup-done').disabled = false;
    showWrapupError(text, 'server');
  } else {
    note(text, 'error');
  }
}
function note(text, kind = 'info') {
  $('desk-note').textContent = text;
  $('desk-note').dataset.kind = kind;
  $('desk-note').hidden = !text;
  fitPanels();
}
// the transcript and the cards take the rest of the first screen, whatever is above them (notes,
// reminders, the wrap-up), leaving the top of the folded sections in view
function fitPanels() {
  if ($('call-panel').hidden) return;
  const top = $('transcript-panel').getBoundingClientRect().top + window.scrollY;
  document.documentElement.style.setProperty('--live-height', `${Math.max(240, Math.floor(window.innerHeight - top - 48))}px`);
}
window.addEventListener('resize', fitPanels);

// --- presence: available, away with a reason, "after this call", not responding -----------------
function setReasons(reasons) {
  if (!Array.isArray(reasons) || !reasons.length) return;
  const chosen = $('away-reason').value;
  $('away-reason').innerHTML = reasons.map(r => `<option value="${esc(r)}">${esc(words(r))}</option>`).join('');
  if (reasons.includes(chosen)) $('away-reason').value = chosen;
}
function setPresence(m) {
  presence = m;
  const state = m.state || 'offline', next = m.next_state || '';
  const reason = m.reason ? words(m.reason) : '';
  $('state').dataset.state = state;
  $('state').textContent = (STATE_WORDS[state] || words(state)) + (state === 'away' && reason ? ` \u00b7 ${reason}` : '');
  $('next-state').hidden = !next;
  $('next-state').dataset.state = next;
  $('next-state').textContent = next
    ? `after this call: ${STATE_WORDS[next] || words(next)}${next === 'away' && reason ? ` (${reason})` : ''}` : '';
  $('not-responding').hidden = state !== 'not_responding';
  $('go-available').setAttribute('aria-pressed', String(next ? next === 'available' : state === 'available'));
  $('go-away').setAttribute('aria-pressed', String(next ? next === 'away' : state === 'away'));
  if (state === 'away' && m.reason && [...$('away-reason').options].some(o => o.value === m.reason)) {
    $('away-reason').value = m.reason;
  }
  if (ring && state === 'not_responding') onRingCancelled({call: ring.call, reason: 'timeout'});
  if (ring && state !== 'ringing') stopRinging();  // the offer ended: answered here, or withdrawn
  if (wrapupPending && state !== 'wrap_up' && state !== 'offline') wrapupSaved();  // the server moved on
}
function goAvailable() {
  unlockAlerts();
  send({type: 'state', state: 'available'});
}
function goAway() {
  unlockAlerts();
  send({type: 'state', state: 'away', reason: $('away-reason').value});
}

// --- ringing: sound, notification, title, banner with a countdown ---------------------------------
// The browser lets a page make sound and ask for notifications only after a user gesture: the
// agent's clicks (Available, Away, anywhere) prepare both, so a ring later is heard and shown.
const ringer = {ctx: null, out: null, analyser: null, timer: null, notification: null, titleTimer: null};
const TITLE = document.title;
function audioContext() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!ringer.ctx && Context) ringer.ctx = new Context();
  if (ringer.ctx && ringer.ctx.state === 'suspended') ringer.ctx.resume().catch(() => {});
  return ringer.ctx;
}
function unlockAlerts() {
  audioContext();
  if ('Notification' in window && Notification.permission === 'default') {
    Promise.resolve(Notification.requestPermission()).catch(() => {});
  }
}
function tone(ctx, out, at, seconds) {  // one burst of the UK ring: 400 + 450 Hz, soft edges
  const gain = ctx.createGain();
  gain.gain.setValueAtTime(0, at);
  gain.gain.linearRampToValueAtTime(0.2, at + 0.02);
  gain.gain.setValueAtTime(0.2, at + seconds - 0.03);
  gain.gain.linearRampToValueAtTime(0, at + seconds);
  gain.connect(out);
  for (const hz of [400, 450]) {
    const osc = ctx.createOscillator();
    osc.frequency.value = hz;
    osc.connect(gain);
    osc.start(at);
    osc.stop(at + seconds);
  }
}
function startRingSound() {
  stopRingSound();
  const ctx = audioContext();
  window.hotlineRing.started += 1;
  window.hotlineRing.playing = true;
  window.hotlineRing.audio = ctx ? ctx.state : 'unsupported';
  if (!ctx) return;
  const out = ringer.out = ctx.createGain();
  ringer.analyser = ctx.createAnalyser();
  out.connect(ringer.analyser);
  out.connect(ctx.destination);
  const cadence = () => {  // ring-ring, pause: every 3 s until answered, declined or withdrawn
    const at = ctx.currentTime + 0.05;
    tone(ctx, out, at, 0.4);
    tone(ctx, out, at + 0.6, 0.4);
    window.hotlineRing.audio = ctx.state;
  };
  cadence();
  ringer.timer = setInterval(cadence, 3000);
}
function stopRingSound() {
  if (ringer.timer) clearInterval(ringer.timer);
  ringer.timer = null;
  if (ringer.out) {
    ringer.out.disconnect();
    ringer.out = ringer.analyser = null;
    window.hotlineRing.stopped += 1;
  }
  window.hotlineRing.playing = false;
}
window.hotlineRing.level = () => {  // the ring's current peak (0..1): is it really sounding?
  if (!ringer.analyser) return 0;
  const data = new Float32Array(ringer.analyser.fftSize);
  ringer.analyser.getFloatTimeDomainData(data);
  return data.reduce((peak, v) => Math.max(peak, Math.abs(v)), 0);
};
function showNotification(title, body, tag) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const shown = ringer.notification = new Notification(title, {body, tag, requireInteraction: true});
    window.hotlineRing.notifications += 1;
    shown.onclick = () => { window.focus(); shown.close(); };
  } catch (err) {  // some browsers allow notifications from service workers only
    ringer.notification = null;
  }
}
function flashTitle(text) {
  stopTitleFlash();
  window.hotlineRing.title = text;
  let on = false;
  const flip = () => { on = !on; document.title = on ? text : TITLE; };
  flip();
  ringer.titleTimer = setInterval(flip, 1000);
}
function stopTitleFlash() {
  if (ringer.titleTimer) clearInterval(ringer.titleTimer);
  ringer.titleTimer = null;
  window.hotlineRing.title = '';
  document.title = TITLE;
}
function callerInfo(m) {  // who is calling, from the ring (the server fills in the CRM's view)
  const c = m.context || {};
  return {name: m.caller_name || '', number: phoneNumber(m.caller || c.caller),
          reason: reasonWords(m.reason || c.transfer_reason || c.problem || ''), language: m.language || c.lang || '',
          vip: vipLevel(m.vip), queue: m.queue || '', botQuestion: c['bot.question'] || ''};
}
function onRing(m) {
  ring = {call: m.call, at: Date.now(), timeout: Number(m.ring_timeout_s) || 0, info: callerInfo(m),
          waited: m.waited_s};
  $('ringing').dataset.call = m.call;
  $('ringing').hidden = false;
  $('answer').disabled = $('decline').disabled = false;
  note('');
  renderRing();
  startRingSound();
  tick();
  const told = ring;
  if (told.info.name) { notifyRing(); return; }
  // an older server names only the number: the CRM's view of the caller comes with the call's context
  lookUpCaller(m.call).then(customer => {
    if (ring !== told) return;
    told.info.name = customer.name || '';
    told.info.vip = told.info.vip || vipLevel(customer.vip);
    renderRing();
    notifyRing();
  });
}
async function lookUpCaller(id) {
  const r = await Promise.race([hotline.request(`/api/agent/calls/${encodeURIComponent(id)}/context`),
                                new Promise(resolve => setTimeout(() => resolve({ok: false}), 1500))]);
  return r.ok && r.body.customer ? r.body.customer : {};
}
function renderRing() {
  const info = ring.info;
  const who = info.name || info.number || 'unknown caller';
  $('ring-name').textContent = who;
  $('ring-number').textContent = info.name ? info.number : '';
  $('ring-vip').hidden = !info.vip;
  $('ring-vip').textContent = info.vip ? `VIP ${info.vip}` : '';
  const asked = info.botQuestion.length > 80 ? `${info.botQuestion.slice(0, 79)}\u2026` : info.botQuestion;
  const facts = [info.reason, asked && `asked the bot: \u201c${asked}\u201d`, language(info.language),
                 info.queue && `${info.queue} queue`,
                 ring.waited !== undefined && `waited ${Math.round(ring.waited)} s`].filter(Boolean);
  $('ring-facts').innerHTML = facts.map(f => `<span>${esc(f)}</span>`).join('');
  $('ring-time').hidden = !ring.timeout;
  flashTitle(`Incoming call \u2014 ${who}`);
}
function notifyRing() {
  const info = ring.info;
  showNotification(`Incoming call \u2014 ${info.name || info.number || 'unknown caller'}`,
                   [info.reason, language(info.language), info.vip && `VIP ${info.vip}`].filter(Boolean).join(' \u00b7 '),
                   `hotline-ring-${ring.call}`);
}
function stopRinging() {
  ring = null;
  $('ringing').hidden = true;
  stopRingSound();
  stopTitleFlash();
  if (ringer.notification) ringer.notification.close();
  ringer.notification = null;
}
const CANCELLED = {timeout: 'You missed a call from {}', declined: 'You declined the call from {}',
                   answered: 'The call from {} was answered elsewhere', abandoned: '{} hung up before you answered'};
function onRingCancelled(m) {
  if (!ring || ring.call !== m.call) return;  // already answered or declined here
  const who = ring.info.name || ring.info.number || 'the caller';
  stopRinging();
  note((CANCELLED[m.reason] || 'The call from {} is no longer ringing here').replace('{}', who),
       m.reason === 'timeout' ? 'error' : 'info');
  if (m.reason === 'timeout') $('not-responding-why').textContent = `you missed a call from ${who}, so no calls are offered to you.`;
}
function decline() {
  if (!ring) return;
  const who = ring.info.name || ring.info.number || 'the caller';
  send({type: 'decline', call: ring.call});
  stopRinging();
  note(`You declined the call from ${who}: it goes to the next agent.`);
}

// --- the call: answer, the call bar with its timers, hold, transfer, hang up ------------------------
async function answer() {
  if (!ring) return;
  const {call: id, info} = ring;
  stopRinging();
  showCall(id, info);
  const stream = await hotline.microphone().catch(err => { note(`no microphone: ${err.message}`, 'error'); return null; });
  if (!stream) { send({type: 'decline', call: id}); closeCall(); return; }
  const mine = pc = new RTCPeerConnection();
  stream.getTracks().forEach(t => mine.addTrack(t, stream));
  mine.ontrack = ev => { $('remote').srcObject = new MediaStream([ev.track]); };
  mine.onconnectionstatechange = () => {
    if (!call || call.endedAt || pc !== mine) return;
    $('call-state').textContent = mine.connectionState === 'connected' ? 'connected' : mine.connectionState;
    $('call-state').dataset.state = mine.connectionState;
    if (['failed', 'closed', 'disconnected'].includes(mine.connectionState)) callEnded('lost');
  };
  await mine.setLocalDescription(await mine.createOffer());
  await hotline.waitIce(mine);
  if (pc !== mine) return;  // hung up meanwhile
  send({type: 'answer', call: id, sdp: mine.localDescription.sdp});
}
function onAnswered(m) {
  if (!call || m.call !== call.id) return;
  if (m.error) {
    closeCall();
    note(m.error, 'error');
    return;
  }
  call.answeredAt = Date.now();
  if (pc) pc.setRemoteDescription({type: 'answer', sdp: m.sdp});
  tick();
}
function setCallButtons(enabled) {
  for (const id of ['hangup', 'hold', 'transfer-open', 'transfer']) $(id).disabled = !enabled;
  if (!enabled) { $('transfer-box').hidden = true; $('transfer-open').setAttribute('aria-expanded', 'false'); }
}
function showCall(id, info) {
  currentCall = id;
  call = {id, info: {...info}, answeredAt: 0, endedAt: 0, heldAt: 0, heldMs: 0, endedBy: '', transferring: false};
  callerNumber = '';
  const panel = $('call-panel');
  panel.hidden = false;
  delete panel.dataset.ended;
  panel.dataset.call = id;
  $('transcript').innerHTML = '<li class="empty">The conversation appears here as it is said.</li>';
  $('suggestions').innerHTML = '<p class="empty">Articles that fit what the caller says appear here.</p>';
  for (const list of ['context', 'previous', 'tickets']) $(list).innerHTML = '';
  $('previous-count').textContent = $('tickets-count').textContent = '';
  $('wrapup').hidden = true;
  $('disposition').value = '';
  $('notes').value = '';
  showWrapupError('');
  $('new-ticket-result').textContent = '';
  $('hold').dataset.held = 'no';
  $('hold').textContent = 'Hold';
  $('call-state').textContent = 'connecting';
  $('call-state').dataset.state = 'connecting';
  setCallButtons(true);
  renderWho();
  fitPanels();
  tick();
  renderBot({});
  loadContext(id);
  desk.tell({type: 'desk_call', call: id});
}
function renderWho() {
  const info = call.info;
  $('caller-name').textContent = info.name || info.number || 'unknown caller';
  $('caller').textContent = info.name ? info.number : '';
  $('caller-vip').hidden = !info.vip;
  $('caller-vip').textContent = info.vip ? `VIP ${info.vip}` : '';
  $('caller-reason').textContent = info.reason || '';
  $('caller-language').textContent = language(info.language);
  $('caller-notes').hidden = !info.notes;
  $('caller-notes').textContent = info.notes || '';
}
async function loadContext(id) {
  const r = await hotline.request(`/api/agent/calls/${encodeURIComponent(id)}/context`);
  if (!r.ok || !call || call.id !== id) return;
  const ctx = r.body, rec = ctx.call || {}, customer = ctx.customer || {}, vars = rec.variables || {};
  callerNumber = rec.from_uri || '';
  const info = call.info;
  info.number = phoneNumber(rec.from_uri) || info.number;
  info.name = customer.name || info.name;
  info.vip = vipLevel(customer.vip) || info.vip;
  info.language = info.language || vars.lang || customer.preferred_language || '';
  info.reason = info.reason || reasonWords(vars.transfer_reason || vars.problem || '');
  info.notes = customer.notes || '';
  renderWho();
  renderBot(rec);
  fitPanels();  // the CRM note and the bot's question may add lines to the call bar
  const custom = Object.entries(customer).filter(([k]) => k !== 'found').map(([k, v]) => [`crm.${k}`, v]);
  const rows = [['IVR path', (rec.ivr_path || []).join(' \u203a ')], ...custom,
    ...Object.entries(vars).filter(([k]) => !k.endsWith('_zh')).sort()];
  $('context').innerHTML = rows.map(([k, v]) =>
    `<tr><th>${esc(k)}</th><td data-var="${esc(k)}">${esc(typeof v === 'object' ? JSON.stringify(v) : v)}</td></tr>`).join('');
  const previous = ctx.previous_calls || [], tickets = ctx.tickets || [];
  $('previous').innerHTML = previous.map(c => `<li data-call="${esc(c.id)}"><span class="when">${esc(hotline.when(c.started_at))}</span>
    <span>${esc(words(c.disposition || c.outcome || ''))}</span> <span class="muted">${esc(c.agent || '')}</span>
    ${c.notes ? `<span class="notes">${esc(c.notes)}</span>` : ''}</li>`).join('') || '<li class="empty">none</li>';
  $('tickets').innerHTML = tickets.map(t => `<li data-ref="${esc(t.ref)}"><a href="/tickets#${esc(t.ref)}" target="_blank">${esc(t.ref)}</a>
    <span class="tag">${esc(words(t.status || 'open'))}</span> <span>${esc(words(t.type))}</span>
    <span class="muted">${esc(t.priority || '')}</span> ${esc(t.description || '')}</li>`).join('') || '<li class="empty">none</li>';
  $('previous-count').textContent = `(${previous.length})`;
  $('tickets-count').textContent = `(${tickets.length})`;
  const history = [previous.length && `${previous.length} previous call${previous.length > 1 ? 's' : ''}`,
                   tickets.length && `${tickets.length} open ticket${tickets.length > 1 ? 's' : ''}`].filter(Boolean);
  $('caller-history').innerHTML = history.length
    ? `<a href="#previous-details" id="history-link">${esc(history.join(', '))}</a>` : 'first call';
  const link = $('history-link');
  if (link) {
    link.onclick = ev => {
      ev.preventDefault();
      const target = tickets.length ? $('tickets-details') : $('previous-details');
      $('previous-details').open = previous.length > 0;
      $('tickets-details').open = tickets.length > 0;
      target.scrollIntoView({behavior: 'smooth', block: 'start'});
    };
  }
}
// the caller's last question to the voice bot (the record's `bot` list, newest last; the variables
// bot.question / bot.title as a fallback): the question, the article it read, and the caller's verdict
const BOT_VERDICTS = {yes: 'the caller said it helped', no: 'the caller said it did not help'};
function renderBot(rec) {
  const entries = Array.isArray(rec.bot) ? rec.bot : [], vars = rec.variables || {};
  const last = entries.length ? entries[entries.length - 1] : null;
  const question = last ? last.question : vars['bot.question'];
  $('bot-asked').hidden = !question;
  if (!question) return;
  const article = last ? last.article : vars['bot.article'];
  const title = vars['bot.title'] && (!last || vars['bot.article'] === last.article) ? vars['bot.title'] : article;
  $('bot-question').textContent = question;
  $('bot-offered').textContent = article ? `\u00b7 offered: ${title}` : '\u00b7 the bot found no article';
  const said = last ? last.resolved : '';
  $('bot-verdict').textContent = article ? `\u00b7 ${BOT_VERDICTS[said] || 'the caller did not say whether it helped'}` : '';
  $('bot-asked').dataset.resolved = said || '';
  $('bot-asked').dataset.article = article || '';
  $('bot-open').hidden = !article || !desk.openArticle;
  $('bot-open').onclick = () => desk.openArticle(article, (last && last.language) || call.info.language || 'en');
}
function toggleHold() {
  if (!call || call.endedAt) return;
  const held = $('hold').dataset.held === 'yes';
  send({type: held ? 'resume' : 'hold', call: currentCall});
  if (held) { call.heldMs += Date.now() - call.heldAt; call.heldAt = 0; } else { call.heldAt = Date.now(); }
  $('hold').dataset.held = held ? 'no' : 'yes';
  $('hold').textContent = held ? 'Hold' : 'Resume';
  $('call-panel').dataset.held = held ? 'no' : 'yes';
  tick();
}
function transfer() {
  const agent = $('transfer-agent').value.trim();
  const queue = $('transfer-queue').value;
  send({type: 'transfer', call: currentCall, queue, skill: queue === 'address' ? 'address_change' : 'general', agent});
  call.transferring = true;
  $('call-state').textContent = agent ? `transferring to ${agent}` : `transferring to the ${queue} queue`;
  $('transfer-box').hidden = true;
  $('transfer-open').setAttribute('aria-expanded', 'false');
}
// the call is over for this desk (either side hung up, it was transferred, or the line dropped):
// the call bar says so with its timers stopped, and the wrap-up opens under it
function callEnded(by) {
  if (!call) return;
  if (by === 'lost' && call.transferring) by = 'transferred';
  if (by && ['', 'lost', 'ended'].includes(call.endedBy)) call.endedBy = by;  // a later, better reason wins
  if (call.endedBy === 'transferred' && !$('disposition').value) $('disposition').value = 'transferred';
  if (!call.endedAt) {
    call.endedAt = Date.now();
    if (call.heldAt) { call.heldMs += call.endedAt - call.heldAt; call.heldAt = 0; }
    if (pc) pc.close();
    pc = null;
    send({type: 'ended', call: call.id});
    setCallButtons(false);
    $('wrapup').hidden = false;
    fitPanels();
    $('disposition').focus({preventScroll: true});
  }
  const ended = call.endedBy || 'ended';
  $('call-state').textContent = ENDED_WORDS[ended] || ended;
  $('call-state').dataset.state = 'ended';
  $('call-panel').dataset.ended = ended;
  tick();
}
function closeCall() {
  if (pc) pc.close();
  pc = null;
  call = null;
  currentCall = null;
  wrapupPending = false;
  $('call-panel').hidden = true;
  $('wrapup').hidden = true;
  desk.tell({type: 'desk_call', call: null});
}
// a desk reloaded during a call or its wrap-up: the softphone is gone, the wrap-up is still due
function resumeAfterReload(m) {
  if (call || !m.call || !['on_call', 'wrap_up'].includes(m.state)) return;
  showCall(m.call, {});
  call.answeredAt = Date.now();
  callEnded('lost');
}

// --- wrap-up: a disposition chosen by the agent, refused without one ------------------------------
function showWrapupError(text, from = '') {
  $('wrapup-error').textContent = text;
  $('wrapup-error').dataset.from = from;
  $('wrapup').classList.toggle('refused', Boolean(text));
  $('disposition').setAttribute('aria-invalid', String(Boolean(text) && !$('disposition').value));
  fitPanels();
}
function wrapupDone() {
  if (!call || wrapupPending) return;
  const disposition = $('disposition').value;
  if (!disposition) {
    showWrapupError('Choose a disposition first: how did the call end for the caller?', 'page');
    $('disposition').focus();
    return;
  }
  showWrapupError('');
  wrapupPending = true;
  $('wrapup-done').disabled = true;
  send({type: 'wrapup', call: call.id, disposition, notes: $('notes').value});
}
function wrapupSaved() {
  $('wrapup-done').disabled = false;
  closeCall();
}

// --- the live transcript and the knowledge cards -----------------------------------------------------
window.assistTimings = [];  // per card: ms from the caller's final transcript event to the card here
function showSuggestion(e) {
  const arrived = Date.now();
  if (e.transcript_ts) window.assistTimings.push({n: e.n, article: e.article, ms: arrived - e.transcript_ts * 1000});
  for (const old of document.querySelectorAll('.card.latest')) old.classList.remove('latest');
  for (const empty of $('suggestions').querySelectorAll('.empty')) empty.remove();
  const card = document.createElement('article');
  card.className = 'card latest';
  card.dataset.article = e.article;
  card.dataset.n = e.n;
  card.innerHTML = `<h4>${esc(e.title)} <span class="confidence" title="how well it fits">${Math.round(100 * e.confidence)} %</span></h4>
    <p class="script">${esc(e.script)}</p>
    <ol class="steps">${(e.steps || []).map(s => `<li>${esc(s)}</li>`).join('')}</ol>
    <p class="verdicts"><button class="used" type="button">Used</button> <button class="dismiss" type="button">Not relevant</button>
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
  $('suggestions').scrollTop = 0;  // the newest card is the one on top: keep it in view
}
function addTranscript(e) {
  const list = $('transcript');
  const follow = list.scrollHeight - list.scrollTop - list.clientHeight < 40;  // the agent did not scroll back
  for (const empty of list.querySelectorAll('.empty')) empty.remove();
  const li = document.createElement('li');
  li.dataset.speaker = e.speaker;
  li.innerHTML = `<span class="speaker">${esc(e.speaker === 'caller' ? 'caller' : 'you')}</span> `;
  li.appendChild(document.createTextNode(e.text));
  list.appendChild(li);
  if (follow) list.scrollTop = list.scrollHeight;
}
function onCallEvent(e) {
  if (!call || (e.call_id && e.call_id !== call.id)) return;
  if (e.type === 'assist.suggestion') showSuggestion(e);
  if (e.type === 'transcript.final') addTranscript(e);
  if (e.type === 'call.ended') callEnded(e.reason === 'remote_bye' ? 'caller' : 'ended');
  if (e.type === 'call.transferred') callEnded('transferred');
}

// --- timers: the ring's countdown, the call and hold times ---------------------------------------------
function tick() {
  if (ring && ring.timeout) {
    const left = Math.max(0, ring.timeout - (Date.now() - ring.at) / 1000);
    $('ring-countdown').textContent = `${Math.ceil(left)} s`;
    $('ring-bar').style.width = `${Math.round(100 * left / ring.timeout)}%`;
  }
  if (call) {
    const now = call.endedAt || Date.now();
    $('call-timer').textContent = call.answeredAt ? clock(now - call.answeredAt) : '0:00';
    $('call-timer').dataset.running = call.answeredAt && !call.endedAt ? 'yes' : 'no';
    const held = call.heldMs + (call.heldAt ? now - call.heldAt : 0);
    $('hold-timer').hidden = !held;
    $('hold-timer').textContent = `${call.heldAt ? 'on hold' : 'held'} ${clock(held)}`;
    $('hold-timer').dataset.running = call.heldAt && !call.endedAt ? 'yes' : 'no';
  }
}
setInterval(tick, 500);

// --- overdue tickets: pushed when their SLA time passes, and listed when the desk opens ------------
function addReminder(t) {
  if ([...$('reminders').children].some(li => li.dataset.ref === String(t.ref))) return;
  const li = document.createElement('li');
  li.dataset.ref = t.ref;
  li.innerHTML = `Ticket <a href="/tickets#${esc(t.ref)}" target="_blank">${esc(t.ref)}</a> (${esc(t.type)},
    ${esc(t.priority)}) is overdue since ${new Date(t.due_at * 1000).toLocaleTimeString()}: ${esc(t.description)}`;
  $('reminders').appendChild(li);
  fitPanels();
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
  $('new-ticket-result').textContent = r.ok ? `ticket ${r.body.ref} created` : hotline.detail(r.body);
  $('new-ticket-result').dataset.ref = r.ok ? r.body.ref : '';
}

$('go-available').onclick = goAvailable;
$('back-available').onclick = goAvailable;
$('go-away').onclick = goAway;
$('away-reason').onchange = () => {  // a new reason while away (or away after this call) counts at once
  if (presence.state === 'away' || presence.next_state === 'away') goAway();
};
$('answer').onclick = () => { $('answer').disabled = $('decline').disabled = true; answer(); };
$('decline').onclick = decline;
$('hangup').onclick = () => callEnded('agent');
$('hold').onclick = toggleHold;
$('transfer-open').onclick = () => {
  const box = $('transfer-box');
  box.hidden = !box.hidden;
  $('transfer-open').setAttribute('aria-expanded', String(!box.hidden));
  if (!box.hidden) $('transfer-agent').focus();
};
$('transfer').onclick = transfer;
$('wrapup-done').onclick = wrapupDone;
$('disposition').onchange = () => { if ($('disposition').value) showWrapupError(''); };
$('new-ticket').onclick = newTicket;
document.addEventListener('pointerdown', () => { if (ringer.ctx && ringer.ctx.state === 'suspended') ringer.ctx.resume().catch(() => {}); });
hotline.me.then(user => { if (user) { $('me').textContent = user.name; connect(); } });
