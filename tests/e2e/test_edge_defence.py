"""The SIP edge under a scanner's flood: a SIPp "friendly-scanner" from 127.0.0.5 sends 500
INVITE/s for 10 s while a real caller from 127.0.0.1 speaks and keys digits. The real call
completes with its transcript and digits, no scanner INVITE reaches a worker, and the edge counts
the scanner's requests and its ban (read from Kamailio and exported on /metrics)."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_sip_call import wait_for_call
from tests.support.rtp_pcap import Clip, Digit, build_pcap, read_wav_8k
from tests.support.server import ServerProcess
from tests.support.sipp import SippRun, fill_scenario, run_sipp

SCANNER = "127.0.0.5"


def edge_decisions(server: ServerProcess) -> dict[str, float]:
    """The edge's decisions, and its replies as "replies:<sender>:<class>", from /metrics."""
    reply = httpx.get(f"{server.base_url}/metrics", timeout=10)
    assert reply.status_code == 200, reply.text
    found = {}
    for family in text_string_to_metric_families(reply.text):
        for s in family.samples:
            if s.name == "hotline_edge_decisions_total":
                found[s.labels["decision"]] = s.value
            elif s.name == "hotline_edge_replies_total":
                found[f"replies:{s.labels['sender']}:{s.labels['class']}"] = s.value
    return found


def test_a_scanner_flood_is_dropped_and_banned_while_a_real_call_completes(
        server: ServerProcess, track_parcel_wav: Path, workdir: Path) -> None:
    before = edge_decisions(server)
    known = {c["id"] for c in server.admin_get("/api/calls", limit=200)}
    (workdir / "real").mkdir()
    (workdir / "scan").mkdir()
    pcap = workdir / "real" / "caller.pcap"
    build_pcap(pcap, 17.0, [Clip(3.0, read_wav_8k(track_parcel_wav))], [Digit(15.0, "4"), Digit(16.0, "2")])
    real_scenario = fill_scenario("ivr_caller.xml", workdir / "real", PCAP=pcap, INFO_AT_MS=18000,
                                  INFO_DIGIT_1="7", INFO_DIGIT_2="#", BYE_TIMEOUT_MS=40000)
    scan_scenario = fill_scenario("scanner.xml", workdir / "scan", USER_AGENT="friendly-scanner")
    runs: dict[str, SippRun] = {}

    def scan() -> None:  # 5,000 INVITEs at 500/s, no retransmission, never answered
        runs["scan"] = run_sipp(scan_scenario, f"127.0.0.1:{server.sip_port}", workdir / "scan", calls=5000,
                                rate=500, timeout_s=40, max_concurrent=50, local_ip=SCANNER, extra=("-nr",))

    scanner = threading.Thread(target=scan)
    scanner.start()
    try:
        real = run_sipp(real_scenario, f"127.0.0.1:{server.sip_port}", workdir / "real", timeout_s=90)
    finally:
        scanner.join(90)
    assert real.returncode == 0, f"the real caller failed: {real.stdout[-2000:]} {real.errors()} {server.tail()}"
    assert "scan" in runs and runs["scan"].returncode == 0, runs.get("scan")  # all 5,000 sent

    call = wait_for_call(server, lambda c: c["id"] not in known and c["status"] == "completed"
                         and c["variables"].get("parcel_number") == "427")
    record = server.admin_get(f"/api/calls/{call['id']}")
    assert [d["digit"] for d in record["dtmf"]] == ["4", "2", "7", "#"]
    assert "parcel" in " ".join(s["text"] for s in record["transcript"]).lower(), record["transcript"]
    assert record["frames_dropped"] == 0
    # nothing of the scanner's reached a worker: no call record from its address
    new = [c for c in server.admin_get("/api/calls", limit=500) if c["id"] not in known]
    assert [c["from_uri"] for c in new if SCANNER in c["from_uri"]] == []
    assert len(new) == 1, [c["from_uri"] for c in new]

    after = edge_decisions(server)
    counted = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    assert counted.get("flood_banned", 0) >= 1, counted  # the source was banned for its rate
    assert counted.get("banned_dropped", 0) >= 3000, counted  # most of the flood met the ban
    assert counted.get("scanner_dropped", 0) >= 1, counted  # before the ban: dropped by its User-Agent
    assert counted.get("busy_refused", 0) == 0, counted
    assert counted.get("replies:relayed:2xx", 0) >= 1, counted  # the real caller's INVITE, answered
