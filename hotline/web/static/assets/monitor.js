// Listen / whisper / barge on a live agent call, for supervisor pages (after hotline.js):
// window.HotlineMonitor.start(callId, mode) joins the call over WebRTC (mode: 'listen' hears the caller
// and the agent and nobody hears you, 'whisper' only the agent hears you, 'barge' both do),
// setMode(mode) switches, stop() leaves. Any element `.monitor-controls[data-call]` on the page (now or
// added later) gets Listen / Whisper / Barge / Leave buttons for its call. The page's document gets a
// `hotline-monitor` event ({call, mode, state}) at every change; received() is the audio energy heard
// so far. In listen the microphone is muted here too: nothing of the supervisor leaves the browser.
'use strict';
(() => {
  const MODES = ['listen', 'whisper', 'barge'];
  const LABELS = {listen: 'Listen', whisper: 'Whisper', barge: 'Barge'};
  const current = {call: null, mode: null, state: 'idle', error: '', failed: null};
  let pc = null;
  let stream = null;
  let audio = null;

  const url = (call, what) => `/api/supervisor/calls/${encodeURIComponent(call)}/${what}`;
  function changed() {
    document.dispatchEvent(new CustomEvent('hotline-monitor', {detail: {...current}}));
    render();
  }
  function unmute() {
    for (const t of stream ? stream.getAudioTracks() : []) t.enabled = current.mode !== 'listen';
  }
  function release() {
    if (pc) pc.close();
    if (stream) stream.getTracks().forEach(t => t.stop());
    if (audio) audio.srcObject = null;
    pc = stream = null;
  }

  async function start(callId, mode = 'listen') {
    if (!MODES.includes(mode)) throw new Error(`mode must be one of ${MODES.join(', ')}`);
    if (current.call) await stop();
    Object.assign(current, {call: callId, mode, state: 'connecting', error: '', failed: null});
    changed();
    stream = await hotline.microphone().catch(() => null);  // without one: listen only
    const mine = pc = new RTCPeerConnection();
    if (stream) stream.getTracks().forEach(t => mine.addTrack(t, stream));
    else mine.addTransceiver('audio', {direction: 'recvonly'});
    unmute();
    mine.ontrack = ev => {
      if (!audio) {
        audio = document.createElement('audio');
        audio.id = 'monitor-audio';
        audio.autoplay = true;
        audio.hidden = true;
        document.body.appendChild(audio);
      }
      audio.srcObject = new MediaStream([ev.track]);
      audio.play().catch(() => {});
    };
    mine.onconnectionstatechange = () => {
      if (pc !== mine) return;
      if (mine.connectionState === 'connected') current.state = 'on';
      else if (['failed', 'closed', 'disconnected'].includes(mine.connectionState)) {
        current.state = 'ended';
        release();
        current.call = current.mode = null;
      }
      changed();
    };
    await mine.setLocalDescription(await mine.createOffer());
    await hotline.waitIce(mine);
    if (pc !== mine) return false;  // left meanwhile
    const r = await hotline.request(url(callId, 'monitor'), 'POST', {sdp: mine.localDescription.sdp, mode});
    if (pc !== mine) return false;
    if (!r.ok) {
      release();
      Object.assign(current, {call: null, mode: null, state: 'error', error: hotline.detail(r.body), failed: callId});
      changed();
      return false;
    }
    await mine.setRemoteDescription({type: 'answer', sdp: r.body.sdp});
    return true;
  }

  async function setMode(mode) {
    if (!current.call || !MODES.includes(mode)) return false;
    const r = await hotline.request(url(current.call, 'mode'), 'POST', {mode});
    if (r.ok) {
      current.mode = mode;
      unmute();
    } else current.error = hotline.detail(r.body);
    changed();
    return r.ok;
  }

  async function stop() {
    const call = current.call;
    release();
    Object.assign(current, {call: null, mode: null, state: 'idle'});
    changed();
    if (call) await hotline.request(url(call, 'monitor'), 'DELETE').catch(() => null);
  }

  // the audio received on the call so far (the inbound RTP's totalAudioEnergy; 0 when not on one)
  async function received() {
    if (!pc) return 0;
    let energy = 0;
    (await pc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') energy += s.totalAudioEnergy || 0;
    });
    return energy;
  }

  // the buttons in every .monitor-controls[data-call]
  function fill(box) {
    if (box.dataset.monitorFilled === 'yes') return;
    box.dataset.monitorFilled = 'yes';
    const call = box.dataset.call;
    const buttons = MODES.map(mode => {
      const b = hotline.text('button', LABELS[mode], {type: 'button', 'data-mode': mode, 'aria-pressed': 'false'});
      b.onclick = () => (current.call === call ? setMode(mode) : start(call, mode));
      return b;
    });
    const leave = hotline.text('button', 'Leave', {type: 'button', 'data-mode': 'leave', disabled: ''});
    leave.onclick = () => stop();
    const state = hotline.text('span', '', {class: 'monitor-state', role: 'status'});
    box.replaceChildren(...buttons, leave, state);
    render();
  }
  function render() {
    for (const box of document.querySelectorAll('.monitor-controls[data-call]')) {
      if (box.dataset.monitorFilled !== 'yes') continue;
      const mine = current.call === box.dataset.call;
      for (const b of box.querySelectorAll('button[data-mode]')) {
        if (b.dataset.mode === 'leave') b.disabled = !mine;
        else b.setAttribute('aria-pressed', String(mine && current.mode === b.dataset.mode));
      }
      const state = box.querySelector('.monitor-state');
      if (state) state.textContent = mine ? `${current.mode} (${current.state})` : current.failed === box.dataset.call ? current.error : '';
    }
  }
  function scan(root) {
    if (root.matches && root.matches('.monitor-controls[data-call]')) fill(root);
    if (root.querySelectorAll) root.querySelectorAll('.monitor-controls[data-call]').forEach(fill);
  }
  scan(document);
  new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(scan)))
    .observe(document.body, {childList: true, subtree: true});
  window.addEventListener('pagehide', () => { if (current.call) stop(); });

  window.HotlineMonitor = {start, setMode, stop, received, fill: scan, state: () => ({...current}), modes: MODES};
})();
