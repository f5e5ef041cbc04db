"""Durable call records: SQLite in WAL mode in the data directory, shared by all processes.

Records are written when a call starts, after every final transcript segment and at the end, so a
crash loses at most the utterance in progress. Storage sits behind `CallStore`.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any, Protocol

from hotline.center.records import CallRecord, CallStatus
from hotline.center.sqlite_db import open_wal
from hotline.qa.search import CallQuery, fts_query, index_text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_started ON calls(started_at DESC);
CREATE VIRTUAL TABLE IF NOT EXISTS calls_fts USING fts5(text, call_id UNINDEXED,
                                                         tokenize='unicode61 remove_diacritics 2');
"""
HIT_START, HIT_END = "\u0002", "\u0003"  # around matched words in search snippets
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])(\u0003?) (?=\u0002?[\u3400-\u9fff])")  # indexing spaced them


# fields that the app process writes into a live call's record; a worker's save keeps them
WRITTEN_ELSEWHERE = ("wrapup", "post_transcript", "assist", "qa", "offers")
_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+$")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")


def path_steps(path: str) -> list[str | int]:
    """A record path (``$.assist.suggestions[2].feedback``) as its keys and list indexes."""
    if not _PATH.match(path):
        raise ValueError(f"bad record path {path!r}")
    return [key if key else int(index) for key, index in _STEP.findall(path)]


def search_result(data: dict[str, Any], snippet: str) -> dict[str, Any]:
    """One call as a QA search lists it (``snippet``: the index text around the words found)."""
    return {"id": data["id"], "started_at": data["started_at"], "duration_s": data.get("duration_s"),
            "status": data.get("status"), "channel": data.get("channel"), "caller": data.get("from_uri"),
            "agent": data.get("agent", ""), "outcome": data.get("outcome", ""),
            "disposition": (data.get("wrapup") or {}).get("disposition", ""),
            "queues": sorted({t.get("queue") for t in data.get("transfers") or [] if t.get("queue")}),
            "tickets": data.get("tickets") or [], "snippet": _CJK_GAP.sub(r"\1", snippet).strip()}


class CallStore(Protocol):
    def save(self, record: CallRecord) -> None: ...
    async def settled(self, call_id: str) -> None: ...
    def get(self, call_id: str) -> dict[str, Any] | None: ...
    def recent(self, limit: int) -> list[dict[str, Any]]: ...
    def mark_interrupted(self, worker: str | None, node: str | None = None) -> int: ...
    def awaiting_post_transcript(self, limit: int, node: str | None = None) -> list[str]: ...
    def set_post_transcript(self, call_id: str, post: dict[str, Any]) -> None: ...
    def annotate(self, call_id: str, key: str, value: Any) -> None: ...
    def set_paths(self, call_id: str, values: dict[str, Any]) -> bool: ...
    def append(self, call_id: str, path: str, item: Any) -> bool: ...
    def between(self, since: float, until: float, with_field: str | None = None) -> list[dict[str, Any]]: ...
    def search(self, query: CallQuery) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...


class CallStoreBackend(CallStore, Protocol):
    """A `CallStore` on a database (SQLite or PostgreSQL): it can also write a record from its
    fields, which is what `WriteBehindStore` hands it."""

    def save_fields(self, call_id: str, started_at: float, status: str, fields: dict[str, Any]) -> None: ...


class SqliteCallStore:
    def __init__(self, path: Path) -> None:
        self._conn = open_wal(path, _SCHEMA)
        self._lock = threading.Lock()
        with self._lock:
            indexed = self._conn.execute("SELECT count(*) FROM calls_fts").fetchone()[0]
            if indexed == 0:  # a data directory from before the search index: index what is there
                for call_id, raw in self._conn.execute("SELECT id, data FROM calls").fetchall():
                    self._index(call_id, json.loads(raw))

    def _index(self, call_id: str, data: dict[str, Any]) -> None:
        """(Re)index one call; the caller holds the lock (and, for a save, the transaction)."""
        self._conn.execute("DELETE FROM calls_fts WHERE call_id=?", (call_id,))
        self._conn.execute("INSERT INTO calls_fts(text, call_id) VALUES(?, ?)", (index_text(data), call_id))

    def _reindex(self, call_id: str) -> None:
        row = self._conn.execute("SELECT data FROM calls WHERE id=?", (call_id,)).fetchone()
        if row is not None:
            self._index(call_id, json.loads(row[0]))

    def save(self, record: CallRecord) -> None:
        self.save_fields(record.id, record.started_at, record.status, record.to_dict())

    async def settled(self, call_id: str) -> None:
        """Every `save` of the call so far is on disk (here at once: `save` writes before it returns)."""

    def save_fields(self, call_id: str, started_at: float, status: str, fields: dict[str, Any]) -> None:
        """Write a record (`CallRecord.to_dict()`), keeping what other processes wrote into it."""
        with self._lock:
            # one transaction: fields other processes write (the agent's wrap-up, assist suggestions,
            # the post-call transcript) are kept when the worker's copy of the record lacks them
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                missing = [k for k in WRITTEN_ELSEWHERE if fields.get(k) is None]
                if missing:
                    row = self._conn.execute("SELECT data FROM calls WHERE id=?", (call_id,)).fetchone()
                    if row is not None:
                        stored = json.loads(row[0])
                        fields.update({k: stored[k] for k in missing if stored.get(k) is not None})
                self._conn.execute(
                    "INSERT INTO calls(id, started_at, status, data) VALUES(?,?,?,?) "
                    "ON CONFLICT(id) DO UPDATE SET status=excluded.status, data=excluded.data",
                    (call_id, started_at, status, json.dumps(fields, ensure_ascii=False)),
                )
                self._index(call_id, fields)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def get(self, call_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT data FROM calls WHERE id=?", (call_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def recent(self, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT data FROM calls ORDER BY started_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def mark_interrupted(self, worker: str | None, node: str | None = None) -> int:
        """Calls that a dead worker (or any worker, for None) left `live` are marked interrupted;
        the segments they saved stay. With `node`, only that node's calls (and those of records
        written before nodes existed, without one)."""
        with self._lock:
            rows = self._conn.execute("SELECT id, data FROM calls WHERE status='live'").fetchall()
        count = 0
        for call_id, raw in rows:
            data = json.loads(raw)
            if worker is not None and data.get("worker") != worker:
                continue
            if node is not None and data.get("node") not in (None, "", node):
                continue
            data["status"] = CallStatus.INTERRUPTED
            data["end_reason"] = data.get("end_reason") or "worker_died"
            with self._lock:
                self._conn.execute(
                    "UPDATE calls SET status='interrupted', data=? WHERE id=?", (json.dumps(data), call_id)
                )
            count += 1
        return count

    def awaiting_post_transcript(self, limit: int, node: str | None = None) -> list[str]:
        """Finished calls with a recording and no post-call transcript yet, oldest first; with
        `node`, only that node's (and node-less records')."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM calls WHERE status IN ('completed', 'interrupted') "
                "AND json_extract(data, '$.post_transcript') IS NULL "
                "AND json_extract(data, '$.recordings.caller') IS NOT NULL "
                "AND (? IS NULL OR COALESCE(json_extract(data, '$.node'), '') IN ('', ?)) "
                "ORDER BY started_at LIMIT ?", (node, node, limit)).fetchall()
        return [r[0] for r in rows]

    def set_post_transcript(self, call_id: str, post: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE calls SET data = json_set(data, '$.post_transcript', json(?)) WHERE id = ?",
                (json.dumps(post, ensure_ascii=False), call_id))
            if post.get("status") in ("done", "failed"):  # not at every progress step
                self._reindex(call_id)

    def annotate(self, call_id: str, key: str, value: Any) -> None:
        """Set one top-level field of a call's record (an agent's wrap-up, for example)."""
        if not key.isidentifier():
            raise ValueError(f"bad record field {key!r}")
        with self._lock:
            self._conn.execute(f"UPDATE calls SET data = json_set(data, '$.{key}', json(?)) WHERE id = ?",  # noqa: S608
                               (json.dumps(value, ensure_ascii=False), call_id))
            if key == "wrapup":  # the notes are searchable
                self._reindex(call_id)

    def set_paths(self, call_id: str, values: dict[str, Any]) -> bool:
        """Set JSON paths (``$.assist.suggestions[2].feedback``) in one call's record atomically;
        False when there is no such call."""
        if not values:
            return False
        args: list[Any] = []
        for path, value in values.items():
            if not _PATH.match(path):
                raise ValueError(f"bad record path {path!r}")
            args += [path, json.dumps(value, ensure_ascii=False)]
        setters = ", ".join("?, json(?)" for _ in values)
        with self._lock:
            cur = self._conn.execute(f"UPDATE calls SET data = json_set(data, {setters}) WHERE id = ?",  # noqa: S608
                                     (*args, call_id))
        return cur.rowcount > 0

    def append(self, call_id: str, path: str, item: Any) -> bool:
        """Append to the JSON list at ``path`` of a call's record (created when missing)."""
        if not _PATH.match(path):
            raise ValueError(f"bad record path {path!r}")
        with self._lock:
            cur = self._conn.execute(
                "UPDATE calls SET data = json_set(data, ?, json_insert(COALESCE(json_extract(data, ?), json('[]')),"
                " '$[#]', json(?))) WHERE id = ?", (path, path, json.dumps(item, ensure_ascii=False), call_id))
        return cur.rowcount > 0

    def between(self, since: float, until: float, with_field: str | None = None) -> list[dict[str, Any]]:
        """Calls started in ``[since, until)``, oldest first; optionally only those with a top-level field."""
        query = "SELECT data FROM calls WHERE started_at >= ? AND started_at < ?"
        if with_field is not None:
            if not with_field.isidentifier():
                raise ValueError(f"bad record field {with_field!r}")
            query += f" AND json_extract(data, '$.{with_field}') IS NOT NULL"
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY started_at", (since, until)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def search(self, query: CallQuery) -> list[dict[str, Any]]:
        """Calls matching a QA search, newest first: a summary of each, with a snippet around the
        words found when there was a text query."""
        where: list[str] = []
        args: list[Any] = []
        match = fts_query(query.text) if query.text else None
        if query.text and match is None:
            return []
        if query.since is not None:
            where.append("c.started_at >= ?")
            args.append(query.since)
        if query.until is not None:
            where.append("c.started_at < ?")
            args.append(query.until)
        for path, value in (("$.outcome", query.outcome), ("$.wrapup.disposition", query.disposition),
                            ("$.status", query.status)):
            if value:
                where.append(f"json_extract(c.data, '{path}') = ?")
                args.append(value)
        if query.agent:
            where.append("(json_extract(c.data, '$.agent') = ? OR EXISTS (SELECT 1 FROM json_each(c.data, "
                         "'$.transfers') t WHERE json_extract(t.value, '$.agent') = ?))")
            args += [query.agent, query.agent]
        if query.queue:
            where.append("EXISTS (SELECT 1 FROM json_each(c.data, '$.transfers') t "
                         "WHERE json_extract(t.value, '$.queue') = ?)")
            args.append(query.queue)
        if match is not None:
            sql = (f"SELECT c.data, snippet(calls_fts, 0, '{HIT_START}', '{HIT_END}', ' ... ', 12) "
                   "FROM calls_fts JOIN calls c ON c.id = calls_fts.call_id WHERE calls_fts MATCH ?")
            args.insert(0, match)
        else:
            sql = "SELECT c.data, '' FROM calls c WHERE 1"
        sql += "".join(f" AND {w}" for w in where) + " ORDER BY c.started_at DESC LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._conn.execute(sql, (*args, query.limit, query.offset)).fetchall()
        return [search_result(json.loads(raw), snippet) for raw, snippet in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
