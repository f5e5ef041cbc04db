"""Final caller transcript -> suggestion card on the agent desk's WebSocket, end to end.

A real server (`hotline serve`, demo flows and knowledge base), a SIPp caller who asks for an
agent, and a softphone agent speaking the desk's WebSocket protocol. Once the call is bridged,
caller ``transcript.final`` events are put on the Redis event stream exactly as a worker
publishes them (so the recogniser's own time is not part of the figure), cycling through
sentences about different articles; the agent side notes when each suggestion card arrives.
Clocks: the event's ``ts`` and the arrival are both ``time.time()`` on this machine.

    python -m bench.assist_push [--events 200] [--interval-ms 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

from hotline.center.keys import EVENTS_STREAM
from tests.support.rtp_pcap import Digit, build_pcap
from tests.support.server import REPO, ServerProcess, auth
from tests.support.sipp import fill_scenario, run_sipp
from tests.support.softphone_agent import SoftphoneAgent

SENTENCES = [  # each about a different article of config/knowledge, so no card is suppressed as a repeat
    "my parcel arrived damaged and the box was crushed",
    "the courier was rude and threw it over the fence",
    "i wasn't home can you deliver it again on friday",
    "what time are you open on saturday",
    "i need to pay the customs fee for my parcel",
    "i want to send the parcel back to the shop",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def inject(redis_url: str, call: str, events: int, interval_s: float) -> None:
    client = aioredis.from_url(redis_url)
    try:
        for i in range(events):
            text = SENTENCES[i % len(SENTENCES)]
            await client.xadd(EVENTS_STREAM, {"type": "transcript.final", "call_id": call, "ts": f"{time.time():.6f}",
                                              "data": json.dumps({"speaker": "caller", "text": text, "language": "en",
                                                                  "start_ms": i * 1000, "end_ms": i * 1000 + 900})})
            await asyncio.sleep(interval_s)
    finally:
        await client.aclose()


def run(events: int, interval_s: float, workdir: Path) -> dict[str, Any]:
    talk_s = events * interval_s + 8
    pcap = workdir / "caller.pcap"
    build_pcap(pcap, talk_s + 25, [], [Digit(1.0, "1"), Digit(1.5, "0")])  # English, then an agent
    server = ServerProcess(workdir / "serve", workers=1, flows=REPO / "flows",
                           settings_yaml="clock: '2026-11-23T10:00:00+00:00'\nring_timeout_s: 30\n"
                                         "post_call_transcription: false\n").start()
    try:
        httpx.post(f"{server.base_url}/api/agents", headers=auth(server.admin_token), json={"username": "bench", "name": "Bench", "skills": ["general"],
                                                         "password": "bench-password"}, timeout=10).raise_for_status()
        quiet = workdir / "quiet.wav"  # the agent says nothing: only the injected caller lines are matched
        subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", str(quiet), "trim", "0", "2"], check=True)
        agent = SoftphoneAgent(server.base_url, "bench", "bench-password", quiet, talk_s, max_calls=1)
        scenario = fill_scenario("bye_waiter.xml", workdir, PCAP=pcap, BYE_TIMEOUT_MS=int(talk_s + 60) * 1000)
        sipp = threading.Thread(target=run_sipp, args=(scenario, f"127.0.0.1:{server.sip_port}", workdir),
                                kwargs={"timeout_s": int(talk_s + 90)})
        redis_url = f"unix://{(server.data / 'redis' / 'redis.sock').resolve()}"

        async def scenario_run() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(agent.run(stop))
            await asyncio.sleep(1.0)
            sipp.start()
            while not agent.calls:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            await inject(redis_url, agent.calls[0], events, interval_s)
            await task
            stop.set()

        asyncio.run(scenario_run())
        sipp.join(120)
        cards = [(arrived, e) for arrived, e in agent.call_events if e.get("type") == "assist.suggestion"]
        delays = [(arrived - float(e["transcript_ts"])) * 1000 for arrived, e in cards]
        match = [float(e["match_ms"]) for _, e in cards]
        articles = sorted({e["article"] for _, e in cards})
        return {"events": events, "interval_ms": round(interval_s * 1000), "cards": len(cards),
                "articles": articles,
                "final_to_card_ms": {"p50": round(statistics.median(delays), 2),
                                     "p95": round(percentile(delays, 0.95), 2), "max": round(max(delays), 2)},
                "match_ms": {"p50": round(statistics.median(match), 3), "p95": round(percentile(match, 0.95), 3)}}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--interval-ms", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-assist-push-") as tmp:
        print(json.dumps({"assist_push": run(args.events, args.interval_ms / 1000, Path(tmp))}, indent=2))


if __name__ == "__main__":
    main()
