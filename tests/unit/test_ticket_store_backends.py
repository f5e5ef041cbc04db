"""Tickets shared by several nodes: concurrent changes and reminders on one database (SQLite, then a
real PostgreSQL), the PostgreSQL store across dropped connections, and choosing the stores from the
settings (`hotline.center.stores`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from hotline.center.pg_store import PostgresCallStore
from hotline.center.pg_tickets import PostgresTicketStore
from hotline.center.settings import Settings
from hotline.center.store import SqliteCallStore
from hotline.center.stores import check_database, open_call_store, open_ticket_store
from hotline.center.tickets import SqliteTicketStore, Ticket, TicketStore
from tests.support.postgres import PostgresServer, StoreBackend
from tests.support.tools import free_port


def in_threads(stores: list[TicketStore], work: Callable[[TicketStore, int], None], count: int = 4) -> None:
    """``work(store, n)`` in ``count`` threads at once, spread over ``stores``; any error fails."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            start.wait()
            work(stores[n % len(stores)], n)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors


def test_concurrent_changes_from_two_nodes_lose_nothing(ticket_backend: StoreBackend) -> None:
    stores = [ticket_backend.open(), ticket_backend.open()]
    ref = stores[0].create("damage").ref

    def notes(store: TicketStore, n: int) -> None:
        for i in range(20):
            store.update(ref, f"agent-{n}", note=f"{n}:{i}")

    in_threads(stores, notes)
    history = stores[1].get(ref).history  # type: ignore[union-attr]
    written = [h["note"] for h in history if "note" in h]
    assert len(written) == 80
    for n in range(4):
        assert [w for w in written if w.startswith(f"{n}:")] == [f"{n}:{i}" for i in range(20)]  # in order


def test_each_overdue_ticket_is_reminded_by_one_node(ticket_backend: StoreBackend) -> None:
    stores = [ticket_backend.open(), ticket_backend.open()]
    now = time.time()
    late = {stores[0].create("damage", due_at=now - 100 + i).ref for i in range(30)}
    stores[1].create("damage", due_at=now + 3600)
    reminded: list[Ticket] = []
    lock = threading.Lock()

    def remind(store: TicketStore, n: int) -> None:
        for _ in range(5):
            got = store.due_for_reminder(now)
            with lock:
                reminded.extend(got)

    in_threads(stores, remind)
    assert sorted(t.ref for t in reminded) == sorted(late)  # every one, once
    assert all(t.reminded_at == now for t in reminded)
    assert [t.ref for t in stores[0].due_for_reminder(now)] == []


def test_postgres_tickets_after_the_server_dropped_the_connection(postgres_server: PostgresServer) -> None:
    import psycopg

    dbname = postgres_server.create_database()
    store = PostgresTicketStore(postgres_server.dsn(dbname))

    def drop_connections() -> None:
        with psycopg.connect(postgres_server.dsn(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))

    try:
        first = store.create("damage", fields={"photo": "是"}, due_at=time.time() - 1)
        drop_connections()
        assert store.get(first.ref) == first  # a read on a new connection
        drop_connections()
        second = store.create("callback")  # a write that failed before its COMMIT: tried again
        assert second.ref == "100002"
        drop_connections()
        assert store.update(first.ref, "alice", status="in_progress", note="on it").status == "in_progress"
        drop_connections()
        assert [t.ref for t in store.due_for_reminder(time.time())] == [first.ref]
        drop_connections()
        assert [t.ref for t in store.list()] == [second.ref, first.ref]
        assert len(store.get(first.ref).history) == 3  # type: ignore[union-attr]  # each change once
    finally:
        store.close()
        postgres_server.drop_database(dbname)


def test_stores_from_the_settings(tmp_path: Path, postgres_server: PostgresServer) -> None:
    local = Settings(data=tmp_path / "data")
    calls, tickets = open_call_store(local), open_ticket_store(local)
    try:
        assert isinstance(calls, SqliteCallStore) and isinstance(tickets, SqliteTicketStore)
        assert (tmp_path / "data" / "calls.db").is_file() and tickets.path == tmp_path / "data" / "tickets.db"
        assert check_database(local) is None  # nothing to reach
    finally:
        calls.close()
        tickets.close()

    dbname = postgres_server.create_database()
    shared = Settings(data=tmp_path / "data", database=f"postgresql://hotline@127.0.0.1:{postgres_server.port}/{dbname}")
    calls, tickets = open_call_store(shared), open_ticket_store(shared)
    try:
        assert isinstance(calls, PostgresCallStore) and isinstance(tickets, PostgresTicketStore)
        assert tickets.create("other").ref == "100001"
        assert check_database(shared) is None
    finally:
        calls.close()
        tickets.close()
        postgres_server.drop_database(dbname)

    port = free_port()  # nothing listens there
    problem = check_database(Settings(database=f"postgresql://hotline:s3cret@127.0.0.1:{port}/x"), connect_timeout=2)
    assert problem is not None and "s3cret" not in problem
    assert problem.startswith(f"database postgresql://hotline:***@127.0.0.1:{port}/x: ")
