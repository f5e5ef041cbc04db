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
import re
import threading
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb

from hotline.center.records import CallRecord, CallStatus
from hotline.center.store import HIT_END, HIT_START, WRITTEN_ELSEWHERE, path_steps, search_result
from hotline.qa.search import CallQuery, index_text, spaced

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_SCHEMA_LOCK = 0x686F746C  # advisory lock key: two processes creating the schema at once wait in turn
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
_TRIGRAMS = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS calls_words ON calls USING GIN (words gin_trgm_ops)",
)

_TOKEN = re.compile(r"[^\W_]+")  # what SQLite's unicode61 tokenizer keeps: runs of letters and digits
_TERM = re.compile(r"[\w\u3400-\u9fff]+")  # a reviewer's words, as `fts_query` splits them
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SNIPPET_TOKENS = 12
_ELLIPSIS = " ... "


def _fold(token: str) -> str:
    """Lower case without diacritics (unicode61's ``remove_diacritics 2``)."""
    decomposed = unicodedata.normalize("NFD", token.lower())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(_fold(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def words_of(text: str) -> str:
    """Index text as the searched column: folded tokens, one space between and around them."""
    return " " + " ".join(t for t, _, _ in _tokens(text)) + " "


def query_terms(text: str) -> list[tuple[list[str], bool]] | None:
    """A reviewer's words as phrases of folded tokens, each with whether its last token is a prefix
    (the last word, unless Chinese); None when nothing searchable (as `fts_query`)."""
    terms = _TERM.findall(text.lower())
    if not terms:
        return None
    out = []
    for i, term in enumerate(terms):
        tokens = [t for t, _, _ in _tokens(spaced(term))]
        if tokens:
            out.append((tokens, i == len(terms) - 1 and not _CJK.search(term)))
    return out or None


def _like(phrase: list[str], prefix: bool) -> str:
    body = " ".join(phrase).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"% {body}{'%' if prefix else ' %'}"


def snippet(text: str, terms: list[tuple[list[str], bool]], size: int = SNIPPET_TOKENS) -> str:
    """The words found in ``text`` marked, in a window of ``size`` tokens (FTS5's ``snippet()``)."""
    tokens = _tokens(text)
    hits: list[tuple[int, int, int]] = []  # (first token, last token, term)
    for n, (phrase, prefix) in enumerate(terms):
        k = len(phrase)
        for i in range(len(tokens) - k + 1):
            if all(tokens[i + j][0] == phrase[j] for j in range(k - 1)) and (
                    tokens[i + k - 1][0].startswith(phrase[-1]) if prefix else tokens[i + k - 1][0] == phrase[-1]):
                hits.append((i, i + k - 1, n))
    if not tokens:
        return ""
    start = 0
    if hits and len(tokens) > size:
        best = -1
        for first, _, _ in hits:  # a window starting at each hit: most different words, then most hits
            inside = [h for h in hits if h[0] >= first and h[1] < first + size]
            score = 1000 * len({h[2] for h in inside}) + len(inside)
            if score > best:
                best = score
                last = max(h[1] for h in inside)
                start = first - (size - (last - first + 1)) // 2  # the hits in the middle
        start = max(0, min(start, len(tokens) - size))
    end = min(len(tokens), start + size)  # tokens [start, end)
    marks = sorted((h[0], h[1]) for h in hits if h[0] >= start and h[1] < end)
    out: list[str] = [] if start == 0 else [_ELLIPSIS]
    pos = 0 if start == 0 else tokens[start][1]
    open_until = -1
    for i in range(start, end):
        token_start, token_end = tokens[i][1], tokens[i][2]
        out.append(text[pos:token_start])
        if open_until < i and any(a == i for a, _ in marks):
            out.append(HIT_START)
            open_until = max(b for a, b in marks if a == i)
        out.append(text[token_start:token_end])
        if open_until == i:
            out.append(HIT_END)
        pos = token_end
    out.append(text[pos:] if end == len(tokens) else _ELLIPSIS)
    return "".join(out)



def _built(steps: list[str | int], value: Any) -> tuple[bool, Any]:
    """What SQLite's ``json_set`` creates for a missing path: objects for keys, a list for index 0."""
    if not steps:
        return True, value
    ok, inner = _built(steps[1:], value)
    if not ok:
        return False, None
    if isinstance(steps[0], str):
        return True, {steps[0]: inner}
    return (True, [inner]) if steps[0] == 0 else (False, None)


def set_path(doc: Any, steps: list[str | int], value: Any) -> None:
    """Set ``steps`` in ``doc`` as SQLite's ``json_set`` does: missing keys (and the next item of a
    list) are created, anything else that does not fit leaves the document as it was."""
    node = doc
    for n, step in enumerate(steps):
        last = n == len(steps) - 1
        if isinstance(step, str):
            if not isinstance(node, dict):
                return
            if step not in node:
                ok, made = _built(steps[n + 1:], value)
                if ok:
                    node[step] = made
                return
            if last:
                node[step] = value
                return
            node = node[step]
        else:
            if not isinstance(node, list) or step > len(node):
                return
            if step == len(node):
                ok, made = _built(steps[n + 1:], value)
                if ok:
                    node.append(made)
                return
            if last:
                node[step] = value
                return
            node = node[step]


def get_path(doc: Any, steps: list[str | int]) -> Any:
    node = doc
    for step in steps:
        if isinstance(step, str) and isinstance(node, dict):
            node = node.get(step)
        elif isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
        else:
            return None
    return node


class PostgresCallStore:
    """A `CallStore` on PostgreSQL. One connection, used by one thread at a time (as the SQLite
    store's); it is opened again when the server dropped it."""

    def __init__(self, dsn: str, connect_timeout: float = 10.0) -> None:
        self._dsn = dsn
        self._timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self.trigram_index = False
        with self._lock:
            self._connection()

    def _connection(self) -> psycopg.Connection[Any]:
        """The open connection (the caller holds the lock); the first one creates the schema."""
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=max(1, int(self._timeout)))
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in _SCHEMA:
                    conn.execute(statement)
                try:
                    with conn.transaction():
                        for statement in _TRIGRAMS:
                            conn.execute(statement)
                    self.trigram_index = True
                except psycopg.Error as e:  # no pg_trgm (or no right to create it): search scans
                    log.warning("call search without a trigram index", extra={"error": str(e)})
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _run(self, work: Callable[[psycopg.Connection[Any]], _T], *, transaction: bool = False,
             retry: bool = True) -> _T:
        """``work`` on the connection (in one transaction if asked); when the server had dropped the
        connection (a restart, an idle timeout), once more on a new one if ``work`` may run twice."""
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    if not transaction:
                        return work(conn)
                    with conn.transaction():
                        return work(conn)
                except psycopg.OperationalError:
                    if attempt == 2 or not retry or not conn.broken:
                        raise
                    log.warning("call store: the connection to PostgreSQL was lost; connecting again")
        raise AssertionError("unreachable")

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

    def mark_interrupted(self, worker: str | None) -> int:
        """Calls that a dead worker (or any worker, for None) left `live` are marked interrupted;
        the segments they saved stay."""
        return self._run(lambda conn: conn.execute(
            "UPDATE calls SET status = %s, data = data || jsonb_build_object('status', %s::text, 'end_reason', "
            "COALESCE(NULLIF(data->>'end_reason', ''), 'worker_died')) "
            "WHERE status = 'live' AND (%s::text IS NULL OR data->'worker' = to_jsonb(%s::text))",
            (str(CallStatus.INTERRUPTED), str(CallStatus.INTERRUPTED), worker, worker)).rowcount)

    def awaiting_post_transcript(self, limit: int) -> list[str]:
        """Finished calls with a recording and no post-call transcript yet, oldest first."""
        rows = self._run(lambda conn: conn.execute(
            "SELECT id FROM calls WHERE status IN ('completed', 'interrupted') "
            "AND COALESCE(jsonb_typeof(data->'post_transcript'), 'null') = 'null' "
            "AND COALESCE(jsonb_typeof(data#>'{recordings,caller}'), 'null') <> 'null' "
            "ORDER BY started_at LIMIT %s", (limit,)).fetchall())
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
        # not again after a lost connection: the first try may have been committed
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
            args.append(_like(phrase, prefix))
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
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _copy(value: Any) -> Any:
    """A value as stored (JSON), so a later change to the caller's object is not written through."""
    return json.loads(_dumps(value))
