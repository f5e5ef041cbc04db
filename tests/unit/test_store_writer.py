"""Call records written behind the media loop: `save` returns while another process holds the
database's write lock, the record reaches the disk once the lock is released, and nothing waiting
is lost at shutdown."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from hotline.center.records import CallRecord, Segment
from hotline.center.store import SqliteCallStore
from hotline.center.store_writer import WriteBehindStore


def record(call_id: str = "c1") -> CallRecord:
    return CallRecord(id=call_id, sip_call_id="x", from_uri="sip:a@b", to_uri="sip:h@b", worker="w1")


async def test_a_save_does_not_wait_for_a_database_locked_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    store = WriteBehindStore(SqliteCallStore(path))
    rec = record()
    store.save(rec)
    await store.settled(rec.id)
    assert store.get(rec.id) is not None
    other = sqlite3.connect(str(path), isolation_level=None)  # another process's connection, as the app's
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        for i in range(5):  # every save returns while the lock is held
            rec.transcript.append(Segment("caller", f"words {i}", i * 1000, i * 1000 + 900, "moonshine"))
            store.save(rec)
        settled = asyncio.ensure_future(store.settled(rec.id))
        await asyncio.sleep(0.3)
        assert not settled.done()  # not on disk yet: the writer waits for the lock, the caller does not
        reader = SqliteCallStore(path)  # the app's view (WAL: reads go on while a write waits)
        assert len(reader.get(rec.id)["transcript"]) == 0  # type: ignore[index]
        reader.close()
    finally:
        other.execute("COMMIT")
        other.close()
    await asyncio.wait_for(settled, 15.0)
    stored = store.get(rec.id)
    assert stored is not None and [s["text"] for s in stored["transcript"]] == [f"words {i}" for i in range(5)]
    assert store.written <= 3  # the five waiting snapshots of one call were written as the newest one
    store.close()


async def test_close_writes_everything_still_waiting(tmp_path: Path) -> None:
    path = tmp_path / "calls.db"
    store = WriteBehindStore(SqliteCallStore(path))
    records = [record(f"c{i}") for i in range(20)]
    for rec in records:
        rec.status = "completed"
        store.save(rec)
    store.close()
    reread = SqliteCallStore(path)
    assert all((reread.get(r.id) or {}).get("status") == "completed" for r in records)
    reread.close()
