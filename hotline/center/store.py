"""Durable call records: SQLite in WAL mode in the data directory, shared by all processes.

Records are written when a call starts, after every final transcript segment and at the end, so a
crash loses at most the utterance in progress. Storage sits behind `CallStore`.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from hotline.center.records import CallRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_started ON calls(started_at DESC);
"""


# fields that the app process writes into a live call's record; a worker's save keeps them
_WRITTEN_ELSEWHERE = ("wrapup", "post_transcript", "assist")
_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+$")


class CallStore(Protocol):
    def save(self, record: CallRecord) -> None: ...
    def get(self, call_id: str) -> dict[str, Any] | None: ...
    def recent(self, limit: int) -> list[dict[str, Any]]: ...
    def mark_interrupted(self, worker: str | None) -> int: ...
    def awaiting_post_transcript(self, limit: int) -> list[str]: ...
    def set_post_transcript(self, call_id: str, post: dict[str, Any]) -> None: ...
    def annotate(self, call_id: str, key: str, value: Any) -> None: ...
    def set_paths(self, call_id: str, values: dict[str, Any]) -> bool: ...
    def append(self, call_id: str, path: str, item: Any) -> bool: ...
    def between(self, since: float, until: float, with_field: str | None = None) -> list[dict[str, Any]]: ...


class SqliteCallStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), timeout=10.0, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)

    def save(self, record: CallRecord) -> None:
        fields = record.to_dict()
        with self._lock:
            # one transaction: fields other processes write (the agent's wrap-up, assist suggestions,
            # the post-call transcript) are kept when the worker's copy of the record lacks them
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                missing = [k for k in _WRITTEN_ELSEWHERE if fields.get(k) is None]
                if missing:
                    row = self._conn.execute("SELECT data FROM calls WHERE id=?", (record.id,)).fetchone()
                    if row is not None:
                        stored = json.loads(row[0])
                        fields.update({k: stored[k] for k in missing if stored.get(k) is not None})
                self._conn.execute(
                    "INSERT INTO calls(id, started_at, status, data) VALUES(?,?,?,?) "
                    "ON CONFLICT(id) DO UPDATE SET status=excluded.status, data=excluded.data",
                    (record.id, record.started_at, record.status, json.dumps(fields, ensure_ascii=False)),
                )
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

    def mark_interrupted(self, worker: str | None) -> int:
        """Calls that a dead worker (or any worker, for None) left `live` are marked interrupted;
        the segments they saved stay."""
        with self._lock:
            rows = self._conn.execute("SELECT id, data FROM calls WHERE status='live'").fetchall()
        count = 0
        for call_id, raw in rows:
            data = json.loads(raw)
            if worker is not None and data.get("worker") != worker:
                continue
            data["status"] = "interrupted"
            data["end_reason"] = data.get("end_reason") or "worker_died"
            with self._lock:
                self._conn.execute(
                    "UPDATE calls SET status='interrupted', data=? WHERE id=?", (json.dumps(data), call_id)
                )
            count += 1
        return count

    def awaiting_post_transcript(self, limit: int) -> list[str]:
        """Finished calls with a recording and no post-call transcript yet, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM calls WHERE status IN ('completed', 'interrupted') "
                "AND json_extract(data, '$.post_transcript') IS NULL "
                "AND json_extract(data, '$.recordings.caller') IS NOT NULL "
                "ORDER BY started_at LIMIT ?", (limit,)).fetchall()
        return [r[0] for r in rows]

    def set_post_transcript(self, call_id: str, post: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE calls SET data = json_set(data, '$.post_transcript', json(?)) WHERE id = ?",
                (json.dumps(post, ensure_ascii=False), call_id))

    def annotate(self, call_id: str, key: str, value: Any) -> None:
        """Set one top-level field of a call's record (an agent's wrap-up, for example)."""
        if not key.isidentifier():
            raise ValueError(f"bad record field {key!r}")
        with self._lock:
            self._conn.execute(f"UPDATE calls SET data = json_set(data, '$.{key}', json(?)) WHERE id = ?",  # noqa: S608
                               (json.dumps(value, ensure_ascii=False), call_id))

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

    def close(self) -> None:
        with self._lock:
            self._conn.close()
