"""One PostgreSQL connection (psycopg 3) the way the networked stores use it: shared by threads one at
a time, the schema created on first use, and opened again when the server dropped it (a restart,
an idle timeout)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

log = logging.getLogger(__name__)
_T = TypeVar("_T")

SCHEMA_LOCK = 0x686F746C  # advisory lock key: two processes creating a schema at once wait in turn


def unreachable(dsn: str, connect_timeout: float = 5.0) -> str | None:
    """Why the PostgreSQL server at ``dsn`` cannot be used, or None when a connection works."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, int(connect_timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as e:
        return str(e).strip() or type(e).__name__
    return None


class PgConnection:
    """A connection opened on first use (and again after the server dropped it); ``setup`` creates
    the schema on each new connection, under an advisory lock, in one transaction."""

    def __init__(self, dsn: str, setup: Callable[[psycopg.Connection[Any]], None], name: str,
                 connect_timeout: float = 10.0) -> None:
        self._dsn = dsn
        self._setup = setup
        self._name = name
        self._timeout = connect_timeout
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        with self._lock:
            self._connection()

    def _connection(self) -> psycopg.Connection[Any]:
        """The open connection (the caller holds the lock)."""
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=max(1, int(self._timeout)))
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                self._setup(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def run(self, work: Callable[[psycopg.Connection[Any]], _T], *, transaction: bool = False,
            retry: bool = True) -> _T:
        """``work`` on the connection (in one transaction if asked). When the server had dropped the
        connection it runs once more on a new one: always when the transaction failed before its
        COMMIT (nothing was written), otherwise only if ``work`` may run twice (``retry``)."""
        with self._lock:
            for attempt in (1, 2):
                conn = self._connection()
                committing = False
                try:
                    if not transaction:
                        return work(conn)
                    with conn.transaction():
                        result = work(conn)
                        committing = True
                    return result
                except psycopg.OperationalError:
                    may_repeat = retry or (transaction and not committing)
                    if attempt == 2 or not may_repeat or not conn.broken:
                        raise
                    log.warning("the connection to PostgreSQL was lost; connecting again",
                                extra={"store": self._name})
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
