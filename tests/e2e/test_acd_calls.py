"""3 agents with different skills and 6 simultaneous SIP callers for 2 queues, end to end: every
call reaches an agent with the right skill or takes the overflow path, and waits are recorded."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import synthesize
from tests.support.rtp_pcap import Digit, build_pcap
from tests.support.server import REPO, ServerProcess
from tests.support.sipp import fill_scenario, run_sipp
from tests.support.softphone_agent import SoftphoneAgent

SKILLS = {"alice": {"general", "address_change"}, "bob": {"general"}, "chen": {"general", "address_change", "zh"}}


@pytest.fixture(scope="module")
def acd_server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("acd"), workers=2, flows=REPO / "flows",
                           settings_yaml="clock: '2026-11-23T10:00:00+00:00'\nring_timeout_s: 10\n"
                                         "queues:\n  default: {max_wait_s: 50, announce_every_s: 15}\n"
                                         "post_call_transcription: false\n").start()
    yield server
    assert server.stop() == 0, server.tail()


def test_six_callers_two_queues_three_agents(acd_server: ServerProcess, workdir: Path) -> None:
    # general queue: English, then 0; address queue: English, 4 (change address), a parcel number
    general, address = workdir / "general.pcap", workdir / "address.pcap"
    build_pcap(general, 80.0, [], [Digit(1.0, "1"), Digit(1.5, "0"), Digit(78.0, "#")])
    build_pcap(address, 80.0, [], [Digit(1.0, "1"), Digit(1.5, "4")]
               + [Digit(2.0 + 0.3 * i, d) for i, d in enumerate("12345678#")] + [Digit(78.0, "#")])
    voice = synthesize("Hello, how can I help you today?", workdir / "agent.wav", rate=48000)
    runs: dict[str, Any] = {}

    def callers(name: str, pcap: Path) -> None:
        (workdir / name).mkdir()
        scenario = fill_scenario("bye_waiter.xml", workdir / name, PCAP=pcap, BYE_TIMEOUT_MS=150000)
        runs[name] = run_sipp(scenario, f"127.0.0.1:{acd_server.sip_port}", workdir / name, calls=3, rate=3,
                              timeout_s=200)

    agents = [SoftphoneAgent(acd_server.base_url, name, f"{name}-demo", voice, talk_s=6.0) for name in SKILLS]

    async def work() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(a.run(stop)) for a in agents]
        await asyncio.sleep(2.0)  # all three available before the callers arrive
        threads = [threading.Thread(target=callers, args=("general", general)),
                   threading.Thread(target=callers, args=("address", address))]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*tasks)

    asyncio.run(work())
    for name, run in runs.items():
        assert run.returncode == 0, f"{name}: {run.stdout[-1500:]} {run.errors()} {acd_server.tail()}"

    deadline = time.monotonic() + 60  # records are final once each call's last words are transcribed
    while True:
        done = [c for c in acd_server.admin_get("/api/calls", limit=20) if c["status"] == "completed"]
        if len(done) == 6 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    records = [acd_server.admin_get(f"/api/calls/{c['id']}") for c in done]
    assert len(records) == 6, [r["ivr_path"] for r in records]
    outcomes = []
    for record in records:
        transfer = record["transfers"][-1]
        assert transfer["queue"] in ("general", "address") and "waited_s" in transfer, transfer
        needed = "address_change" if transfer["queue"] == "address" else "general"
        assert transfer["skill"] == needed
        if transfer["result"] == "answered":
            assert needed in SKILLS[transfer["agent"]], transfer  # the right skill, always
            assert record["agent"] == transfer["agent"] and record["wrapup"]["disposition"] == "resolved"
        else:
            assert transfer["result"] == "overflow", transfer
            assert "leave_message" in record["ivr_path"]  # the flow's overflow: a message and a callback
        outcomes.append(transfer["result"])
    assert outcomes.count("answered") >= 3
    handled = sorted(c for a in agents for c in a.calls)
    assert len(handled) == len(set(handled)) == outcomes.count("answered")  # nobody got a call twice
