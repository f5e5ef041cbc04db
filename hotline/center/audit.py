"""The audit log: who did what to accounts, flows, knowledge and tickets, and who logged in.

One SQLite table in the data directory (WAL, shared by the processes of a node); entries are
only ever added. Details hold ids and field names, never transcripts or passwords.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.center.sqlite_db import open_wal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    address TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at DESC);
"""


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None  # a prefix: "knowledge." matches every knowledge action
    since: float | None = None
    until: float | None = None
    limit: int = 200


class AuditLog:
    def __init__(self, path: Path) -> None:
        self._conn = open_wal(path, _SCHEMA)
        self._lock = threading.Lock()

    def record(self, actor: str, action: str, target: str = "", address: str = "",
               detail: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO audit(at, actor, action, target, address, detail) VALUES(?,?,?,?,?,?)",
                               (time.time(), actor, action, target, address,
                                json.dumps(detail or {}, ensure_ascii=False)))

    def query(self, q: AuditQuery) -> list[dict[str, Any]]:
        sql = "SELECT id, at, actor, action, target, address, detail FROM audit WHERE 1=1"
        args: list[Any] = []
        if q.actor:
            sql, args = sql + " AND actor=?", [*args, q.actor]
        if q.action:
            sql, args = sql + " AND action LIKE ? ESCAPE '\\'", [*args, q.action.replace("%", "\\%")
                                                                 .replace("_", "\\_") + "%"]
        if q.since is not None:
            sql, args = sql + " AND at>=?", [*args, q.since]
        if q.until is not None:
            sql, args = sql + " AND at<?", [*args, q.until]
        sql += " ORDER BY id DESC LIMIT ?"
        with self._lock:
            rows = self._conn.execute(sql, [*args, q.limit]).fetchall()
        return [{"id": r[0], "at": r[1], "actor": r[2], "action": r[3], "target": r[4], "address": r[5],
                 "detail": json.loads(r[6])} for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
