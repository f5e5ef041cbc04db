"""Vosk over a real SIP call: partial results stream out before the final (Korean model), with
the media path at 16 kHz and at 8 kHz (G.711 and Vosk with no resampling on our side)."""

from __future__ import annotations

import json
import time
import wave
from pathlib import Path

import pytest
import redis

from tests.conftest import synthesize
from tests.support.server import ServerProcess
from tests.support.sipp import run_sipp, speaking_caller


@pytest.mark.parametrize("rate", [16000, 8000])
def test_vosk_streams_partials_over_sip(rate: int, tmp_path: Path, _tools_present: None) -> None:
    speech = synthesize("안녕하세요 택배 배송 조회를 하고 싶습니다", tmp_path / "ko.wav", voice="ko")
    # the demo menus are English, so the Korean caller is heard with open vocabulary
    server = ServerProcess(tmp_path / "serve", workers=1, extra_args=["--asr-engine", "vosk", "--language", "ko"],
                           settings_yaml=f"media_rate: {rate}\nasr:\n  grammar: false\n").start()
    try:
        assert server.get("/api/health")["asr"]["engine"] == "vosk"
        scenario = speaking_caller("hold_caller.xml", tmp_path, speech, 1.5, 8.0, HOLD_MS=8000)
        run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", tmp_path, timeout_s=60)
        assert run.returncode == 0, run.stdout[-2000:]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            calls = server.admin_get("/api/calls", limit=1)
            if calls and calls[0]["status"] == "completed":
                break
            time.sleep(0.5)
        call = calls[0]
        assert call["asr_engine"] == "vosk" and call["transcript"], call
        assert all(s["engine"] == "vosk" and s["speaker"] == "caller" for s in call["transcript"])

        client = redis.Redis(unix_socket_path=str(server.data / "redis" / "redis.sock"))
        events = [(f[b"type"].decode(), json.loads(f[b"data"])) for _, f in client.xrange("hotline:events")
                  if f[b"call_id"].decode() == call["id"]]
        client.close()
        kinds = [k for k, _ in events]
        assert "transcript.partial" in kinds and "transcript.final" in kinds, kinds
        assert kinds.index("transcript.partial") < kinds.index("transcript.final")
        final = next(d for k, d in events if k == "transcript.final")
        with wave.open(str(server.data / call["recordings"]["caller"])) as w:
            assert w.getframerate() == rate
            assert abs(w.getnframes() / rate - call["duration_s"]) < 1.0
        assert final["words"] and all(w[1] <= w[2] for w in final["words"])
        assert final["start_ms"] <= final["words"][0][1]
    finally:
        assert server.stop() == 0
