"""Codecs: PCMA works both ways like PCMU; an offer with no codec we speak is refused with 488."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.rtp_pcap import PT_PCMA, Clip, build_pcap, g711_rms_dbfs, read_rtp, read_wav_8k
from tests.support.server import ServerProcess
from tests.support.sipp import fill_scenario, run_sipp


def test_pcma_call_is_heard_and_answered_in_pcma(server: ServerProcess, track_parcel_wav: Path,
                                                 workdir: Path) -> None:
    before = {c["id"] for c in server.admin_get("/api/calls", limit=1000)}
    pcap = workdir / "alaw.pcap"
    build_pcap(pcap, 9.0, [Clip(1.0, read_wav_8k(track_parcel_wav))], [], codec="PCMA")
    scenario = fill_scenario("hold_caller.xml", workdir, PCAP=pcap, HOLD_MS=9000, CODEC_PT=8, CODEC_NAME="PCMA")
    capture = workdir / "received.pcap"
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, capture=capture, timeout_s=60)
    assert run.returncode == 0, run.stdout[-2000:]
    packets = read_rtp(capture)
    assert packets and {p.payload_type for p in packets} == {PT_PCMA}
    assert g711_rms_dbfs(packets, PT_PCMA) > -40.0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [c for c in server.admin_get("/api/calls", limit=50) if c["id"] not in before]
        if new and new[0]["status"] == "completed":
            break
        time.sleep(0.5)
    text = " ".join(s["text"] for s in new[0]["transcript"]).lower()
    assert "parcel" in text, new[0]  # "track" is at times heard as "trap"


def test_offer_without_a_common_codec_gets_488(server: ServerProcess, workdir: Path) -> None:
    scenario = fill_scenario("rejected_caller.xml", workdir, CODEC_PT=18, CODEC_NAME="G729", EXPECT=488)
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, timeout_s=30)
    assert run.returncode == 0, f"{run.stdout[-2000:]} {run.errors()}"
    assert server.get("/api/health")["status"] == "ok"
