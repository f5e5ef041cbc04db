"""The pjsua2 endpoint in this process against real SIPp calls (no edge)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from hotline.telephony.sip.call import SipCallLeg
from hotline.telephony.sip.endpoint import SipEndpoint
from tests.support.rtp_pcap import build_pcap
from tests.support.sipp import fill_scenario, run_sipp
from tests.support.tools import free_port_block


async def test_finished_call_objects_never_hang_up_the_next_call(tmp_path: Path, _tools_present: None) -> None:
    """Regression: pjsua2's ~Call() hangs up whichever call holds its slot. A finished call whose
    Python leg is still referenced (its session finishing recognition) and collected later must
    not hang up the next call, which pjsua2 gives the same slot."""
    legs: list[SipCallLeg] = []
    port = free_port_block(1)
    endpoint = SipEndpoint("127.0.0.1", port, free_port_block(40, start=30000), legs.append)
    endpoint.start()
    try:
        pcap = tmp_path / "s.pcap"
        build_pcap(pcap, 1.0, [], [])
        scenario = fill_scenario("hold_caller.xml", tmp_path, PCAP=pcap, HOLD_MS=2500)
        # two calls one after the other: the second reuses the first one's slot
        sipp = asyncio.create_task(asyncio.to_thread(
            run_sipp, scenario, f"127.0.0.1:{port}", tmp_path, 2, 1.0, 60, None, False, 1))
        for _ in range(200):
            if len(legs) == 2 and legs[0].disconnected.is_set():
                break
            await asyncio.sleep(0.05)
        first, second = legs
        assert first.disconnected.is_set() and first.disconnect_reason == "remote_bye"
        assert not second.disconnected.is_set()
        del first
        legs.pop(0)
        gc.collect()  # the finished call's objects go now, while the second call is up
        await asyncio.sleep(0.5)
        assert not second.disconnected.is_set(), second.disconnect_reason
        run = await sipp
        assert run.returncode == 0, run.stdout[-2000:]
        assert second.disconnect_reason == "remote_bye"
        assert second.frames.received > 50
    finally:
        await endpoint.stop()
