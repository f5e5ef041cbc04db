"""What the IVR layer costs per call and per edit; prints JSON.

    python -m bench.flows

- load_ms: loading and validating every flow in flows/ (schema + graph checks), median of 20
- reload_ms: the registry noticing an edited file, validating it and activating a new version
- simulated_call_ms: one scripted call through the demo (engine, real parcel lookups, a real
  ticket in SQLite), over the flow tests in flows/tests/
- engine_step_us: one engine event (a key press at the main menu), median
- prompt_tts_ms: synthesising a prompt with variables that cannot be cached ahead (espeak-ng and
  sox, at 16 kHz): what a caller waits before a read-back starts
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from hotline.center.flow_services import StoreTicketSink
from hotline.center.tickets import SqliteTicketStore
from hotline.ivr.actions import DigitPressed, Play, PromptDone
from hotline.ivr.engine import IvrEngine
from hotline.ivr.flowtest import run_file
from hotline.ivr.loader import load_directory
from hotline.ivr.lookups import DEFAULT_SOURCES, build_sources
from hotline.ivr.model import FlowSet
from hotline.ivr.prompts import PromptCache
from hotline.ivr.registry import FlowRegistry

REPO = Path(__file__).resolve().parents[1]
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def bench_load() -> float:
    times = []
    for _ in range(20):
        started = time.perf_counter()
        flows, errors = load_directory(REPO / "flows")
        times.append(time.perf_counter() - started)
        assert not errors and flows
    return _median_ms(times)


def bench_reload(tmp: Path) -> float:
    flows = tmp / "flows"
    shutil.copytree(REPO / "flows", flows, ignore=shutil.ignore_patterns("tests"))
    registry = FlowRegistry(flows, tmp / "state")
    registry.scan()
    main = flows / "main.yaml"
    original = main.read_text()
    times = []
    for i in range(10):
        main.write_text(original.replace("Welcome to the parcel hotline.", f"Welcome to the parcel hotline {i}."))
        started = time.perf_counter()
        changes = registry.scan()
        times.append(time.perf_counter() - started)
        assert changes == [f"main: v{i + 2}"], changes
    return _median_ms(times)


async def bench_simulated_calls(tmp: Path) -> tuple[float, int]:
    flows, _ = load_directory(REPO / "flows")
    store = SqliteTicketStore(tmp / "tickets.db")
    sources = build_sources(DEFAULT_SOURCES, REPO)
    started = time.perf_counter()
    results = []
    for file in sorted((REPO / "flows" / "tests").glob("*.yaml")):
        results += await run_file(file, FlowSet(flows), sources, StoreTicketSink(store))
    elapsed = time.perf_counter() - started
    assert all(r.passed for r in results)
    store.close()
    return round(elapsed / len(results) * 1000, 2), len(results)


def bench_engine_step() -> float:
    flows = FlowSet(load_directory(REPO / "flows")[0])
    engines = []
    for _ in range(500):  # callers waiting at the main menu
        engine = IvrEngine(flows, "main", now=lambda: MONDAY)
        engine.start()
        engine.handle(DigitPressed("1"))  # English (typed ahead during the welcome)
        actions = engine.handle(PromptDone("p1"))
        actions = engine.handle(PromptDone("p2"))
        assert engine.node is not None and engine.node.id == "main_menu", engine.path
        engines.append(engine)
    times = []
    for engine in engines:  # "5": opening hours, an announcement with its prompt
        started = time.perf_counter()
        actions = engine.handle(DigitPressed("5"))
        times.append(time.perf_counter() - started)
        assert any(isinstance(a, Play) for a in actions)
    return round(statistics.median(times) * 1e6, 1)


async def bench_tts(tmp: Path) -> float:
    cache = PromptCache(tmp / "prompts", rate=16000)
    times = []
    for i in range(5):
        text = f"Parcel 1 2 3 4 5 6 7 {i} is out for delivery today. It is expected between 2 and 4 pm."
        started = time.perf_counter()
        await cache.get(text, "en-us")
        times.append(time.perf_counter() - started)
    return _median_ms(times)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-flows-") as tmp_name:
        tmp = Path(tmp_name)
        per_call, calls = asyncio.run(bench_simulated_calls(tmp))
        figures = {
            "load_ms": bench_load(),
            "reload_ms": bench_reload(tmp),
            "simulated_call_ms": per_call,
            "simulated_calls": calls,
            "engine_step_us": bench_engine_step(),
            "prompt_tts_ms": asyncio.run(bench_tts(tmp)),
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
