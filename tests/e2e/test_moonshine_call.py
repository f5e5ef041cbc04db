"""A real SIPp caller through the Kamailio edge, recognised by Moonshine in the node's recognition
service (the default `asr.engine: auto` for English): the caller's sentence chooses the menu, the
call record names the engine, and /api/health shows the service's queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_sip_call import wait_for_call
from tests.support.rtp_pcap import Clip, Digit, build_pcap, read_wav_8k
from tests.support.server import ServerProcess
from tests.support.sipp import fill_scenario, run_sipp


@pytest.fixture(scope="module")
def moonshine_server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("moonshine"), workers=1,
                         settings_yaml="post_call_transcription: false\n").start()
    yield proc
    assert proc.stop() == 0, proc.tail()


def test_a_sipp_caller_is_recognised_by_moonshine(moonshine_server: ServerProcess, track_parcel_wav: Path,
                                                  workdir: Path) -> None:
    server = moonshine_server
    health = server.get("/api/health")
    assert health["asr"]["engine"] == "moonshine"
    service = health["asr"]["service"]
    assert service["ok"] and service["primary"] == "moonshine" and service["decoders"] >= 1
    done_before = service["done"]
    pcap = workdir / "caller.pcap"
    build_pcap(pcap, 17.0, [Clip(3.0, read_wav_8k(track_parcel_wav))], [Digit(15.0, "4"), Digit(16.0, "2")])
    scenario = fill_scenario("ivr_caller.xml", workdir, PCAP=pcap, INFO_AT_MS=18000, INFO_DIGIT_1="7",
                             INFO_DIGIT_2="#", BYE_TIMEOUT_MS=40000)
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, timeout_s=90)
    assert run.returncode == 0, f"sipp failed: {run.stdout[-2000:]} {run.errors()} {server.tail()}"
    call = wait_for_call(server, lambda c: c["status"] == "completed")
    record = server.admin_get(f"/api/calls/{call['id']}")
    seg = record["transcript"][0]
    assert seg["speaker"] == "caller" and seg["engine"] == "moonshine", record["transcript"]
    assert "parcel" in seg["text"].lower(), seg  # Piper's "track" is sometimes heard as "trap"
    assert record["variables"]["main_menu.choice"] == "tracking"  # the spoken sentence chose the menu
    assert record["variables"].get("parcel_number") == "427"
    assert record["asr_engine"] == "moonshine"
    after = server.get("/api/health")["asr"]["service"]
    assert after["done"] > done_before and after["queued"] == 0 and after["refused"] == 0
