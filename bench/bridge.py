"""SIP callers bridged to WebRTC agents through the whole server; prints JSON.

Per number of simultaneous calls: SIPp callers (G.711, speaking a sentence every few seconds)
ask for an agent in the demo IVR; as many agents, played by aiortc peers that do what the desk
page does (log in, go available, answer the ring over the desk WebSocket, send Opus from a
looped speech file), take them. Reported: calls bridged, CPU per bridged call (all server
processes, idle subtracted, both legs transcribed), and audio gaps: frames the server dropped,
and silences over 100 ms in the packets each side received while bridged.

    python -m bench.bridge [--calls 1,2,4,6] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import synthesize
from tests.support.procs import tree_cpu_seconds
from tests.support.rtp_pcap import Clip, Digit, build_pcap, read_rtp, read_wav_8k
from tests.support.server import REPO, ServerProcess, auth
from tests.support.sipp import fill_scenario, run_sipp
from tests.support.softphone_agent import SoftphoneAgent

GAP_S = 0.1


def gaps(times: list[float]) -> int:
    return sum(1 for a, b in zip(times, times[1:], strict=False) if b - a > GAP_S)


def run(calls: int, seconds: int, workdir: Path) -> dict[str, Any]:
    caller_wav = synthesize("I would like to change the delivery address of my parcel", workdir / "caller.wav")
    spoken = synthesize("Of course, I can help you with that. What is the new address?", workdir / "agent-raw.wav",
                        rate=48000)
    agent_wav = workdir / "agent.wav"  # a pause after each sentence (the file loops), as in a conversation
    subprocess.run(["sox", str(spoken), str(agent_wav), "pad", "0", "2"], check=True)
    clips = [Clip(at, read_wav_8k(caller_wav)) for at in range(15, 15 + seconds, 8)]
    pcap = workdir / "caller.pcap"
    build_pcap(pcap, 12 + seconds, clips, [Digit(1.0, "1"), Digit(1.5, "0")])
    server = ServerProcess(workdir / f"serve-{calls}", workers=max(1, -(-calls // 4)), flows=REPO / "flows",
                           settings_yaml="clock: '2026-11-23T10:00:00+00:00'\nring_timeout_s: 30\n").start()
    try:
        assert server.proc is not None
        cpu0, t0 = tree_cpu_seconds(server.proc.pid), time.monotonic()
        time.sleep(3.0)
        idle = (tree_cpu_seconds(server.proc.pid) - cpu0) / (time.monotonic() - t0)
        for i in range(calls):
            httpx.post(f"{server.base_url}/api/agents", headers=auth(server.admin_token), json={"username": f"bench{i}", "name": f"bench{i}",
                                                             "skills": ["general"], "password": "bench-password"},
                       timeout=10).raise_for_status()
        agents = [SoftphoneAgent(server.base_url, f"bench{i}", "bench-password", agent_wav, seconds, max_calls=1)
                  for i in range(calls)]
        scenario = fill_scenario("bye_waiter.xml", workdir, PCAP=pcap, BYE_TIMEOUT_MS=(seconds + 60) * 1000)
        capture = workdir / f"heard-{calls}.pcap"

        async def scenario_run() -> tuple[Any, float, float, tuple[float, float]]:
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            agent_tasks = [asyncio.create_task(a.run(stop)) for a in agents]
            await asyncio.sleep(1.0)
            sipp = loop.run_in_executor(None, lambda: run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir,
                                                               calls=calls, rate=10, timeout_s=seconds + 90,
                                                               capture=capture))
            while not all(a.bridged_at for a in agents):  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.0)  # settle
            c0, w0, wall0 = tree_cpu_seconds(server.proc.pid), time.monotonic(), time.time()  # type: ignore[union-attr]
            await asyncio.sleep(seconds - 6)
            cpu = (tree_cpu_seconds(server.proc.pid) - c0) / (time.monotonic() - w0)  # type: ignore[union-attr]
            wall = (wall0, time.time())
            await asyncio.gather(*agent_tasks)
            stop.set()
            return await sipp, cpu, w0, wall

        result, busy, window_start, (wall0, wall1) = asyncio.run(scenario_run())
        records = [c for c in server.admin_get("/api/calls", limit=calls * 2) if c.get("agent")]
        packets = read_rtp(capture)
        heard = sorted(p.time for p in packets if wall0 < p.time < wall1)  # SIPp's first call, while bridged
        caller_gaps = gaps(heard)
        return {
            "calls": calls,
            "bridged": sum(len(a.calls) for a in agents),
            "sipp_ok": result.returncode == 0,
            "cpu_percent_per_bridged_call": round(max(busy - idle, 0.0) / calls * 100, 1),
            "server_cpu_percent_total": round(busy * 100, 1),
            "frames_dropped": sum(int(c.get("frames_dropped", 0)) for c in records),
            "agent_side_gaps_over_100ms": sum(gaps([t for t in a.arrivals if t > window_start]) for a in agents),
            "caller_side_gaps_over_100ms": caller_gaps,
            "caller_side_packets": len(heard),
            "transcript_speakers": sorted({s["speaker"] for c in records
                                           for s in server.admin_get(f"/api/calls/{c['id']}")["transcript"]}),
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", default="1,2,4")
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    out = []
    with tempfile.TemporaryDirectory(prefix="bench-bridge-") as tmp:
        for n in [int(x) for x in args.calls.split(",")]:
            workdir = Path(tmp) / f"n{n}"
            workdir.mkdir()
            out.append(run(n, args.seconds, workdir))
            print(json.dumps(out[-1]), flush=True)
    print(json.dumps({"bridge": out}, indent=2))


if __name__ == "__main__":
    main()
