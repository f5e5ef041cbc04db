// The customer's call page: a WebRTC call into the IVR, with a keypad (RFC 4733 telephone-events).
// The caller is known by the number they type in, or by the customer id an embedding site signed
// (/call?customer=ID&sig=HEX); with neither the server gives them an anonymous identity of their own.
'use strict';
const {$} = hotline;
let pc = null, sender = null;
const stateEl = $('state');
const params = new URLSearchParams(location.search);
const customer = params.get('customer') || '';
const sig = params.get('sig') || '';
function setState(s) { stateEl.textContent = s; stateEl.dataset.state = s; }
// the same rule as the server's (hotline.web.softphone.normalise_phone): '' when there is none
function phoneNumber() {
  let n = $('phone').value.trim().replace(/[\s().\-/]/g, '');
  if (n.startsWith('00')) n = '+' + n.slice(2);
  if (n && !/^(\+[1-9][0-9]{5,14}|[0-9]{6,15})$/.test(n)) return null;
  return n;
}
function identity() {
  if (customer || sig) return {customer, sig};
  const phone = phoneNumber();
  $('phone-error').textContent = phone === null
    ? 'enter a phone number of 6 to 15 digits, with the country code: +15550100' : '';
  $('phone').setAttribute('aria-invalid', phone === null ? 'true' : 'false');
  return phone === null ? null : {phone};
}
async function call() {
  $('call-error').textContent = '';
  const who = identity();
  if (!who) { $('phone').focus(); return; }
  $('call').disabled = true;
  setState('calling');
  let stream;
  try {
    stream = await hotline.microphone();
  } catch (e) {
    failed('no microphone: ' + e.message);
    return;
  }
  pc = new RTCPeerConnection();
  stream.getTracks().forEach(t => { sender = pc.addTrack(t, stream); });
  pc.ontrack = ev => { $('remote').srcObject = new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => {
    const s = pc.connectionState;
    if (s === 'connected') { setState('connected'); $('hangup').disabled = false; }
    if (s === 'failed' || s === 'closed' || s === 'disconnected') ended();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await hotline.waitIce(pc);
  const r = await hotline.request('/api/webrtc/calls', 'POST', {sdp: pc.localDescription.sdp, type: 'offer', ...who});
  if (!r.ok) {
    failed(hotline.detail(r.body) || `the call could not be placed (HTTP ${r.status})`);
    return;
  }
  document.body.dataset.call = r.body.call;
  document.body.dataset.caller = r.body.caller;
  await pc.setRemoteDescription({type: 'answer', sdp: r.body.sdp});
}
function failed(why) {
  setState('failed');
  stateEl.title = why;
  $('call-error').textContent = why;
  $('call').disabled = false;
  if (pc) { pc.close(); pc = null; }
}
function ended() {
  if (stateEl.dataset.state === 'ended') return;
  setState('ended');
  $('hangup').disabled = true;
  $('call').disabled = false;
  if (pc) { pc.close(); }
}
function press(key) {
  if (!sender || !sender.dtmf || !sender.dtmf.canInsertDTMF) return;
  sender.dtmf.insertDTMF(key, 120, 80);  // RFC 4733 telephone-events in the RTP stream
  $('sent').textContent += key;
}
// for tests and the curious: how much sound came in
window.receivedAudioEnergy = async () => {
  if (!pc) return 0;
  let energy = 0;
  (await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') energy += r.totalAudioEnergy || 0; });
  return energy;
};
if (customer || sig) {  // the embedding site said who this is: no number to ask for
  $('customer-id').textContent = customer;
  $('as-customer').hidden = false;
  $('as-phone').hidden = true;
}
$('call-form').onsubmit = ev => { ev.preventDefault(); call(); };
$('phone').oninput = () => { $('phone-error').textContent = ''; $('phone').removeAttribute('aria-invalid'); };
$('hangup').onclick = ended;
document.querySelectorAll('.key').forEach(b => { b.onclick = () => press(b.dataset.key); });
