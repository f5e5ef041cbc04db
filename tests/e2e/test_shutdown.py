"""SIGTERM with a live call: the caller gets a BYE, the record is saved, the server exits 0."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.support.rtp_pcap import Clip, build_pcap, read_wav_8k
from tests.support.server import ServerProcess
from tests.support.sipp import fill_scenario, run_sipp


def test_sigterm_hangs_up_live_call_and_saves_it(tmp_path: Path, track_parcel_wav: Path, _tools_present: None) -> None:
    server = ServerProcess(tmp_path / "serve", workers=1).start()
    try:
        pcap = tmp_path / "c.pcap"
        build_pcap(pcap, 8.0, [Clip(2.0, read_wav_8k(track_parcel_wav))], [])
        scenario = fill_scenario("bye_waiter.xml", tmp_path, PCAP=pcap, BYE_TIMEOUT_MS=60000)
        import threading

        result: dict[str, object] = {}
        caller = threading.Thread(target=lambda: result.update(run=run_sipp(
            scenario, f"127.0.0.1:{server.sip_port}", tmp_path, timeout_s=60)))
        caller.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            calls = server.get("/api/calls", limit=5)
            # wait until the caller's sentence has been transcribed, then stop the server
            if calls and calls[0]["transcript"]:
                break
            time.sleep(0.3)
        assert calls and calls[0]["status"] == "live", calls
        call_id = calls[0]["id"]
    finally:
        code = server.stop(signal.SIGTERM)
    caller.join(60)
    assert code == 0, server.tail()
    run = result["run"]
    assert run.returncode == 0, f"caller did not get a BYE: {run.stdout[-2000:]}"  # type: ignore[attr-defined]
    # the record survived shutdown: read the durable store directly (the server is gone)
    from hotline.center.store import SqliteCallStore

    record = SqliteCallStore(tmp_path / "serve" / "calls.db").get(call_id)
    assert record is not None
    assert record["status"] == "completed" and record["end_reason"] == "local_hangup"
    assert record["ended_at"] is not None
    assert any("track" in s["text"].lower() for s in record["transcript"])
    # the embedded redis and kamailio are gone too
    assert subprocess.run(["pgrep", "-f", str(tmp_path / "serve")], capture_output=True).stdout == b""
