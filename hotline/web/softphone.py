"""Browser callers: the "call the hotline" page and the offer/answer endpoint behind it."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from hotline.center.keys import WORKERS_KEY
from hotline.center.webrtc_signalling import SignallingError, request_call
from hotline.web.pages import page


class Offer(BaseModel):
    sdp: str = Field(min_length=10, max_length=20000, description="the browser's SDP offer, ICE gathered")
    type: str = Field("offer", pattern="^offer$")
    caller: str = Field("webrtc", max_length=100, description="who is calling (shown to agents)")


async def _pick_worker(client: aioredis.Redis) -> str:
    try:
        raw = await client.hgetall(WORKERS_KEY)
    except (aioredis.RedisError, OSError) as exc:
        raise HTTPException(status_code=503, detail="call signalling unavailable (Redis)") from exc
    load: list[tuple[int, str]] = []
    for key, value in raw.items():
        info = json.loads(value)
        name = key.decode() if isinstance(key, bytes) else str(key)
        load.append((int(info.get("calls", 0)) + int(info.get("webrtc_calls", 0)), name))
    if not load:
        raise HTTPException(status_code=503, detail="no media worker is running")
    return min(load)[1]


def softphone_router(client: aioredis.Redis) -> APIRouter:
    router = APIRouter(tags=["webrtc"])

    @router.post("/api/webrtc/calls")
    async def place_call(offer: Offer) -> dict[str, Any]:
        """Place a browser call into the IVR: returns the SDP answer (non-trickle ICE)."""
        if "m=audio" not in offer.sdp:
            raise HTTPException(status_code=422, detail="the offer has no audio")
        worker = await _pick_worker(client)
        try:
            return await request_call(client, worker, offer.sdp, offer.caller)
        except SignallingError as exc:
            raise HTTPException(status_code=503 if exc.retryable else 422, detail=str(exc)) from exc
        except (aioredis.RedisError, OSError) as exc:
            raise HTTPException(status_code=503, detail="call signalling unavailable (Redis)") from exc

    @router.get("/call", response_class=HTMLResponse, include_in_schema=False)
    async def call_page() -> str:
        return page("Call the hotline", _BODY, _SCRIPT, staff=False)  # customers: no staff navigation

    return router


_BODY = """
<h1>Call the hotline</h1>
<p>Your browser calls the same hotline as a phone does. Allow the microphone when asked.</p>
<p><button id="call">Call</button> <button id="hangup" disabled>Hang up</button>
<span id="state" data-state="idle">idle</span></p>
<div id="keypad">
""" + "".join(f'<button class="key" data-key="{k}">{k}</button>' + ("<br>" if k in "369" else "")
              for k in "123456789*0#") + """
</div>
<p>Keys sent: <span id="sent"></span></p>
<audio id="remote" autoplay></audio>
"""

_SCRIPT = """
let pc = null, sender = null;
const stateEl = document.getElementById('state');
function setState(s) { stateEl.textContent = s; stateEl.dataset.state = s; }
function waitIce(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise(resolve => {
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
    setTimeout(resolve, 3000);
  });
}
async function call() {
  document.getElementById('call').disabled = true;
  setState('calling');
  const stream = await navigator.mediaDevices.getUserMedia(
    {audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
  pc = new RTCPeerConnection();
  stream.getTracks().forEach(t => { sender = pc.addTrack(t, stream); });
  pc.ontrack = ev => { document.getElementById('remote').srcObject = new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => {
    const s = pc.connectionState;
    if (s === 'connected') { setState('connected'); document.getElementById('hangup').disabled = false; }
    if (s === 'failed' || s === 'closed' || s === 'disconnected') ended();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await waitIce(pc);
  const r = await fetch('/api/webrtc/calls', {method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify({sdp: pc.localDescription.sdp, type: 'offer'})});
  const body = await r.json();
  if (!r.ok) { setState('failed'); stateEl.title = JSON.stringify(body.detail); return; }
  document.body.dataset.call = body.call;
  await pc.setRemoteDescription({type: 'answer', sdp: body.sdp});
}
function ended() {
  if (stateEl.dataset.state === 'ended') return;
  setState('ended');
  document.getElementById('hangup').disabled = true;
  document.getElementById('call').disabled = false;
  if (pc) { pc.close(); }
}
function press(key) {
  if (!sender || !sender.dtmf || !sender.dtmf.canInsertDTMF) return;
  sender.dtmf.insertDTMF(key, 120, 80);  // RFC 4733 telephone-events in the RTP stream
  document.getElementById('sent').textContent += key;
}
async function receivedAudioEnergy() {  // for tests and the curious: how much sound came in
  if (!pc) return 0;
  let energy = 0;
  (await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') energy += r.totalAudioEnergy || 0; });
  return energy;
}
document.getElementById('call').onclick = call;
document.getElementById('hangup').onclick = ended;
document.querySelectorAll('.key').forEach(b => b.onclick = () => press(b.dataset.key));
"""
