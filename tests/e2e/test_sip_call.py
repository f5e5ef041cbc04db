"""A real SIPp caller through the Kamailio edge: speech, RFC 4733 and SIP INFO digits, prompts."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.rtp_pcap import Clip, Digit, build_pcap, g711_rms_dbfs, read_rtp, read_wav_8k
from tests.support.server import ServerProcess
from tests.support.sipp import fill_scenario, run_sipp


def wait_for_call(server: ServerProcess, predicate, timeout: float = 60.0) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in server.admin_get("/api/calls", limit=50):
            if predicate(call):
                return call
        time.sleep(0.5)
    raise AssertionError(f"no matching call record: {server.admin_get('/api/calls', limit=5)}")


def test_caller_speaks_and_keys_digits(server: ServerProcess, track_parcel_wav: Path, workdir: Path) -> None:
    pcap = workdir / "caller.pcap"
    # speech at 3 s (during the menu prompt: barge-in), RFC 4733 digits 4 and 2 at 15 s and 16 s
    build_pcap(pcap, 17.0, [Clip(3.0, read_wav_8k(track_parcel_wav))], [Digit(15.0, "4"), Digit(16.0, "2")])
    scenario = fill_scenario("ivr_caller.xml", workdir, PCAP=pcap, INFO_AT_MS=18000, INFO_DIGIT_1="7",
                             INFO_DIGIT_2="#", BYE_TIMEOUT_MS=40000)
    capture = workdir / "received.pcap"
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, capture=capture, timeout_s=90)
    assert run.returncode == 0, f"sipp failed: {run.stdout[-2000:]} {run.errors()} {server.tail()}"

    call = wait_for_call(server, lambda c: c["status"] == "completed" and c["variables"].get("parcel_number") == "427")
    record = server.admin_get(f"/api/calls/{call['id']}")
    assert record["ivr_path"] == ["greeting", "main_menu", "tracking_number", "tracking_readback"]
    assert record["variables"]["main_menu.choice"] == "tracking"
    assert [(d["digit"], d["method"]) for d in record["dtmf"]] == [
        ("4", "rfc4733"), ("2", "rfc4733"), ("7", "info"), ("#", "info")]
    assert record["dtmf_count"] == 4
    text = " ".join(s["text"] for s in record["transcript"]).lower()
    assert "parcel" in text, record["transcript"]  # "track" is at times heard as "trap"
    seg = record["transcript"][0]
    assert seg["speaker"] == "caller" and seg["engine"] == "moonshine"
    assert 2500 <= seg["start_ms"] < seg["end_ms"] <= 7000, seg  # the speech was sent from 3.0 s to ~5.2 s
    assert record["end_reason"] == "local_hangup"  # the IVR hung up after the read-back
    assert record["frames_dropped"] == 0 and record["frames_received"] > 1000
    assert "+15550100" in record["from_uri"]

    packets = read_rtp(capture)
    assert len(packets) > 500, "SIPp received too little RTP from the server"
    assert g711_rms_dbfs(packets) > -40.0, "the prompt audio SIPp received is silent"
