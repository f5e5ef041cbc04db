"""Call records written behind the media loop: a worker's saves go to one writer thread.

A save rewrites the record in one SQLite transaction that takes the database's write lock, shared
by every process of the node (the app writes wrap-ups, suggestions and post-call transcripts into
the same file). Done on a worker's event loop, a lock held elsewhere stopped that loop, and with it
every call's frames, for as long as it was held. Here `save` takes a snapshot of the record and
returns at once; the writer thread writes snapshots in order, and when a call has several waiting
only the newest (each is the whole record). `settled(call_id)` waits until the call's saves so
far are on disk: the session awaits it before it announces the end of the call, so whoever reads
the record on that event reads the final one. `close` writes everything still waiting.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any

from hotline.center.records import CallRecord
from hotline.center.store import CallStoreBackend
from hotline.qa.search import CallQuery

log = logging.getLogger(__name__)

RETRY_S = 0.5  # a write that failed (the database is locked beyond its busy timeout) is tried again


class WriteBehindStore:
    """A `CallStore` whose `save` never blocks; reads go straight to the database."""

    def __init__(self, store: CallStoreBackend) -> None:
        self.store = store
        self._cond = threading.Condition()
        self._order: deque[str] = deque()  # call ids with a snapshot waiting, oldest first
        self._waiting: dict[str, tuple[float, str, dict[str, Any], list[Future[None]]]] = {}
        self._writing: tuple[str, list[Future[None]]] | None = None  # the snapshot being written
        self._closed = False
        self.written = 0
        self.retries = 0
        self._thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
        self._thread.start()

    def save(self, record: CallRecord) -> None:
        self._enqueue(record.id, record.started_at, record.status, record.to_dict())

    def _enqueue(self, call_id: str, started_at: float, status: str, fields: dict[str, Any]) -> Future[None]:
        done: Future[None] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("record writer closed")
            previous = self._waiting.get(call_id)
            if previous is None:
                self._order.append(call_id)
                self._waiting[call_id] = (started_at, status, fields, [done])
            else:  # the newer snapshot replaces the one not written yet
                self._waiting[call_id] = (started_at, status, fields, [*previous[3], done])
            self._cond.notify()
        return done

    async def settled(self, call_id: str) -> None:
        with self._cond:
            waiting = self._waiting.get(call_id)
            futures = list(waiting[3]) if waiting is not None else []
            if self._writing is not None and self._writing[0] == call_id:
                futures += self._writing[1]
        for future in futures:
            await asyncio.wrap_future(future)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._order and not self._closed:
                    self._cond.wait()
                if not self._order:
                    return  # closed and drained
                call_id = self._order.popleft()
                started_at, status, fields, futures = self._waiting.pop(call_id)
                self._writing = (call_id, futures)
            while True:
                try:
                    self.store.save_fields(call_id, started_at, status, fields)
                    break
                except Exception:  # noqa: BLE001 (locked or full disk: a finished record must not be lost)
                    self.retries += 1
                    log.exception("call record write failed, trying again", extra={"call": call_id})
                    time.sleep(RETRY_S)
            with self._cond:
                self._writing = None
                self.written += 1
            for future in futures:
                future.set_result(None)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is waiting, then stop the thread and close the database."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("call records still unwritten at shutdown", extra={"calls": len(self._waiting)})
        self.store.close()

    # reads and the app's writes are not the media loop's (a worker reads only at start-up):
    # straight to the database, on the writer's connection (so they wait for a write in progress)
    def get(self, call_id: str) -> dict[str, Any] | None:
        return self.store.get(call_id)

    def recent(self, limit: int) -> list[dict[str, Any]]:
        return self.store.recent(limit)

    def mark_interrupted(self, worker: str | None, node: str | None = None) -> int:
        return self.store.mark_interrupted(worker, node)

    def awaiting_post_transcript(self, limit: int, node: str | None = None) -> list[str]:
        return self.store.awaiting_post_transcript(limit, node)

    def set_post_transcript(self, call_id: str, post: dict[str, Any]) -> None:
        self.store.set_post_transcript(call_id, post)

    def annotate(self, call_id: str, key: str, value: Any) -> None:
        self.store.annotate(call_id, key, value)

    def set_paths(self, call_id: str, values: dict[str, Any]) -> bool:
        return self.store.set_paths(call_id, values)

    def append(self, call_id: str, path: str, item: Any) -> bool:
        return self.store.append(call_id, path, item)

    def between(self, since: float, until: float, with_field: str | None = None) -> list[dict[str, Any]]:
        return self.store.between(since, until, with_field)

    def search(self, query: CallQuery) -> list[dict[str, Any]]:
        return self.store.search(query)
