// The customer's call page: a WebRTC call into the IVR, with a keypad (RFC 4733 telephone-events).
'use strict';
const {$} = hotline;
let pc = null, sender = null;
const stateEl = $('state');
function setState(s) { stateEl.textContent = s; stateEl.dataset.state = s; }
async function call() {
  $('call').disabled = true;
  setState('calling');
  const stream = await hotline.microphone();
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
  const r = await hotline.request('/api/webrtc/calls', 'POST', {sdp: pc.localDescription.sdp, type: 'offer'});
  if (!r.ok) { setState('failed'); stateEl.title = JSON.stringify(r.body.detail); return; }
  document.body.dataset.call = r.body.call;
  await pc.setRemoteDescription({type: 'answer', sdp: r.body.sdp});
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
$('call').onclick = call;
$('hangup').onclick = ended;
document.querySelectorAll('.key').forEach(b => { b.onclick = () => press(b.dataset.key); });
