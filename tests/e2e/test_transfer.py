"""A `transfer` to a SIP URI is a blind transfer: REFER to the caller, who reports the new call."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.rtp_pcap import Digit, build_pcap
from tests.support.server import ServerProcess
from tests.support.sipp import fill_scenario, run_sipp


def newest_completed(server: ServerProcess, before: set[str]) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [c for c in server.admin_get("/api/calls", limit=50) if c["id"] not in before]
        if new and new[0]["status"] == "completed":
            return new[0]  # type: ignore[no-any-return]
        time.sleep(0.5)
    raise AssertionError("no completed call")


@pytest.mark.parametrize(("notify", "outcome", "last_node"), [
    ("200 OK", "transferred", "agent"),
    ("486 Busy Here", "flow_end", "agent_unavailable"),
])
def test_caller_is_transferred_by_refer(server: ServerProcess, workdir: Path, notify: str, outcome: str,
                                        last_node: str) -> None:
    pcap = workdir / "zero.pcap"
    build_pcap(pcap, 4.0, [], [Digit(1.0, "0")])  # "0" during the greeting: the agent option
    scenario = fill_scenario("refer_caller.xml", workdir, PCAP=pcap, REFER_TIMEOUT_MS=40000, NOTIFY_STATUS=notify)
    before = {c["id"] for c in server.admin_get("/api/calls", limit=50)}
    run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, timeout_s=90)
    assert run.returncode == 0, f"sipp failed: {run.stdout[-2000:]} {run.errors()} {server.tail()}"
    call = newest_completed(server, before)
    assert call["ivr_path"][-1] == last_node and call["outcome"] == outcome, call
    transfer = call["transfers"][0]
    assert transfer["uri"] == "sip:operator@127.0.0.1:5999"
    assert transfer["result"] == ("transferred" if outcome == "transferred" else "sip_486")
    assert call["end_reason"] == "local_hangup"  # the server hangs up after the transfer, or after its apology
