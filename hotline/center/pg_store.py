"""Call records in PostgreSQL (psycopg 3), for several nodes sharing one store.

The same `CallStore` behaviour as `SqliteCallStore`: a record is one ``jsonb`` document; the
fields other processes write into a live call are kept by a worker's save; JSON paths are set and
lists appended under the row's lock, so concurrent writers from any thread or node never lose one
another's changes. The schema is created on first use.

Search: each call keeps its index text (`index_text`, every CJK character its own token) and the
same text as normalised words (lower case, no diacritics, one space between tokens, one around the
whole). A reviewer's word is a ``LIKE`` on that column: `` parcel `` for a whole word, `` damag``
for the prefix of the last one, `` 包 裹 `` for Chinese characters side by side, so "包裹" finds
"我的包裹坏了" and "包坏" does not. A ``pg_trgm`` GIN index serves those patterns when the extension
can be created; without it the search is the same, only slower. Snippets are cut in Python the way
SQLite's FTS5 ``snippet()`` cuts them: 12 tokens around the most words found.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hotline.center.pg_db import PgConnection
from hotline.center.pg_text import get_path, like_pattern, query_terms, set_path, snippet, words_of
from hotline.center.records import CallRecord, CallStatus
from hotline.center.store import WRITTEN_ELSEWHERE, path_steps, search_result
from hotline.qa.search import CallQuery, index_text

log = logging.getLogger(__name__)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS calls ("
    " id TEXT PRIMARY KEY,"
    " started_at DOUBLE PRECISION NOT NULL,"
    " status TEXT NOT NULL,"
    " data JSONB NOT NULL,"
    " search_text TEXT NOT NULL DEFAULT '',"
    " words TEXT NOT NULL DEFAULT ' ')",
    "CREATE INDEX IF NOT EXISTS calls_started ON calls(started_at DESC)",
    "CREATE INDEX IF NOT EXISTS calls_live ON calls(status) WHERE status = 'live'",
    "CREATE INDEX IF NOT EXISTS calls_data ON calls USING GIN (data jsonb_path_ops)",
)
# a record of node %s (NULL: any), or one written before nodes existed
_OF_NODE = "(%s::text IS NULL OR COALESCE(data->>'node', '') IN ('', %s::text))"
_TRIGRAMS = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS calls_words ON calls USING GIN (words gin_trgm_ops)",
)

class PostgresCallStore:
    """A `CallStore` on PostgreSQL. One connection, used by one thread at a time (as the SQLite
    store's); it is opened again when the server dropped it (`PgConnection`)."""

    def __init__(self, dsn: str, connect_timeout: float = 10.0) -> None:
        self.trigram_index = False
        self._db = PgConnection(dsn, self._create_schema, "calls", connect_timeout)
        self._run = self._db.run

    def _create_schema(self, conn: psycopg.Connection[Any]) -> None:
        for statement in _SCHEMA:
            conn.execute(statement)
        try:
            with conn.transaction():
                for statement in _TRIGRAMS:
                    conn.execute(statement)
            self.trigram_index = True
        except psycopg.Error as e:  # no pg_trgm (or no right to create it): search scans
            log.warning("call search without a trigram index", extra={"error": str(e)})

    @staticmethod
    def _indexed(data: dict[str, Any]) -> tuple[str, str]:
        text = index_text(data)
        return text, words_of(text)

    def save(self, record: CallRecord) -> None:
        self.save_fields(record.id, record.started_at, record.status, record.to_dict())

    async def settled(self, call_id: str) -> None:
        """Every `save` of the call so far is stored (here at once: `save` writes before it returns)."""

    def save_fields(self, call_id: str, started_at: float, status: str, fields: dict[str, Any]) -> None:
        """Write a record (`CallRecord.to_dict()`), keeping what other processes wrote into it."""
        def work(conn: psycopg.Connection[Any]) -> None:
            missing = [k for k in WRITTEN_ELSEWHERE if fields.get(k) is None]
            if missing:
                row = conn.execute("SELECT data FROM calls WHERE id = %s FOR UPDATE", (call_id,)).fetchone()
                if row is not None:
                    stored = row[0]
                    fields.update({k: stored[k] for k in missing if stored.get(k) is not None})
            text, words = self._indexed(fields)
            conn.execute(
                "INSERT INTO calls(id, started_at, status, data, search_text, words) VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET status = excluded.status, data = excluded.data, "
                "search_text = excluded.search_text, words = excluded.words",
                (call_id, started_at, str(status), Jsonb(fields, dumps=_dumps), text, words))
        self._run(work, transaction=True)  # the whole record: writing it twice is writing it once

    def get(self, call_id: str) -> dict[str, Any] | None:
        row = self._run(lambda conn: conn.execute("SELECT data FROM calls WHERE id = %s", (call_id,)).fetchone())
        return dict(row[0]) if row else None

    def recent(self, limit: int) -> list[dict[str, Any]]:
        rows = self._run(lambda conn: conn.execute(
            "SELECT data FROM calls ORDER BY started_at DESC LIMIT %s", (limit,)).fetchall())
        return [r[0] for r in rows]

    def mark_interrupted(self, worker: str | None, node: str | None = None) -> int:
        """Calls that a dead worker (or any worker, for None) left `live` are marked interrupted;
        the segments they saved stay. With `node`, only that node's calls (and those of records
        written before nodes existed, without one)."""
        return self._run(lambda conn: conn.execute(
            "UPDATE calls SET status = %s, data = data || jsonb_build_object('status', %s::text, 'end_reason', "
            "COALESCE(NULLIF(data->>'end_reason', ''), 'worker_died')) "
            "WHERE status = 'live' AND (%s::text IS NULL OR data->'worker' = to_jsonb(%s::text)) "
            f"AND {_OF_NODE}",
            (str(CallStatus.INTERRUPTED), str(CallStatus.INTERRUPTED), worker, worker, node, node)).rowcount)

    def awaiting_post_transcript(self, limit: int, node: str | None = None) -> list[str]:
        """Finished calls with a recording and no post-call transcript yet, oldest first; with
        `node`, only that node's (and node-less records')."""
        rows = self._run(lambda conn: conn.execute(
            "SELECT id FROM calls WHERE status IN ('completed', 'interrupted') "
            "AND COALESCE(jsonb_typeof(data->'post_transcript'), 'null') = 'null' "
            "AND COALESCE(jsonb_typeof(data#>'{recordings,caller}'), 'null') <> 'null' "
            f"AND {_OF_NODE} ORDER BY started_at LIMIT %s", (node, node, limit)).fetchall())
        return [r[0] for r in rows]

    def _update(self, call_id: str, change: Callable[[dict[str, Any]], None], reindex: bool,
                retry: bool = True) -> bool:
        """Change a call's record in Python under its row lock; False when there is no such call."""
        def work(conn: psycopg.Connection[Any]) -> bool:
            row = conn.execute("SELECT data FROM calls WHERE id = %s FOR UPDATE", (call_id,)).fetchone()
            if row is None:
                return False
            data = row[0]
            change(data)
            if reindex:
                text, words = self._indexed(data)
                conn.execute("UPDATE calls SET data = %s, search_text = %s, words = %s WHERE id = %s",
                             (Jsonb(data, dumps=_dumps), text, words, call_id))
            else:
                conn.execute("UPDATE calls SET data = %s WHERE id = %s", (Jsonb(data, dumps=_dumps), call_id))
            return True
        return self._run(work, transaction=True, retry=retry)

    def set_post_transcript(self, call_id: str, post: dict[str, Any]) -> None:
        self._update(call_id, lambda data: data.__setitem__("post_transcript", post),
                     reindex=post.get("status") in ("done", "failed"))  # not at every progress step

    def annotate(self, call_id: str, key: str, value: Any) -> None:
        """Set one top-level field of a call's record (an agent's wrap-up, for example)."""
        if not key.isidentifier():
            raise ValueError(f"bad record field {key!r}")
        self._update(call_id, lambda data: data.__setitem__(key, value), reindex=key == "wrapup")

    def set_paths(self, call_id: str, values: dict[str, Any]) -> bool:
        """Set JSON paths (``$.assist.suggestions[2].feedback``) in one call's record atomically;
        False when there is no such call."""
        if not values:
            return False
        steps = [(path_steps(path), value) for path, value in values.items()]

        def change(data: dict[str, Any]) -> None:
            for path, value in steps:
                set_path(data, path, _copy(value))
        return self._update(call_id, change, reindex=False)

    def append(self, call_id: str, path: str, item: Any) -> bool:
        """Append to the JSON list at ``path`` of a call's record (created when missing)."""
        steps = path_steps(path)

        def change(data: dict[str, Any]) -> None:
            current = get_path(data, steps)
            if current is None:
                current = []
            elif not isinstance(current, list):
                return  # an object or a scalar is left as it was
            set_path(data, steps, [*current, _copy(item)])
        # after a lost connection, again only when it failed before its COMMIT: it may have been written
        return self._update(call_id, change, reindex=False, retry=False)

    def between(self, since: float, until: float, with_field: str | None = None) -> list[dict[str, Any]]:
        """Calls started in ``[since, until)``, oldest first; optionally only those with a top-level field."""
        if with_field is not None and not with_field.isidentifier():
            raise ValueError(f"bad record field {with_field!r}")
        rows = self._run(lambda conn: conn.execute(
            "SELECT data FROM calls WHERE started_at >= %s AND started_at < %s "
            "AND (%s::text IS NULL OR COALESCE(jsonb_typeof(data->%s::text), 'null') <> 'null') "
            "ORDER BY started_at", (since, until, with_field, with_field)).fetchall())
        return [r[0] for r in rows]

    def search(self, query: CallQuery) -> list[dict[str, Any]]:
        """Calls matching a QA search, newest first: a summary of each, with a snippet around the
        words found when there was a text query."""
        terms = query_terms(query.text) if query.text else None
        if query.text and terms is None:
            return []
        where: list[str] = []
        args: list[Any] = []
        for phrase, prefix in terms or []:
            where.append("words LIKE %s")
            args.append(like_pattern(phrase, prefix))
        if query.since is not None:
            where.append("started_at >= %s")
            args.append(query.since)
        if query.until is not None:
            where.append("started_at < %s")
            args.append(query.until)
        contains: list[dict[str, Any]] = []
        if query.outcome:
            contains.append({"outcome": query.outcome})
        if query.disposition:
            contains.append({"wrapup": {"disposition": query.disposition}})
        if query.status:
            contains.append({"status": query.status})
        if query.queue:
            contains.append({"transfers": [{"queue": query.queue}]})
        for doc in contains:
            where.append("data @> %s")
            args.append(Jsonb(doc))
        if query.agent:
            where.append("(data @> %s OR data @> %s)")
            args += [Jsonb({"agent": query.agent}), Jsonb({"transfers": [{"agent": query.agent}]})]
        sql = "SELECT data, search_text FROM calls"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC LIMIT %s OFFSET %s"
        rows = self._run(lambda conn: conn.execute(sql, (*args, query.limit, query.offset)).fetchall())
        return [search_result(data, snippet(text, terms) if terms else "") for data, text in rows]

    def close(self) -> None:
        self._db.close()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _copy(value: Any) -> Any:
    """A value as stored (JSON), so a later change to the caller's object is not written through."""
    return json.loads(_dumps(value))
