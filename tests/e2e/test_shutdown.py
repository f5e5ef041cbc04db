"""SIGTERM with a live call: the caller gets a BYE, the record is saved, the server exits 0."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.support.procs import descendants
from tests.support.server import ServerProcess
from tests.support.sipp import run_sipp, speaking_caller


def test_sigterm_hangs_up_live_call_and_saves_it(tmp_path: Path, track_parcel_wav: Path, _tools_present: None) -> None:
    server = ServerProcess(tmp_path / "serve", workers=1).start()
    try:
        scenario = speaking_caller("bye_waiter.xml", tmp_path, track_parcel_wav, 2.0, 8.0, BYE_TIMEOUT_MS=60000)
        import threading

        result: dict[str, object] = {}
        caller = threading.Thread(target=lambda: result.update(run=run_sipp(
            scenario, f"127.0.0.1:{server.sip_port}", tmp_path, timeout_s=60)))
        caller.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            calls = server.admin_get("/api/calls", limit=5)
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
    assert any("parcel" in s["text"].lower() for s in record["transcript"])
    # the embedded redis and kamailio are gone too
    assert subprocess.run(["pgrep", "-f", str(tmp_path / "serve")], capture_output=True).stdout == b""


def test_kill9_keeps_saved_segments_and_marks_call_interrupted(tmp_path: Path, track_parcel_wav: Path,
                                                               _tools_present: None) -> None:
    import os
    import threading

    data = tmp_path / "serve"
    server = ServerProcess(data, workers=1).start()
    from tests.support.rtp_pcap import Clip, build_pcap, read_wav_8k
    from tests.support.sipp import fill_scenario

    pcap = tmp_path / "three-sentences.pcap"  # the caller speaks at 2, 8 and 14 s and stays on the line
    said = read_wav_8k(track_parcel_wav)
    build_pcap(pcap, 40.0, [Clip(2.0, said), Clip(8.0, said), Clip(14.0, said)], [])
    scenario = fill_scenario("bye_waiter.xml", tmp_path, PCAP=pcap, BYE_TIMEOUT_MS=60000)
    caller = threading.Thread(target=lambda: run_sipp(scenario, f"127.0.0.1:{server.sip_port}", tmp_path,
                                                      timeout_s=70))
    caller.start()
    deadline = time.monotonic() + 45
    calls: list[dict] = []
    while time.monotonic() < deadline:
        calls = server.admin_get("/api/calls", limit=5)
        if calls and len(calls[0]["transcript"]) >= 3:
            break
        time.sleep(0.3)
    assert calls and calls[0]["status"] == "live" and len(calls[0]["transcript"]) == 3, calls
    before = calls[0]["transcript"]
    call_id = calls[0]["id"]
    assert server.proc is not None
    tree = descendants(server.proc.pid)
    assert len(tree) >= 4  # supervisor, redis, worker, kamailio
    # power cut: everything dies at once and nothing gets to clean up (stopped first, so that no
    # child sees its parent die and starts an orderly shutdown before its own SIGKILL)
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in tree:
            os.kill(pid, sig)
    server.proc.wait(10)
    server.log.close()
    caller.join(40)

    restarted = ServerProcess(data, workers=1).start()
    try:
        record = restarted.admin_get(f"/api/calls/{call_id}")
        assert record["status"] == "interrupted"
        assert record["transcript"][:3] == before, record  # the three final segments survived
        assert any("parcel" in s["text"].lower() for s in record["transcript"]), record
        token = restarted.login("quinn", "quinn-demo")  # and the archive's search finds the call
        found = restarted.get("/api/qa/calls", text="parcel", token=token)
        assert call_id in [c["id"] for c in found], found
    finally:
        assert restarted.stop() == 0


def test_supervisor_killed_takes_its_children_along(tmp_path: Path, _tools_present: None) -> None:
    server = ServerProcess(tmp_path / "serve", workers=1).start()
    assert server.proc is not None
    children = [p for p in descendants(server.proc.pid) if p != server.proc.pid]
    assert children
    server.proc.kill()
    server.proc.wait(10)
    server.log.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in children):
        time.sleep(0.2)
    alive = [p for p in children if Path(f"/proc/{p}/stat").exists()
             and Path(f"/proc/{p}/stat").read_text().split()[2] != "Z"]
    assert alive == [], "children outlived the supervisor"
