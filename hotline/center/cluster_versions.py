"""Flow and knowledge versions shared by every node of a cluster, through Redis (issue 18).

Each node keeps its own flows directory, flow registry (``<state>/active.json`` and history) and
knowledge directory; Redis holds what the cluster serves:

* :data:`FLOWS_CLUSTER_KEY`, a hash: flow name -> JSON ``{name, file, version, sha, text, node, at,
  seq}`` (``file``: the plain file name in the flows directory; ``version``: the publishing node's
  own version number);
* :data:`KNOWLEDGE_CLUSTER_KEY`, a hash: knowledge file name -> JSON ``{file, sha, text, node, at,
  seq}`` (``deleted`` true and ``text`` "": the file was removed).

``seq`` comes from one counter (:data:`CLUSTER_SEQ_KEY`), incremented by the same Lua script that
writes the entry, so a name's entry is always its publication of the highest sequence: the latest
publication wins, and two nodes publishing at once both end up serving the later one.

A node *publishes* what it activated itself (a scan that accepted an edit, a rollback, a knowledge
edit through the API or in a file): each flow / knowledge file whose text differs from what this
node last published or adopted. It *adopts* (:meth:`ClusterVersions.sync`, every second) each
entry of a higher sequence than it has looked at whose text differs from its own: a flow is
validated like a scan's edit, written into the flows directory and activated as a new local version
recording ``cluster:<node>`` (:meth:`FlowRegistry.adopt`); a knowledge file is checked together
with the whole directory, written atomically and loaded. What fails validation here is logged and
skipped (this node keeps serving its version) until a newer publication. An adopted version is
what this node believes the cluster has, so it is never published back (no ping-pong), and a node
never publishes a name it did not change itself: a node a second behind cannot overwrite a newer
version with its older one.

Start-up (the first successful sync): **the cluster wins, unless this node's file was edited since
it last agreed with the cluster** (what it agreed on is kept in ``<flow state>/cluster.json``). A
node that was down while the cluster moved on, or a new node with stock files, serves the
cluster's versions, not its stale directory. A file an admin edited here while the node was down
(changed since that agreement, and activated after the cluster's publication) is kept and
published: an offline edit is never overwritten by an older version. What Redis does not hold yet
(an empty Redis: the first node up; a flow only this node has) is published from the local files. Removing a flow file is not
propagated (the other nodes keep that flow); removing a knowledge file is.

Redis errors are logged (once per outage) and retried at the next sync; nothing here raises into
the caller's loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from hotline.assist.kb import KbError
from hotline.assist.registry import KnowledgeRegistry
from hotline.center.keys import CLUSTER_SEQ_KEY, FLOWS_CLUSTER_KEY, KNOWLEDGE_CLUSTER_KEY
from hotline.ivr.model import FlowErrors
from hotline.ivr.registry import FlowRegistry

log = logging.getLogger(__name__)

FLOWS, KNOWLEDGE = "flows", "knowledge"
_KEYS = {FLOWS: FLOWS_CLUSTER_KEY, KNOWLEDGE: KNOWLEDGE_CLUSTER_KEY}
# KEYS[1] the hash, KEYS[2] the counter; ARGV[1] the name, ARGV[2] the entry's JSON object without its seq
_PUBLISH = """
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], '{"seq": ' .. seq .. ', ' .. string.sub(ARGV[2], 2))
return seq
"""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain_yaml_name(name: str) -> bool:
    return Path(name).name == name and name.endswith(".yaml") and not name.startswith(".")


class ClusterVersions:
    """One node's side of the cluster's flow and knowledge versions (see the module docstring)."""

    def __init__(self, client: aioredis.Redis, registry: FlowRegistry, knowledge: KnowledgeRegistry[Any],
                 node: str) -> None:
        self.client = client
        self.registry = registry
        self.knowledge = knowledge
        self.node = node
        self._started = False  # the first successful sync (the start-up rule) is done
        # per kind, name -> the sha this node last published or adopted: what it believes the cluster has
        self._known: dict[str, dict[str, str]] = {FLOWS: {}, KNOWLEDGE: {}}
        # per kind, name -> the highest sequence looked at (published, adopted or skipped)
        self._seq: dict[str, dict[str, int]] = {FLOWS: {}, KNOWLEDGE: {}}
        self._lock = asyncio.Lock()  # the API's callbacks and the supervisor's loop take turns
        self._last = self._load_known()  # per kind, name -> the sha agreed with the cluster last run
        self._last_saved: dict[str, dict[str, str]] = {}
        self._failing = False
        self._unreadable: dict[tuple[str, str], Any] = {}  # malformed entries already logged
        self._kb_looked_at = self._kb_reading = 0  # the knowledge version compared with the cluster's last

    # --- the entry points ------------------------------------------------------------------------

    async def publish_flows(self) -> list[str]:
        """Publish the flows this node activated itself since it last published or adopted them."""
        async with self._lock:
            return await self._guard(lambda: self._publish(FLOWS, self._local_flows()))

    async def publish_knowledge(self) -> list[str]:
        """Publish the knowledge files changed here (nothing while the directory is rejected)."""
        async with self._lock:
            return await self._guard(lambda: self._publish(KNOWLEDGE, self._local_knowledge()))

    async def sync(self) -> list[str]:
        """Publish this node's own changes, then adopt newer publications of the others; returns
        what changed, e.g. ['published flows main (seq 7)', 'flow main: v4 from node-b (seq 8)']."""
        async with self._lock:
            return await self._guard(self._sync)

    # --- inside ----------------------------------------------------------------------------------

    async def _guard(self, work: Callable[[], Awaitable[list[str]]]) -> list[str]:
        try:
            report = await work()
        except (aioredis.RedisError, OSError) as exc:
            if not self._failing:
                log.error("cluster versions: redis unavailable, retrying every second", extra={"error": str(exc)})
            self._failing = True
            return []
        except Exception:  # a bug or an odd entry must not stop the supervisor's loop: logged, retried
            log.exception("cluster versions: sync failed")
            return []
        self._save_known()  # what this node now agrees with the cluster on, for its next start
        if self._failing:
            log.info("cluster versions: redis answers again")
        self._failing = False
        return report

    async def _sync(self) -> list[str]:
        report: list[str] = []
        if self._started:  # this node's own changes first: they get the newer sequence numbers
            report += await self._publish(FLOWS, self._local_flows())
            report += await self._publish(KNOWLEDGE, self._local_knowledge())
        flows, knowledge = await self._read(FLOWS), await self._read(KNOWLEDGE)
        if not self._started:  # start-up: a file edited here while this node was down may be newer
            texts = self._knowledge_texts() or {}
            flows = {n: i for n, i in flows.items() if not self._local_wins(
                FLOWS, n, self.registry.entries[n].sha if n in self.registry.entries else None,
                self._flow_saved_at(n), i)}
            knowledge = {n: i for n, i in knowledge.items() if not self._local_wins(
                KNOWLEDGE, n, _sha(texts[n]) if n in texts else None, self._file_mtime(n), i)}
        report += self._adopt_flows(flows)
        report += await self._adopt_knowledge(knowledge)
        if not self._started:  # start-up: the newer side won above; what the cluster lacks comes from here
            self._started = True
            report += await self._publish(FLOWS, self._local_flows())
            report += await self._publish(KNOWLEDGE, self._local_knowledge())
        return report

    def _local_wins(self, kind: str, name: str, local_sha: str | None, local_at: float, item: dict[str, Any]) -> bool:
        """At start-up: this node's version stays (and is published) only when it was changed here
        since the node last agreed with the cluster, and after the cluster's publication. A node that
        never synced (a new one, with stock files) or whose file is unchanged takes the cluster's."""
        last = self._last[kind].get(name)
        if last is None or local_sha is None or local_sha == last:
            return False
        return local_at > float(item.get("at", 0))

    @property
    def _known_file(self) -> Path:
        return self.registry.state_dir / "cluster.json"

    def _load_known(self) -> dict[str, dict[str, str]]:
        """What this node agreed with the cluster on when it last ran."""
        try:
            data = json.loads(self._known_file.read_text())
            return {kind: {str(k): str(v) for k, v in dict(data.get(kind, {})).items()} for kind in (FLOWS, KNOWLEDGE)}
        except (OSError, ValueError, TypeError, AttributeError):
            return {FLOWS: {}, KNOWLEDGE: {}}

    def _save_known(self) -> None:
        if self._known == self._last_saved:
            return
        try:
            self._known_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._known_file.with_name(".cluster.json.tmp")
            tmp.write_text(json.dumps(self._known))
            tmp.replace(self._known_file)
            self._last_saved = {kind: dict(v) for kind, v in self._known.items()}
        except OSError:
            log.exception("cluster versions: could not save what this node knows")

    def _flow_saved_at(self, name: str) -> float:
        """When this node activated its version of a flow (0: it has none)."""
        entry = self.registry.entries.get(name)
        if entry is None:
            return 0.0
        return max((float(v.get("saved_at", 0)) for v in entry.versions if v.get("version") == entry.version),
                   default=0.0)

    def _file_mtime(self, name: str) -> float:
        try:
            return (self.knowledge.directory / name).stat().st_mtime
        except OSError:
            return 0.0

    def _local_flows(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, flow in self.registry.active.items():
            entry = self.registry.entries.get(name)
            if entry is not None:
                out[name] = {"name": name, "file": Path(entry.file).name, "version": entry.version,
                             "sha": entry.sha, "text": flow.source_text}
        return out

    def _knowledge_texts(self) -> dict[str, str] | None:
        """Every knowledge file's text (None: one cannot be read now, so nothing counts as removed)."""
        directory = self.knowledge.directory
        texts: dict[str, str] = {}
        for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
            try:
                texts[path.name] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
        return texts

    def _local_knowledge(self) -> dict[str, dict[str, Any]] | None:
        """The knowledge files to compare with what the cluster has; None: nothing to publish (the
        loaded version was looked at already, or the directory is rejected: the others keep theirs)."""
        current = self.knowledge.current
        if self.knowledge.errors or current is None or current.number == self._kb_looked_at:
            return None
        texts = self._knowledge_texts()
        if texts is None:
            return None
        self._kb_reading = current.number
        return {name: {"file": name, "sha": _sha(text), "text": text} for name, text in texts.items()}

    async def _publish(self, kind: str, local: dict[str, dict[str, Any]] | None) -> list[str]:
        if not self._started or local is None:
            return []
        known = self._known[kind]
        report = [await self._put(kind, name, item) for name, item in local.items() if known.get(name) != item["sha"]]
        if kind == KNOWLEDGE:  # a removed file: a tombstone
            for name in [n for n, sha in known.items() if sha and n not in local]:
                report.append(await self._put(kind, name, {"file": name, "sha": "", "text": "", "deleted": True}))
            self._kb_looked_at = self._kb_reading  # all of that version is published
        return report

    async def _put(self, kind: str, name: str, item: dict[str, Any]) -> str:
        payload = json.dumps({**item, "node": self.node, "at": time.time()}, ensure_ascii=False)
        seq = int(await self.client.eval(_PUBLISH, 2, _KEYS[kind], CLUSTER_SEQ_KEY, name, payload))
        self._known[kind][name] = item["sha"]
        self._seq[kind][name] = max(seq, self._seq[kind].get(name, 0))
        log.info("version published to the cluster", extra={"kind": kind, "entry": name, "seq": seq,
                                                             "node": self.node})
        return f"published {kind} {name} (seq {seq})"

    async def _read(self, kind: str) -> dict[str, dict[str, Any]]:
        """The cluster's entries of a kind newer than this node has looked at (the adopting marks them seen)."""
        raw = await self.client.hgetall(_KEYS[kind])
        out: dict[str, dict[str, Any]] = {}
        for field, value in raw.items():
            name = field.decode() if isinstance(field, bytes) else str(field)
            try:
                item = json.loads(value)
                seq = int(item["seq"])
                if not isinstance(item.get("text"), str) or not isinstance(item.get("file"), str):
                    raise ValueError("text and file must be strings")
            except (ValueError, KeyError, TypeError) as exc:
                if self._unreadable.get((kind, name)) != value:  # once, not every second
                    self._unreadable[(kind, name)] = value
                    log.error("cluster version unreadable, skipped", extra={"kind": kind, "entry": name,
                                                                            "error": str(exc)})
                continue
            if seq > self._seq[kind].get(name, 0):
                out[name] = item
        return out

    def _adopt_flows(self, entries: dict[str, dict[str, Any]]) -> list[str]:
        local = self._local_flows()
        pending: dict[str, dict[str, Any]] = {}
        for name, item in sorted(entries.items()):
            self._seq[FLOWS][name] = int(item["seq"])
            mine = local.get(name)
            if mine is not None and mine["text"] == item["text"]:
                self._known[FLOWS][name] = mine["sha"]  # the same text: nothing to adopt
            else:
                pending[name] = item
        report: list[str] = []
        while pending:  # in passes: a flow calling a sub-flow new in the same round waits for it
            failed: dict[str, Exception] = {}
            before = len(pending)
            for name, item in list(pending.items()):
                source = f"cluster:{item.get('node')}"
                try:
                    line = self.registry.adopt(name, item["file"], item["text"], source)
                except (FlowErrors, OSError) as exc:
                    failed[name] = exc
                    continue
                del pending[name]
                self._known[FLOWS][name] = self.registry.entries[name].sha
                report.append(f"flow {line or name} from {item.get('node')} (seq {item['seq']})")
            if failed and len(failed) == before:  # no progress: what is left is rejected
                for name, problem in failed.items():
                    problems = ([e.to_dict() for e in problem.errors] if isinstance(problem, FlowErrors)
                                else [str(problem)])
                    log.error("flow from the cluster rejected, this node keeps its version",
                              extra={"flow": name, "from": pending[name].get("node"), "seq": pending[name]["seq"],
                                     "errors": problems})
                    if name in local:  # not a change of this node's own: not published either
                        self._known[FLOWS][name] = local[name]["sha"]
                    report.append(f"rejected flow {name} from {pending[name].get('node')} (seq {pending[name]['seq']})")
                break
        return report

    async def _adopt_knowledge(self, entries: dict[str, dict[str, Any]]) -> list[str]:
        texts = self._knowledge_texts()
        if texts is None:  # retried at the next sync
            return []
        pending: dict[str, dict[str, Any]] = {}
        for name, item in sorted(entries.items()):
            self._seq[KNOWLEDGE][name] = int(item["seq"])
            if texts.get(name, "") == item["text"]:
                self._known[KNOWLEDGE][name] = _sha(item["text"]) if item["text"] else ""
            else:
                pending[name] = item
        report: list[str] = []
        while pending:  # in passes: an article moved between two files is removed from one first
            failed: dict[str, str] = {}
            before = len(pending)
            for name, item in list(pending.items()):
                try:
                    await asyncio.to_thread(self._write_knowledge, name, item["text"])
                except (KbError, OSError) as exc:
                    failed[name] = str(exc)
                    continue
                del pending[name]
                self._known[KNOWLEDGE][name] = _sha(item["text"]) if item["text"] else ""
                what = "removed" if not item["text"] else "knowledge"
                report.append(f"{what} {name} from {item.get('node')} (seq {item['seq']})")
            if failed and len(failed) == before:  # no progress: what is left is rejected
                for name, error in failed.items():
                    log.error("knowledge file from the cluster rejected, this node keeps its version",
                              extra={"file": name, "from": pending[name].get("node"), "seq": pending[name]["seq"],
                                     "errors": error.splitlines()})
                    if name in texts:
                        self._known[KNOWLEDGE][name] = _sha(texts[name])
                    report.append(f"rejected knowledge {name} from {pending[name].get('node')} "
                                  f"(seq {pending[name]['seq']})")
                break
        return report

    def _write_knowledge(self, name: str, text: str) -> None:
        """Check the directory as it would be, write the file atomically ("" removes it), reload."""
        if not _plain_yaml_name(name):
            raise KbError(f"{name}:0: not a plain *.yaml file name of the knowledge directory")
        registry = self.knowledge
        # the registry's own write: the API's edits hold this lock for their read-modify-write of a file
        with registry._lock:
            registry._write(name, text)
