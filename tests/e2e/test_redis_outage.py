"""Redis going away: calls go on and are recorded; the embedded Redis comes back with its data."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.support.procs import descendants
from tests.support.server import ServerProcess
from tests.support.sipp import run_sipp, speaking_caller


def redis_pid(server: ServerProcess) -> int:
    assert server.proc is not None
    for pid in descendants(server.proc.pid):
        try:
            if b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    raise AssertionError("no embedded redis-server")


def test_calls_survive_redis_outage(tmp_path: Path, track_parcel_wav: Path, _tools_present: None) -> None:
    server = ServerProcess(tmp_path / "serve", workers=1).start()
    try:
        scenario = speaking_caller("hold_caller.xml", tmp_path, track_parcel_wav, 1.0, 6.0, HOLD_MS=7000)
        first = redis_pid(server)
        os.kill(first, signal.SIGSTOP)  # a hung Redis: accepts connections, never answers
        try:
            run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", tmp_path, timeout_s=60)
            health = server.get("/api/health")
        finally:
            os.kill(first, signal.SIGCONT)
        assert run.returncode == 0, run.stdout[-2000:]
        assert health["status"] == "degraded" and not health["redis"]["ok"]
        calls = server.admin_get("/api/calls", limit=5)
        assert len(calls) == 1 and calls[0]["status"] == "completed"
        assert calls[0]["ivr_path"][:3] == ["greeting", "main_menu", "tracking_number"]
        assert any("parcel" in s["text"].lower() for s in calls[0]["transcript"]), calls[0]["transcript"]

        os.kill(first, signal.SIGKILL)  # a dead Redis: the supervisor restarts it
        time.sleep(1.0)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            health = server.get("/api/health")
            if health["status"] == "ok":
                break
            time.sleep(0.5)
        assert health["status"] == "ok" and health["redis"]["ok"], health
        assert redis_pid(server) != first
    finally:
        assert server.stop() == 0
