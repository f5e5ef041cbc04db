"""Concurrent SIP calls through the whole product, per ASR engine.

Starts `hotline serve`, places N simultaneous SIPp calls (each speaks one sentence, then holds),
and prints JSON: calls answered and completed, frames dropped, CPU per call (all server
processes), end-of-speech -> final transcript latency p50/p95 (from the transcript.final events),
and the node's memory at the end of the calls (RSS and PSS summed over every server process).

    python -m bench.calls [--calls 8,16,24,32] [--seconds 20] [--engines moonshine,whisper,vosk]

Each (engine, number of calls) pair runs on a freshly started server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import redis

from tests.conftest import synthesize
from tests.support.procs import tree_cpu_seconds, tree_memory_mb
from tests.support.rtp_pcap import Clip, build_pcap, read_wav_8k
from tests.support.server import ServerProcess
from tests.support.sipp import fill_scenario, run_sipp

ENGINES = {
    # engine: (language, sentence, voice: Piper's for English, espeak-ng's for Korean)
    "moonshine": ("en", "I want to track my parcel", "en-us"),
    "whisper": ("en", "I want to track my parcel", "en-us"),
    "vosk": ("ko", "안녕하세요 택배 배송 조회를 하고 싶습니다", "ko"),
}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


def run_engine(engine: str, calls: int, seconds: int, workdir: Path) -> dict[str, object]:
    language, sentence, voice = ENGINES[engine]
    wav = synthesize(sentence, workdir / f"{engine}.wav", voice=voice)
    pcap = workdir / f"{engine}.pcap"
    build_pcap(pcap, seconds - 1, [Clip(3.0, read_wav_8k(wav))], [])
    workers = max(6, -(-calls // 4))  # the default node, more workers only where 24 calls do not fit
    # the demo flow's menus are English: with the Korean model, menu grammars would hold no known
    # word, so the Vosk run listens openly (the cost of open-vocabulary decoding is what we measure)
    server = ServerProcess(workdir / f"serve-{engine}", workers=workers,
                           extra_args=["--asr-engine", engine, "--language", language],
                           settings_yaml="asr:\n  grammar: false\n" if engine == "vosk" else "").start()
    try:
        time.sleep(2.0)
        assert server.proc is not None
        cpu_idle0, t_idle0 = tree_cpu_seconds(server.proc.pid), time.monotonic()
        time.sleep(3.0)
        idle_cpu = (tree_cpu_seconds(server.proc.pid) - cpu_idle0) / (time.monotonic() - t_idle0)
        scenario = fill_scenario("hold_caller.xml", workdir, PCAP=pcap, HOLD_MS=seconds * 1000)
        cpu0, t0 = tree_cpu_seconds(server.proc.pid), time.monotonic()
        run = run_sipp(scenario, f"127.0.0.1:{server.sip_port}", workdir, calls=calls, rate=10, timeout_s=seconds + 90)
        records: list[dict] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            records = server.admin_get("/api/calls", limit=1000)
            if len(records) >= calls and all(r["status"] != "live" for r in records):
                break
            time.sleep(1.0)
        cpu = tree_cpu_seconds(server.proc.pid) - cpu0
        wall = time.monotonic() - t0
        memory = tree_memory_mb(server.proc.pid)
        client = redis.Redis(unix_socket_path=str(server.data / "redis" / "redis.sock"))
        latencies = [json.loads(fields[b"data"])["latency_ms"]
                     for _, fields in client.xrange("hotline:events")
                     if fields[b"type"] == b"transcript.final"]
        client.close()
    finally:
        server.stop()
    answered = sum(1 for r in records)
    completed = sum(1 for r in records if r["status"] == "completed" and r["end_reason"] == "remote_bye")
    call_seconds = sum(r["duration_s"] or 0 for r in records)
    return {
        "engine": engine,
        "language": language,
        "workers": workers,
        "calls_placed": calls,
        "calls_answered": answered,
        "calls_completed": completed,
        "sipp_exit_code": run.returncode,
        "call_seconds_each": seconds,
        "frames_received": sum(r["frames_received"] for r in records),
        "frames_dropped": sum(r["frames_dropped"] for r in records),
        "finals": len(latencies),
        "eos_to_final_ms_p50": percentile(latencies, 0.5),
        "eos_to_final_ms_p95": percentile(latencies, 0.95),
        "server_idle_cpu_pct": round(100 * idle_cpu, 1),
        "cpu_pct_of_core_per_call": round(100 * max(0.0, cpu - idle_cpu * wall) / max(call_seconds, 1e-9), 2),
        "cpu_seconds_total": round(cpu, 1),
        "node_rss_mb": memory["rss_mb"],
        "node_pss_mb": memory["pss_mb"],
        "wall_seconds": round(wall, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", default="8,16,24,32", help="comma-separated numbers of simultaneous calls")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--engines", default="moonshine,whisper")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        for engine in args.engines.split(","):
            for calls in (int(n) for n in args.calls.split(",")):
                workdir = Path(tmp) / f"{engine}-{calls}"
                workdir.mkdir()
                results.append(run_engine(engine, calls, args.seconds, workdir))
    print(json.dumps({"benchmark": "calls", "cpu_cores": os.cpu_count(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
