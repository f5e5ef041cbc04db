"""After a call: its recording is served and re-transcribed with Whisper beside the live transcript."""

from __future__ import annotations

import io
import time
import wave
from pathlib import Path

import httpx
import numpy as np

from tests.support.server import ServerProcess, auth
from tests.support.sipp import run_sipp, speaking_caller


def test_recording_and_post_call_transcript(server: ServerProcess, track_parcel_wav: Path, workdir: Path) -> None:
    before = {c["id"] for c in server.admin_get("/api/calls", limit=1000)}
    scenario = speaking_caller("hold_caller.xml", workdir, track_parcel_wav, 2.0, 6.0, HOLD_MS=7000)
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, timeout_s=60)
    assert run.returncode == 0, run.stdout[-2000:]

    deadline = time.monotonic() + 90
    call: dict = {}
    while time.monotonic() < deadline:
        new = [c for c in server.admin_get("/api/calls", limit=50) if c["id"] not in before]
        if new and (new[0].get("post_transcript") or {}).get("status") == "done":
            call = new[0]
            break
        time.sleep(1.0)
    assert call, f"no finished post-call transcript: {server.admin_get('/api/calls', limit=1)}"
    post = call["post_transcript"]
    assert post["engine"] == "whisper" and post["progress"] == 1.0
    text = " ".join(s["text"] for s in post["segments"]).lower()
    assert "track" in text and "parcel" in text, post
    assert call["transcript"], "the live transcript stays beside the post-call one"
    seg = post["segments"][0]
    assert 1500 <= seg["start_ms"] < seg["end_ms"] <= 6000, seg

    url = f"{server.base_url}/api/calls/{call['id']}/recording/caller"
    assert httpx.get(url, timeout=10).status_code == 401  # recordings are for QA and admin users
    agent = server.login("alice", "alice-demo")
    assert httpx.get(url, headers=auth(agent), timeout=10).status_code == 403
    qa = server.login("quinn", "quinn-demo")
    assert httpx.get(url, params={"token": qa}, timeout=10).status_code == 401  # never in the URL
    response = httpx.get(url, headers=auth(qa), timeout=10)
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(float)
    seconds = len(audio) / 16000
    assert abs(seconds - call["duration_s"]) < 1.0, (seconds, call["duration_s"])
    speech = audio[int(2.2 * 16000):int(3.5 * 16000)]
    quiet = audio[int(0.2 * 16000):int(1.5 * 16000)]
    assert np.sqrt(np.mean(speech ** 2)) > 20 * max(np.sqrt(np.mean(quiet ** 2)), 1.0)
    missing = httpx.get(f"{server.base_url}/api/calls/{call['id']}/recording/agent", headers=auth(qa),
                        timeout=10)
    assert missing.status_code == 404 and "no recording" in missing.json()["detail"]
