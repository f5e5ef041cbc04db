"""How many simultaneous real-time callers a node's recognition keeps up with, per engine.

For each engine a real recognition service process is started (`hotline asr-service`, one decoder
per core, as `hotline serve` runs it). N callers are simulated in this process as media workers
run them: a bounded frame queue filled in real time (20 ms frames), VAD and the speech pipeline,
and the service over its Unix socket. Each caller talks about 64% of the time: human telephone
prompts (Asterisk's English sounds through the G.711 path, 0.5 to 15 s long) separated by pauses.

Figures per level: end of speech -> final p50/p95 (end of speech is the arrival of the last
speech frame, so the VAD hangover is included), finals vs segments, segments refused, frames
dropped, CPU per caller (this process, standing in for the workers, plus the service), the
service's RSS, and its queue. The peer, in the same run: the bare engine decoding the very same
segments one after another in one loop (decode time p50/p95, CPU per segment): what scheduling
and IPC add on top of the engine itself.

    python -m bench.asr_capacity [--engines moonshine,whisper] [--callers 8,16,24,32] [--seconds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.asr_accuracy import SOUNDS, corpus, telephone_path
from hotline.asr.events import RecognitionUnavailable, Transcript
from hotline.asr.factory import AsrConfig, build_recognizer
from hotline.asr.pipeline import SpeechPipeline
from hotline.asr.recognizer import Hypothesis
from hotline.asr.remote import RemoteBackend
from hotline.asr.scheduled import ScheduledRecognizer
from hotline.asr.vad import VadConfig
from hotline.center.recognition import service_socket
from hotline.center.settings import Settings, settings_to_json
from hotline.telephony.frames import FRAME_BYTES, AudioFrame, FrameQueue

REPO = Path(__file__).resolve().parents[1]
TALK_SHARE = 0.64
TARGET_P95_MS = 800.0


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Recording:
    """The service backend, keeping every final segment for the bare-engine peer."""

    def __init__(self, backend: RemoteBackend) -> None:
        self.backend = backend
        self.segments: list[tuple[bytes, int]] = []
        self._lock = threading.Lock()

    def final(self, stream: str, pcm: bytes, rate: int, language: str, phrases: Sequence[str] | None) -> Hypothesis:
        with self._lock:
            self.segments.append((pcm, rate))
        return self.backend.final(stream, pcm, rate, language, phrases)

    def partial(self, stream: str, pcm: bytes, rate: int, language: str) -> Future[Hypothesis]:
        return self.backend.partial(stream, pcm, rate, language)


async def caller(recognizer: ScheduledRecognizer, utterances: list[bytes], seconds: float, seed: int,
                 vad: VadConfig) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rng = random.Random(seed)
    frames = FrameQueue()
    pipeline = SpeechPipeline("caller", frames, recognizer, vad)
    pipeline.start()
    out: dict[str, Any] = {"latencies": [], "unavailable": 0, "partials": 0}

    async def collect() -> None:
        async for event in pipeline:
            if isinstance(event, Transcript):
                if event.final:
                    out["latencies"].append(event.latency_ms)
                else:
                    out["partials"] += 1
            elif isinstance(event, RecognitionUnavailable):
                out["unavailable"] += 1

    collector = asyncio.create_task(collect())
    audio = bytearray(b"\x00" * int(32000 * rng.uniform(0.2, 2.0)))  # staggered starts
    while len(audio) < seconds * 32000:
        speech = rng.choice(utterances)
        audio += speech
        pause = len(speech) * (1 - TALK_SHARE) / TALK_SHARE * rng.uniform(0.6, 1.4)
        audio += b"\x00" * (max(int(pause), 32000 * 7 // 10) // 2 * 2)  # at least 0.7 s between turns
    start = loop.time()
    for seq, i in enumerate(range(0, len(audio) - FRAME_BYTES + 1, FRAME_BYTES)):
        await asyncio.sleep(max(0.0, start + seq * 0.02 - loop.time()))
        frames.put_nowait(AudioFrame(bytes(audio[i:i + FRAME_BYTES]), seq))
    frames.close()
    await pipeline.aclose(120.0)
    await collector
    out["dropped"] = frames.dropped
    return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


async def level(recognizer: ScheduledRecognizer, backend: Recording, service_pid: int, utterances: list[bytes],
                n: int, seconds: float, vad: VadConfig) -> dict[str, Any]:
    stats0 = backend.backend.stats()
    backend.segments.clear()
    me = os.getpid()
    cpu0, svc0, t0 = cpu_seconds(me), cpu_seconds(service_pid), time.perf_counter()
    results = await asyncio.gather(*(caller(recognizer, utterances, seconds, i, vad) for i in range(n)))
    wall = time.perf_counter() - t0
    cpu = cpu_seconds(me) - cpu0 + cpu_seconds(service_pid) - svc0
    stats = backend.backend.stats()
    latencies = [lat for r in results for lat in r["latencies"]]
    p95 = pct(latencies, 0.95)
    return {
        "callers": n,
        "segments": len(backend.segments),
        "finals": len(latencies),
        "refused": stats["refused"] - stats0["refused"],
        "unavailable": sum(r["unavailable"] for r in results),
        "partials": sum(r["partials"] for r in results),
        "frames_dropped": sum(r["dropped"] for r in results),
        "eos_to_final_ms_p50": pct(latencies, 0.5),
        "eos_to_final_ms_p95": p95,
        "queue_wait_ms_p95": stats["wait_ms_p95"],
        "cpu_pct_of_core_per_caller": round(100 * cpu / wall / n, 1),
        "node_cpu_pct_of_all_cores": round(100 * cpu / wall / (os.cpu_count() or 1), 1),
        "service_rss_mb": round(rss_mb(service_pid), 1),
        "ok": p95 is not None and p95 <= TARGET_P95_MS and sum(r["dropped"] for r in results) == 0
        and stats["refused"] == stats0["refused"],
        "_segments": list(backend.segments),
    }


def bare_peer(engine: str, segments: list[tuple[bytes, int]]) -> dict[str, Any]:
    """The engine alone, in this process, decoding the same segments one after another."""
    recognizer = build_recognizer(AsrConfig(engine=engine))
    stream = recognizer.open_stream(segments[0][1] if segments else 16000)
    times = []
    cpu0 = time.process_time()
    for pcm, _rate in segments:
        t = time.perf_counter()
        stream.finish(pcm)
        times.append((time.perf_counter() - t) * 1000)
    cpu = time.process_time() - cpu0
    return {"segments": len(segments), "decode_ms_p50": pct(times, 0.5), "decode_ms_p95": pct(times, 0.95),
            "cpu_s_per_segment": round(cpu / max(1, len(segments)), 3)}


def start_service(engine: str, workdir: Path, decoders: int, partials: bool) -> tuple[subprocess.Popen[bytes], Settings]:
    settings = Settings(data=workdir, flows=REPO / "flows")
    settings = replace(settings, asr=replace(settings.asr, engine=engine, decoders=decoders, partials=partials))
    settings_file = workdir / "settings.json"
    settings_file.write_text(settings_to_json(settings))
    log = (workdir / "asr-service.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "hotline.center.cli", "asr-service", "--settings-file",
                             str(settings_file)], cwd=REPO, stdout=log, stderr=log)
    RemoteBackend(service_socket(settings)).hello(retry_s=180.0)
    return proc, settings


def measure(engine: str, callers: list[int], seconds: float, decoders: int, utterances: list[bytes],
            vad: VadConfig, peer_at: int, partials: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"asr-capacity-{engine}-") as tmp:
        proc, settings = start_service(engine, Path(tmp), decoders, partials)
        try:
            backend = Recording(RemoteBackend(service_socket(settings)))
            info = backend.backend.hello()
            recognizer = ScheduledRecognizer(backend, "en", info["engine"], info["model"], bool(info["partials"]))
            levels, peer = [], None
            for n in callers:
                result = asyncio.run(level(recognizer, backend, proc.pid, utterances, n, seconds, vad))
                segments = result.pop("_segments")
                levels.append(result)
                if n == peer_at:
                    peer = {"callers": n, **bare_peer(engine, segments)}
                if engine == "whisper" and not result["ok"]:
                    break  # every larger level only queues longer
            capacity = max((lv["callers"] for lv in levels if lv["ok"]), default=0)
            return {"engine": engine, "model": info["model"], "decoders": backend.backend.stats()["decoders"],
                    "capacity_callers": capacity, "levels": levels, "bare_engine_peer": peer}
        finally:
            proc.terminate()
            proc.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="moonshine,whisper")
    parser.add_argument("--callers", default="8,16,24,32")
    parser.add_argument("--seconds", type=float, default=40.0, help="audio per caller at each level")
    parser.add_argument("--decoders", type=int, default=0, help="service decoder threads (0: one per core)")
    parser.add_argument("--utterances", type=int, default=120, help="human prompts the callers pick from")
    parser.add_argument("--no-partials", action="store_true", help="finals only (asr.partials: false)")
    args = parser.parse_args()
    if not SOUNDS.is_dir():
        print("install the Debian package asterisk-core-sounds-en-wav (make bench does)", file=sys.stderr)
        return 2
    items = corpus(args.utterances)
    utterances = [telephone_path(path) for _name, path, _ref in items]
    callers = [int(n) for n in args.callers.split(",")]
    vad = VadConfig()
    peer_at = 24 if 24 in callers else callers[-1]
    results = [measure(e, callers, args.seconds, args.decoders, utterances, vad, peer_at, not args.no_partials)
               for e in args.engines.split(",")]
    lengths = [len(u) / 32000 for u in utterances]
    print(json.dumps({"benchmark": "asr_capacity", "cpu_cores": os.cpu_count(), "target_p95_ms": TARGET_P95_MS,
                      "vad_hangover_ms": vad.hangover_ms, "talk_share": TALK_SHARE, "seconds_per_level": args.seconds,
                      "partials": not args.no_partials,
                      "utterances": len(utterances), "utterance_s_mean": round(sum(lengths) / len(lengths), 2),
                      "utterance_s_max": round(max(lengths), 2), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
