"""Two nodes, one hotline, on one machine: node a on 127.0.0.2 and node b on 127.0.0.3, one Redis,
one PostgreSQL, callers dialling b's edge (whose dispatcher list holds the live workers of both).

In order: a drained node gets no call and an agent whose desk is served by a answers a call whose
media is on b; 8 SIPp callers spread over both nodes; `kill -9` of every process of a mid-call:
b's calls complete with their digits, a's become `interrupted` with the segments they had saved,
and the next call goes to b; a restarts and rejoins while a call on b goes on undisturbed; a flow
edit activated on b is served by a.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hotline.center.redis_server import EmbeddedRedis
from tests.conftest import synthesize
from tests.support.postgres import PostgresServer, postgres_server  # noqa: F401 (the fixture)
from tests.support.procs import descendants
from tests.support.rtp_pcap import Clip, Digit, build_pcap, read_wav_8k
from tests.support.server import REPO, ServerProcess, auth
from tests.support.sipp import SippRun, fill_scenario, run_sipp
from tests.support.softphone_agent import SoftphoneAgent

FLOWS = REPO / "tests" / "e2e" / "flows"


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


class Cluster:
    def __init__(self, root: Path, redis_url: str, database: str) -> None:
        self.root = root
        self.nodes: dict[str, ServerProcess] = {}
        for name, host in (("a", "127.0.0.2"), ("b", "127.0.0.3")):
            flows = root / f"flows-{name}"  # each node its own copy, as on two machines
            shutil.copytree(FLOWS, flows)
            main = flows / "main.yaml"  # "0": the general ACD queue instead of a SIP operator
            main.write_text(main.read_text().replace('uri: "sip:operator@127.0.0.1:5999"',
                                                     "queue: general\n    skill: general"))
            self.nodes[name] = ServerProcess(
                root / f"node-{name}", workers=2, flows=flows, host=host,
                settings_yaml=f"node: {name}\nredis: {redis_url}\ndatabase: {database}\n"
                              "post_call_transcription: false\nring_timeout_s: 10\n")

    def node(self, name: str) -> ServerProcess:
        return self.nodes[name]

    def calls(self) -> list[dict[str, Any]]:
        b = self.node("b")
        return [b.admin_get(f"/api/calls/{c['id']}") for c in b.admin_get("/api/calls", limit=100)]

    def hotline(self, *args: str) -> subprocess.CompletedProcess[str]:
        settings = self.node("b").data / "test-settings.yaml"
        return subprocess.run([sys.executable, "-m", "hotline.center.cli", "node", "--config", str(settings), *args],
                              cwd=REPO, capture_output=True, text=True, timeout=60)

    def kill9(self, name: str) -> list[int]:
        proc = self.node(name).proc
        assert proc is not None
        pids = descendants(proc.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(30)
        self.node(name).log.close()
        return pids


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer,  # noqa: F811
            _tools_present: None) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    redis = EmbeddedRedis(root / "redis")
    loop = asyncio.new_event_loop()  # the one that owns the redis-server child, from start to stop
    loop.run_until_complete(redis.start())
    dbname = postgres_server.create_database()
    cluster = Cluster(root, redis.url, f"postgresql://hotline@127.0.0.1:{postgres_server.port}/{dbname}")
    starters = [threading.Thread(target=n.start) for n in cluster.nodes.values()]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    for node in cluster.nodes.values():
        assert node.proc is not None and node.proc.poll() is None, node.tail()
    yield cluster
    for node in cluster.nodes.values():
        if node.proc is not None and node.proc.poll() is None:
            assert node.stop() == 0, node.tail()
    loop.run_until_complete(redis.stop())
    loop.close()
    postgres_server.drop_database(dbname)


def caller(cluster: Cluster, workdir: Path, name: str, pcap: Path, calls: int, bye_timeout_s: int = 90) -> SippRun:
    (workdir / name).mkdir()
    scenario = fill_scenario("bye_waiter.xml", workdir / name, PCAP=pcap, BYE_TIMEOUT_MS=bye_timeout_s * 1000)
    b = cluster.node("b")
    return run_sipp(scenario, f"{b.host}:{b.sip_port}", workdir / name, calls=calls, rate=calls,
                    timeout_s=bye_timeout_s + 30)


def tracking_pcap(workdir: Path, speech: Path, digits_at: float, length: float) -> Path:
    """Speech at 1 s (a transcript segment), then 1 (tracking), a parcel number and # at `digits_at`:
    the flow reads it back and hangs up."""
    pcap = workdir / f"tracking-{digits_at}.pcap"
    keys = [Digit(digits_at, "1")] + [Digit(digits_at + 2.0 + 0.3 * i, d) for i, d in enumerate("12345678#")]
    build_pcap(pcap, length, [Clip(1.0, read_wav_8k(speech))], keys)
    return pcap


def test_two_nodes_share_calls_agents_failure_and_flows(cluster: Cluster, tmp_path: Path) -> None:
    a, b = cluster.node("a"), cluster.node("b")
    speech = synthesize("Good morning, I have a question.", tmp_path / "hello.wav")  # no menu word

    # both nodes' workers are in the cluster and in `hotline node status`
    health = b.get("/api/health")
    assert sorted(w["id"] for w in health["sip"]["workers"]) == ["a-w1", "a-w2", "b-w1", "b-w2"], health
    status = cluster.hotline("status", "--json")
    assert status.returncode == 0, status.stderr
    nodes = json.loads(status.stdout)
    assert nodes["a"]["up"] and nodes["b"]["up"] and set(nodes["a"]["workers"]) == {"a-w1", "a-w2"}, nodes

    # 1. drain a: b's edge sends nothing there; an agent on a's desk answers a call held on b
    drained = cluster.hotline("drain", "a")
    assert drained.returncode == 0 and "draining" in drained.stdout, drained
    time.sleep(3.0)  # the edges reload their lists every second
    to_agent = tmp_path / "agent.pcap"
    build_pcap(to_agent, 40.0, [], [Digit(1.0, "0")])
    voice = synthesize("Hello, this is Alice. How can I help?", tmp_path / "alice.wav", rate=48000)
    alice = SoftphoneAgent(a.base_url, "alice", "alice-demo", voice, talk_s=5.0, max_calls=1)
    runs: dict[str, SippRun] = {}

    async def agent_call() -> None:
        stop = asyncio.Event()
        desk = asyncio.create_task(alice.run(stop))
        await asyncio.sleep(2.0)
        sipp = asyncio.to_thread(caller, cluster, tmp_path, "to-agent", to_agent, 1, 60)
        runs["agent"] = await sipp
        stop.set()
        await desk

    asyncio.run(agent_call())
    assert runs["agent"].returncode == 0, runs["agent"].stdout[-1500:] + runs["agent"].errors()
    assert len(alice.calls) == 1
    answered = wait_for("the agent's call to be final", lambda: (lambda r: r if r["status"] == "completed" else None)(
        b.admin_get(f"/api/calls/{alice.calls[0]}")), 30.0)
    assert answered["node"] == "b" and answered["worker"].startswith("b-w") and answered["agent"] == "alice", answered
    # its recording is on b; QA opens it through a, which copies it from b once
    qa = a.login("quinn", "quinn-demo")
    wav = httpx.get(f"{a.base_url}/api/calls/{answered['id']}/recording/caller", headers=auth(qa), timeout=30)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF", wav.text[:300]
    assert wav.content == (b.data / answered["recordings"]["caller"]).read_bytes()
    assert list((a.data / "cluster-cache").rglob("*.wav")), "a serves its own copy from now on"
    assert cluster.hotline("drain", "a", "--off").returncode == 0
    time.sleep(3.0)

    # 2. 8 callers over both nodes; a dies mid-call
    before = {c["id"] for c in cluster.calls()}
    pcap = tracking_pcap(tmp_path, speech, 14.0, 60.0)
    thread = threading.Thread(target=lambda: runs.__setitem__("eight", caller(cluster, tmp_path, "eight", pcap, 8,
                                                                              bye_timeout_s=45)))
    thread.start()

    def live_on_both() -> list[dict[str, Any]] | None:
        live = [c for c in cluster.calls() if c["id"] not in before and c["status"] == "live"]
        segments = [c for c in live if c.get("transcript")]
        on = {c["node"] for c in live}
        return live if len(live) == 8 and on == {"a", "b"} and len(segments) == 8 else None

    live = wait_for("8 live calls on both nodes, each with a saved segment", live_on_both, 40.0)
    on_a = {c["id"] for c in live if c["node"] == "a"}
    on_b = {c["id"] for c in live if c["node"] == "b"}
    cluster.kill9("a")
    thread.join(150)

    def settled() -> dict[str, dict[str, Any]] | None:
        records = {c["id"]: c for c in cluster.calls() if c["id"] in on_a | on_b}
        return records if all(r["status"] != "live" for r in records.values()) else None

    records = wait_for("every call of the 8 to end or be marked interrupted", settled, 60.0, every=1.0)
    for call in on_b:
        assert records[call]["status"] == "completed", records[call]
        assert records[call]["variables"].get("parcel_number") == "12345678", records[call]
    for call in on_a:
        assert records[call]["status"] == "interrupted", records[call]
        assert records[call]["transcript"], records[call]  # what it had saved is kept

    # 3. the next call goes to b
    after_kill = {c["id"] for c in cluster.calls()}
    short = tracking_pcap(tmp_path, speech, 3.0, 30.0)
    run = caller(cluster, tmp_path, "after-kill", short, 1)
    assert run.returncode == 0, run.stdout[-1500:] + run.errors()
    new = [c for c in cluster.calls() if c["id"] not in after_kill]
    assert len(new) == 1 and new[0]["node"] == "b" and new[0]["status"] == "completed", new

    # 4. a restarts and rejoins while a call on b goes on
    before_restart = {c["id"] for c in cluster.calls()}
    long_call = tracking_pcap(tmp_path, speech, 30.0, 60.0)
    thread = threading.Thread(target=lambda: runs.__setitem__("during", caller(cluster, tmp_path, "during",
                                                                                long_call, 1)))
    thread.start()
    time.sleep(3.0)
    a.start()
    thread.join(120)
    assert runs["during"].returncode == 0, runs["during"].stdout[-1500:] + runs["during"].errors()
    during = [c for c in cluster.calls() if c["id"] not in before_restart]
    assert len(during) == 1 and during[0]["node"] == "b" and during[0]["status"] == "completed", during
    assert sorted(w["id"] for w in a.get("/api/health")["sip"]["workers"]) == ["a-w1", "a-w2", "b-w1", "b-w2"]

    # 5. a flow edit activated on b is served by a
    flow_file = b.flows / "main.yaml"
    flow_file.write_text(flow_file.read_text().replace("Welcome to the parcel hotline.",
                                                       "Welcome to the parcel hotline of two nodes."))

    def greeting_on(node: ServerProcess) -> bool:
        flow = node.admin_get("/api/flows/main")
        text = httpx.get(f"{node.base_url}/api/flows/main/versions/{flow['active_version']}",
                         headers=auth(node.admin_token), timeout=10).text
        return "of two nodes" in text

    wait_for("b to activate the edit", lambda: greeting_on(b), 20.0)
    wait_for("a to serve b's edit", lambda: greeting_on(a), 20.0)


def test_node_cli_without_a_cluster_says_so(tmp_path: Path) -> None:
    async def run() -> tuple[int, str]:
        redis = EmbeddedRedis(tmp_path)
        await redis.start()
        try:
            done = await asyncio.to_thread(subprocess.run, [
                sys.executable, "-m", "hotline.center.cli", "node", "--redis", redis.url, "drain", "nowhere"],
                cwd=REPO, capture_output=True, text=True, timeout=60)
        finally:
            await redis.stop()
        return done.returncode, done.stdout + done.stderr

    code, out = asyncio.run(run())
    assert code == 1 and "no node 'nowhere'" in out, out
