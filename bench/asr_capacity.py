"""How many simultaneous real-time callers each speech engine keeps up with on this machine.

N callers are simulated in one process exactly as a media worker runs them: each has a bounded
frame queue filled in real time (20 ms frames), its own VAD + recogniser pipeline, and one shared
model per engine. Every caller says the same kind of sentence (a human Asterisk prompt through
the G.711 telephone path), the starts staggered over one second. N grows until a final arrives
more than 1 s after the end of speech or a frame is dropped; the largest N that passed is the
capacity. End of speech is the arrival of the last speech frame, so the figures include the VAD
hangover (configurable, default 500 ms).

    python -m bench.asr_capacity [--engines whisper,vosk] [--max 16] [--hangover-ms 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time

from bench.asr_accuracy import SOUNDS, telephone_path
from hotline.asr.events import Transcript
from hotline.asr.factory import AsrConfig, build_recognizer
from hotline.asr.pipeline import SpeechPipeline
from hotline.asr.recognizer import Recognizer
from hotline.asr.vad import VadConfig
from hotline.telephony.frames import FRAME_BYTES, AudioFrame, FrameQueue

LATENCY_BUDGET_MS = 1000.0
# engine -> (language, prompt); Vosk runs the only model obtainable here (Korean) on the same audio:
# what is measured is decoding cost, not accuracy
ENGINES = {"whisper": "en", "vosk": "ko"}
PROMPT = "please-try-again"  # "Please try again." ~1.2 s of human speech


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def caller(recognizer: Recognizer, speech: bytes, delay: float, vad: VadConfig) -> tuple[list[float], int]:
    loop = asyncio.get_running_loop()
    frames = FrameQueue()
    pipeline = SpeechPipeline("caller", frames, recognizer, vad)
    pipeline.start()
    silence = b"\x00" * 32000
    audio = silence + speech + silence + silence
    latencies: list[float] = []

    async def collect() -> None:
        async for event in pipeline:
            if isinstance(event, Transcript) and event.final:
                latencies.append(event.latency_ms)

    collector = asyncio.create_task(collect())
    await asyncio.sleep(delay)
    start = loop.time()
    for seq, i in enumerate(range(0, len(audio) - FRAME_BYTES + 1, FRAME_BYTES)):
        # real-time pacing on the loop's clock, like the media thread handing frames over
        await asyncio.sleep(max(0.0, start + seq * 0.02 - loop.time()))
        frames.put_nowait(AudioFrame(audio[i:i + FRAME_BYTES], seq))
    frames.close()
    await pipeline.aclose(60.0)
    await collector
    return latencies, frames.dropped


async def level(recognizer: Recognizer, speech: bytes, n: int, vad: VadConfig) -> dict[str, object]:
    cpu0, t0 = time.process_time(), time.perf_counter()
    results = await asyncio.gather(*(caller(recognizer, speech, i / max(n, 1), vad) for i in range(n)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    latencies = sorted(lat for lats, _ in results for lat in lats)
    dropped = sum(d for _, d in results)

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(round(q * (len(latencies) - 1))))], 1)

    return {
        "calls": n,
        "finals": len(latencies),
        "frames_dropped": dropped,
        "eos_to_final_ms_p50": pct(0.5) if latencies else None,
        "eos_to_final_ms_p95": pct(0.95) if latencies else None,
        "cpu_pct_of_core_per_call": round(100 * cpu / wall / n, 1),
        "ok": dropped == 0 and len(latencies) == n and max(latencies) <= LATENCY_BUDGET_MS,
    }


def measure(engine: str, max_calls: int, vad: VadConfig) -> dict[str, object]:
    base_rss = rss_mb()
    recognizer = build_recognizer(AsrConfig(engine=engine, language=ENGINES[engine]))
    model_mb = rss_mb() - base_rss
    speech = telephone_path(SOUNDS / f"{PROMPT}.wav")
    levels = []
    capacity = 0
    n = 1
    while n <= max_calls:
        before = rss_mb()
        result = asyncio.run(level(recognizer, speech, n, vad))
        result["rss_growth_mb_per_call"] = round(max(0.0, rss_mb() - before) / n, 1)
        levels.append(result)
        if result["ok"] and capacity == n - (1 if n <= 4 else 2):
            capacity = n
        elif n >= 4:  # past the first failure, and at least 1-4 calls shown for comparison
            break
        n = n + 1 if n < 4 else n + 2
    return {"engine": engine, "language": ENGINES[engine], "model": recognizer.model,
            "capacity_calls": capacity, "model_rss_mb": round(model_mb, 1), "levels": levels}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="whisper,vosk")
    parser.add_argument("--max", type=int, default=16)
    parser.add_argument("--hangover-ms", type=int, default=VadConfig().hangover_ms)
    args = parser.parse_args()
    if not (SOUNDS / f"{PROMPT}.wav").is_file():
        print("install the Debian package asterisk-core-sounds-en-wav (make bench does)", file=sys.stderr)
        return 2
    vad = VadConfig(hangover_ms=args.hangover_ms)
    results = [measure(engine, args.max, vad) for engine in args.engines.split(",")]
    print(json.dumps({"benchmark": "asr_capacity", "cpu_cores": os.cpu_count(),
                      "latency_budget_ms": LATENCY_BUDGET_MS, "vad_hangover_ms": vad.hangover_ms,
                      "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
