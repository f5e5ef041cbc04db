"""Prometheus metrics: samples from several processes add up in one scrape (multiprocess mode),
a dead child's live gauges stop counting, and ``/metrics`` reads queue depth and agents by state
from a real redis-server, in a format Prometheus' own parser accepts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from hotline.center.acd import Acd, enqueue
from hotline.center.agents import Agent, AgentDirectory, AgentState, hash_password
from hotline.system import metrics
from hotline.web.metrics_api import metrics_router

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def in_process(directory: Path, code: str, wait: bool = True) -> subprocess.Popen[str]:
    env = {**os.environ, metrics.DIR_ENV: str(directory), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", "from hotline.system import metrics\n" + code], env=env,
                            stdout=subprocess.PIPE, text=True)
    if wait:
        proc.wait(60)
        assert proc.returncode == 0
    return proc


def test_samples_of_several_processes_add_up(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    work = ("metrics.calls_total().labels('sip', 'flow_end').inc()\n"
            "metrics.calls_active().labels('sip').inc()\n"
            "metrics.acd_wait_seconds().labels('default', 'answered').observe(3.0)\n"
            "import os; print(os.getpid())\n")
    first, second = in_process(directory, work), in_process(directory, work)
    assert first.stdout is not None and second.stdout is not None
    first_pid = int(first.stdout.read())
    scrape = "body, kind = metrics.exposition(); print(body.decode())"

    def read() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        proc = in_process(directory, scrape)
        assert proc.stdout is not None
        return samples(proc.stdout.read())

    found = read()
    assert found[("hotline_calls_total", (("channel", "sip"), ("outcome", "flow_end")))] == 2.0
    assert found[("hotline_calls_active", (("channel", "sip"),))] == 2.0
    hist = (("outcome", "answered"), ("queue", "default"))
    assert found[("hotline_acd_wait_seconds_count", hist)] == 2.0
    assert found[("hotline_acd_wait_seconds_bucket", (("le", "5.0"), *hist))] == 2.0
    assert found[("hotline_acd_wait_seconds_bucket", (("le", "1.0"), *hist))] == 0.0
    in_process(directory, f"metrics.process_gone({first_pid})")
    after = read()
    assert after[("hotline_calls_active", (("channel", "sip"),))] == 1.0  # the dead child's call is gone
    assert after[("hotline_calls_total", (("channel", "sip"), ("outcome", "flow_end")))] == 2.0  # counters stay


def test_enable_starts_from_an_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"stale")
    monkeypatch.setenv(metrics.DIR_ENV, str(tmp_path / "before"))  # restored after the test
    metrics.enable(directory)
    assert os.environ[metrics.DIR_ENV] == str(directory) and list(directory.iterdir()) == []


async def test_scrape_reads_queues_and_agents_from_redis(redis: aioredis.Redis) -> None:
    agents = AgentDirectory(redis)
    await agents.seed([Agent("ann", "Ann", ["general"], hash_password("pw-ann-1")),
                       Agent("bo", "Bo", ["general"], hash_password("pw-bo-12"))])
    await agents.set_state("ann", AgentState.AVAILABLE)
    await agents.set_state("bo", AgentState.AWAY, reason="lunch")
    await enqueue(redis, "c1", "w1", "billing", "general", 0, {})
    await Acd(redis, agents).step()  # the ACD takes the request: c1 waits (ann is rung)
    app = FastAPI()
    app.include_router(metrics_router(redis, agents, allow=("127.0.0.1",)))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hotline") as client:
        reply = await client.get("/metrics")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    found = samples(reply.text)
    assert found[("hotline_acd_waiting", (("queue", "billing"),))] == 1.0
    assert found[("hotline_agents", (("state", "ringing"),))] == 1.0  # ann, rung for c1
    assert found[("hotline_agents", (("state", "away"),))] == 1.0
    assert found[("hotline_agents", (("state", "available"),))] == 0.0
    far = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
    async with httpx.AsyncClient(transport=far, base_url="http://hotline") as client:
        assert (await client.get("/metrics")).status_code == 403


def test_the_grafana_dashboard_uses_only_metrics_that_exist() -> None:
    import json
    import re

    names: set[str] = set()
    for attr in dir(metrics):
        maker = getattr(metrics, attr)
        if callable(maker) and hasattr(maker, "cache_info"):  # the lazily created metrics
            for family in maker().describe():
                names |= {family.name, f"{family.name}_total", f"{family.name}_bucket"}
    names |= {"hotline_edge_decisions_total", "hotline_edge_replies_total"}  # read from Kamailio when scraped
    board = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    used = {m for panel in board["panels"] for t in panel["targets"] for m in re.findall(r"hotline_\w+", t["expr"])}
    assert len(used) >= 10 and used <= names, used - names


def test_the_edge_counters_are_exported_as_decisions_and_replies_by_class() -> None:
    body, _kind = metrics.exposition({"edge_scanner_dropped": 7, "edge_flood_banned": 1, "sl:4xx_replies": 3,
                                      "tmx:2xx_transactions": 5})
    found = samples(body.decode())
    assert found[("hotline_edge_decisions_total", (("decision", "scanner_dropped"),))] == 7.0
    assert found[("hotline_edge_decisions_total", (("decision", "flood_banned"),))] == 1.0
    assert found[("hotline_edge_replies_total", (("class", "4xx"), ("sender", "edge")))] == 3.0
    assert found[("hotline_edge_replies_total", (("class", "2xx"), ("sender", "relayed")))] == 5.0
