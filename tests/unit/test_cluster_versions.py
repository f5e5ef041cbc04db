"""Two nodes, one hotline (issue 18): flow and knowledge versions shared through a real redis-server.
Each node has its own copy of the demo flows and knowledge directories and its own flow state;
what one activates (an edit, a rollback, an article) the other serves after its next sync."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from hotline.assist.registry import KnowledgeRegistry
from hotline.center.cluster_versions import ClusterVersions
from hotline.center.keys import CLUSTER_SEQ_KEY, FLOWS_CLUSTER_KEY
from hotline.center.redis_server import EmbeddedRedis
from hotline.ivr.registry import ActiveFlows, FlowRegistry

REPO = Path(__file__).resolve().parents[2]
WELCOME = "Welcome to the parcel hotline."
NEW_ARTICLE = {"title": "Cluster test", "tags": ["cluster"], "script": "Both nodes know this.", "steps": ["Say so"]}


@dataclass
class Node:
    flows: Path
    state: Path
    registry: FlowRegistry
    knowledge: KnowledgeRegistry[int]
    cluster: ClusterVersions

    def main_text(self) -> str:
        return self.registry.active["main"].source_text

    def edit_main(self, old: str, new: str) -> str:
        path = self.flows / "main.yaml"
        text = path.read_text(encoding="utf-8").replace(old, new)
        assert new in text
        path.write_text(text, encoding="utf-8")
        return text


def make_node(tmp_path: Path, redis: aioredis.Redis, name: str) -> Node:
    base = tmp_path / name
    flows, kb_dir = base / "flows", base / "knowledge"
    shutil.copytree(REPO / "flows", flows)
    shutil.copytree(REPO / "config" / "knowledge", kb_dir)
    registry = FlowRegistry(flows, base / "state")
    assert sorted(registry.scan()) == ["main: v1", "parcel_number: v1"]
    knowledge: KnowledgeRegistry[int] = KnowledgeRegistry(kb_dir, len)  # the "matcher": the article count
    assert knowledge.scan()
    return Node(flows, base / "state", registry, knowledge, ClusterVersions(redis, registry, knowledge, name))


async def two_nodes(tmp_path: Path, redis: aioredis.Redis) -> tuple[Node, Node]:
    a, b = make_node(tmp_path, redis, "A"), make_node(tmp_path, redis, "B")
    assert sorted(await b.cluster.sync()) == ["published flows main (seq 1)", "published flows parcel_number (seq 2)",
                                              "published knowledge parcels.yaml (seq 3)"]
    assert await a.cluster.sync() == []  # the same texts: nothing adopted, nothing published
    return a, b


async def test_a_flow_edit_activated_on_b_is_served_by_a(tmp_path: Path, redis: aioredis.Redis) -> None:
    a, b = await two_nodes(tmp_path, redis)
    new_text = b.edit_main(WELCOME, "Welcome to the cluster hotline.")
    assert b.registry.scan() == ["main: v2"]
    assert await b.cluster.publish_flows() == ["published flows main (seq 4)"]
    workers_view = ActiveFlows(a.state, a.flows)
    assert workers_view.current().get("main").source_text != new_text
    assert await a.cluster.sync() == ["flow main: v2 from B (seq 4)"]
    assert a.main_text() == new_text and (a.flows / "main.yaml").read_text(encoding="utf-8") == new_text
    assert a.registry.entries["main"].versions[-1]["source"] == "cluster:B"
    assert workers_view.current().get("main").source_text == new_text  # what A's workers start calls on
    # no ping-pong: A's next scan sees no edit, neither node publishes again, the sequence stays
    assert a.registry.scan() == []
    assert await a.cluster.publish_flows() == [] and await a.cluster.sync() == [] and await b.cluster.sync() == []
    assert int(await redis.get(CLUSTER_SEQ_KEY)) == 4
    # a restarted A keeps it (its state remembers the file as looked at)
    assert FlowRegistry(a.flows, a.state).scan() == []


async def test_a_rollback_on_a_propagates_to_b(tmp_path: Path, redis: aioredis.Redis) -> None:
    a, b = await two_nodes(tmp_path, redis)
    original = b.main_text()
    b.edit_main(WELCOME, "Welcome, version two.")
    b.registry.scan()
    await b.cluster.publish_flows()
    await a.cluster.sync()
    assert a.registry.entries["main"].version == 2
    a.registry.rollback("main", 1)
    assert await a.cluster.publish_flows() == ["published flows main (seq 5)"]
    assert await b.cluster.sync() == ["flow main: v3 from A (seq 5)"]
    assert b.main_text() == original and (b.flows / "main.yaml").read_text(encoding="utf-8") == original
    assert await a.cluster.sync() == []


async def test_an_invalid_published_flow_does_not_break_a(tmp_path: Path, redis: aioredis.Redis) -> None:
    a, b = await two_nodes(tmp_path, redis)
    serving = a.main_text()

    async def publish_raw(name: str, text: str) -> None:
        seq = await redis.incr(CLUSTER_SEQ_KEY)
        await redis.hset(FLOWS_CLUSTER_KEY, name, json.dumps(
            {"seq": seq, "name": name, "file": f"{name}.yaml", "version": 9, "sha": "x", "text": text, "node": "C"}))

    await publish_raw("main", serving.replace("flow: parcel_number", "flow: no_such_flow"))
    await redis.hset(FLOWS_CLUSTER_KEY, "broken", "{not json")
    assert await a.cluster.sync() == ["rejected flow main from C (seq 4)"]
    assert a.main_text() == serving and (a.flows / "main.yaml").read_text(encoding="utf-8") == serving
    assert a.registry.scan() == [] and "main" in a.registry.active
    assert await a.cluster.sync() == []  # skipped until a newer publication, and A's own is not pushed back
    await publish_raw("main", "start: [unclosed")
    assert await a.cluster.sync() == ["rejected flow main from C (seq 5)"]
    await publish_raw("../escape", serving)
    assert await a.cluster.sync() == ["rejected flow ../escape from C (seq 6)"]
    assert not (a.flows.parent / "escape.yaml").exists()
    # a valid publication after them is adopted as usual
    new_text = b.edit_main(WELCOME, "Welcome back.")
    b.registry.scan()
    await b.cluster.publish_flows()
    assert await a.cluster.sync() == ["flow main: v2 from B (seq 7)"] and a.main_text() == new_text


async def test_a_new_subflow_and_its_caller_are_adopted_together(tmp_path: Path, redis: aioredis.Redis) -> None:
    a, b = await two_nodes(tmp_path, redis)
    (b.flows / "zz_greet.yaml").write_text('flow: zz_greet\nlanguages: [en, zh]\nstart: hi\nnodes:\n  hi:\n'
                                           '    type: say\n    prompt: {en: "Hello.", zh: "你好。"}\n    next: back\n'
                                           '  back:\n    type: return\n', encoding="utf-8")
    assert b.registry.scan() == ["zz_greet: v1"]
    await b.cluster.publish_flows()
    b.edit_main("    next: welcome_zh\n", "    next: greet\n\n  greet:\n    type: subflow\n    flow: zz_greet\n"
                                         "    next: welcome_zh\n")
    assert b.registry.scan() == ["main: v2"]
    # A was away for both: main (calling zz_greet) comes first by name, and waits for zz_greet
    await b.cluster.publish_flows()
    assert sorted(await a.cluster.sync()) == ["flow main: v2 from B (seq 5)", "flow zz_greet: v1 from B (seq 4)"]
    assert a.main_text() == b.main_text() and "zz_greet" in a.registry.active


async def test_the_latest_publication_wins_when_both_nodes_edit(tmp_path: Path, redis: aioredis.Redis) -> None:
    a, b = await two_nodes(tmp_path, redis)
    a.edit_main(WELCOME, "Welcome from A.")
    b_text = b.edit_main(WELCOME, "Welcome from B.")
    a.registry.scan()
    b.registry.scan()
    await a.cluster.publish_flows()
    await b.cluster.publish_flows()
    assert await a.cluster.sync() == ["flow main: v3 from B (seq 5)"]
    assert await b.cluster.sync() == []
    assert a.main_text() == b.main_text() == b_text


async def test_start_up_the_cluster_wins_over_local_files(tmp_path: Path, redis: aioredis.Redis) -> None:
    b = make_node(tmp_path, redis, "B")
    b.edit_main(WELCOME, "Welcome from the cluster.")
    b.registry.scan()
    assert len(await b.cluster.sync()) == 3  # an empty Redis: B publishes its own
    a = make_node(tmp_path, redis, "A")  # started later, with its own (stale) demo files
    (a.flows / "zz_local.yaml").write_text("start: r\nnodes:\n  r:\n    type: return\n", encoding="utf-8")
    assert a.registry.scan() == ["zz_local: v1"]
    assert await a.cluster.sync() == ["flow main: v2 from B (seq 1)", "published flows zz_local (seq 4)"]
    assert a.main_text() == b.main_text()
    assert await b.cluster.sync() == ["flow zz_local: v1 from A (seq 4)"]


async def test_knowledge_edits_and_removed_files_propagate(tmp_path: Path, redis: aioredis.Redis) -> None:
    a, b = await two_nodes(tmp_path, redis)
    assert b.knowledge.put_article({**NEW_ARTICLE, "id": "cluster_test"}, "parcels.yaml")
    assert await b.cluster.publish_knowledge() == ["published knowledge parcels.yaml (seq 4)"]
    assert await a.cluster.sync() == ["knowledge parcels.yaml from B (seq 4)"]
    assert a.knowledge.current is not None and "cluster_test" in a.knowledge.current.kb.by_id
    assert (a.knowledge.directory / "parcels.yaml").read_text(encoding="utf-8") == \
        (b.knowledge.directory / "parcels.yaml").read_text(encoding="utf-8")
    assert not a.knowledge.scan() and await a.cluster.sync() == [] and await b.cluster.sync() == []
    # a file edited in an editor (found by the scan) and a file removed
    (a.knowledge.directory / "extra.yaml").write_text("- id: extra\n  title: Extra\n  script: More.\n",
                                                      encoding="utf-8")
    assert a.knowledge.scan()
    assert await a.cluster.publish_knowledge() == ["published knowledge extra.yaml (seq 5)"]
    assert await b.cluster.sync() == ["knowledge extra.yaml from A (seq 5)"]
    assert b.knowledge.current is not None and "extra" in b.knowledge.current.kb.by_id
    b.knowledge.delete_article("extra")  # its file's only article: the file goes
    assert await b.cluster.publish_knowledge() == ["published knowledge extra.yaml (seq 6)"]
    assert await a.cluster.sync() == ["removed extra.yaml from B (seq 6)"]
    assert not (a.knowledge.directory / "extra.yaml").exists()
    assert a.knowledge.current is not None and "extra" not in a.knowledge.current.kb.by_id


async def test_an_invalid_knowledge_file_is_neither_published_nor_adopted(tmp_path: Path,
                                                                           redis: aioredis.Redis) -> None:
    a, b = await two_nodes(tmp_path, redis)
    before = (a.knowledge.directory / "parcels.yaml").read_text(encoding="utf-8")
    (b.knowledge.directory / "parcels.yaml").write_text("- id: [broken\n", encoding="utf-8")
    assert not b.knowledge.scan() and b.knowledge.errors
    assert await b.cluster.sync() == []  # a rejected directory is not published
    seq = await redis.incr(CLUSTER_SEQ_KEY)  # a node whose directory differs publishes a duplicate id
    duplicate: dict[str, Any] = {"seq": seq, "file": "dup.yaml", "sha": "x", "node": "C",
                                 "text": "- id: track-parcel\n  title: Again\n  script: Twice.\n"}
    await redis.hset("hotline:cluster:knowledge", "dup.yaml", json.dumps(duplicate))
    assert await a.cluster.sync() == [f"rejected knowledge dup.yaml from C (seq {seq})"]
    assert not (a.knowledge.directory / "dup.yaml").exists()
    assert (a.knowledge.directory / "parcels.yaml").read_text(encoding="utf-8") == before


async def test_redis_errors_are_logged_not_raised(tmp_path: Path, redis: aioredis.Redis,
                                                  redis_server: EmbeddedRedis) -> None:
    a, _ = await two_nodes(tmp_path, redis)
    await redis_server.stop()
    a.edit_main(WELCOME, "Welcome while Redis is away.")
    assert a.registry.scan() == ["main: v2"]
    assert await a.cluster.publish_flows() == [] and await a.cluster.sync() == []
    assert a.registry.entries["main"].version == 2  # the node goes on serving its own edit


def restarted(node: Node, redis: aioredis.Redis, name: str) -> Node:
    """The same node started again: its directories and state, a new registry and sync."""
    registry = FlowRegistry(node.flows, node.state)
    registry.scan()
    knowledge: KnowledgeRegistry[int] = KnowledgeRegistry(node.knowledge.directory, len)
    assert knowledge.scan()
    return Node(node.flows, node.state, registry, knowledge, ClusterVersions(redis, registry, knowledge, name))


async def test_an_edit_made_while_a_node_was_down_is_not_overwritten(tmp_path: Path, redis: aioredis.Redis) -> None:
    a, b = await two_nodes(tmp_path, redis)
    # a is down; an admin edits its flow file meanwhile: at its start the edit is kept and published
    a.edit_main(WELCOME, "Welcome, edited while a was down.")
    a = restarted(a, redis, "A")
    assert "edited while a was down" in a.main_text()
    assert await a.cluster.sync() == ["published flows main (seq 4)"]
    assert "edited while a was down" in a.main_text()
    assert await b.cluster.sync() == ["flow main: v2 from A (seq 4)"]
    # a is down again, untouched, while b moves on: at its start a takes the cluster's version
    b.edit_main("Welcome, edited while a was down.", "Welcome, from b while a was away.")
    assert b.registry.scan() == ["main: v3"]
    assert await b.cluster.sync() == ["published flows main (seq 5)"]
    a = restarted(a, redis, "A")
    assert await a.cluster.sync() == ["flow main: v3 from B (seq 5)"]
    assert a.main_text() == b.main_text()
