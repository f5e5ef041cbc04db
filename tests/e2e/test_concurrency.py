"""24 simultaneous speaking SIPp callers of 20 s each through the edge (a full node: 6 workers of
4 calls): all answered, no frame dropped, every record complete, and every caller's sentence
transcribed by the node's recognition service (Moonshine)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.rtp_pcap import Clip, build_pcap, read_wav_8k
from tests.support.server import ServerProcess
from tests.support.sipp import fill_scenario, run_sipp

CALLS = 24


def scrape(server: ServerProcess) -> dict[str, float]:
    """Sums per metric name on /metrics (Prometheus' own parser reads it)."""
    reply = httpx.get(f"{server.base_url}/metrics", timeout=10)
    assert reply.status_code == 200, reply.text
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def test_twenty_four_speaking_callers(server: ServerProcess, track_parcel_wav: Path, workdir: Path) -> None:
    before = {c["id"] for c in server.admin_get("/api/calls", limit=1000)}
    metrics_before = scrape(server)
    pcap = workdir / "hold.pcap"
    build_pcap(pcap, 19.0, [Clip(3.0, read_wav_8k(track_parcel_wav))], [])
    scenario = fill_scenario("hold_caller.xml", workdir, PCAP=pcap, HOLD_MS=20000)
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, calls=CALLS, rate=5, timeout_s=120)
    assert run.returncode == 0, f"sipp: {run.stdout[-3000:]} {run.errors()}"

    deadline = time.monotonic() + 90
    while True:
        new = [c for c in server.admin_get("/api/calls", limit=1000) if c["id"] not in before]
        if len(new) >= CALLS and all(c["status"] == "completed" for c in new) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert len(new) == CALLS
    per_worker = Counter(c["worker"] for c in new)
    assert max(per_worker.values()) <= 4 and len(per_worker) == 6, per_worker
    for call in new:
        assert call["status"] == "completed", call
        assert call["end_reason"] == "remote_bye", call
        assert call["frames_dropped"] == 0, call
        assert call["frames_received"] >= 950, call  # 20 s of 20 ms frames
        assert 19.5 <= call["duration_s"] <= 30, call
        # however long the queue, a final is never lost from the record
        assert call["ivr_path"][:2] == ["greeting", "main_menu"], call
        finals = [s for s in call["transcript"] if s["speaker"] == "caller"]
        assert any("parcel" in s["text"].lower() for s in finals), call
        assert all(s["engine"] == "moonshine" for s in finals), finals
    service = server.get("/api/health")["asr"]["service"]
    assert service["ok"] and service["refused"] == 0 and service["failed"] == 0, service
    # the load moved the counters and histograms of every process (workers, recogniser, app)
    after = scrape(server)
    moved = {name: after.get(name, 0.0) - metrics_before.get(name, 0.0) for name in after}
    assert moved["hotline_calls_total"] == CALLS, moved
    assert moved["hotline_recognition_seconds_count"] >= CALLS, moved
    assert moved.get("hotline_frames_dropped_total", 0.0) == 0.0
    assert "hotline_calls_active" in after and "hotline_acd_waiting" in after
