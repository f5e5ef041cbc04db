"""A real PostgreSQL server for the store tests, and the `call_store` and `ticket_store` fixtures over
both backends.

The session starts one throwaway server (Debian's `postgresql`, 15: `initdb` and `pg_ctl`, found
on PATH or under /usr/lib/postgresql/*/bin) on a free loopback port, without fsync; each test gets a
database of its own. initdb refuses to run as root, so as root the cluster belongs to the
`postgres` user (`runuser`); otherwise it belongs to whoever runs the tests. A missing tool fails
the tests with what to install: never a skip.

tests/unit/conftest.py makes the fixtures available to the unit tests.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.tools import free_port

_DB_NAMES = itertools.count(1)


def pg_tool(name: str) -> str:
    """Path of a PostgreSQL server program, the newest version installed."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    path = found[-1] if found else shutil.which(name)
    if path is None:
        pytest.fail(f"PostgreSQL's {name!r} is not installed: run `make test` (it installs Debian's "
                    "`postgresql`) or apt-get install postgresql")
    return path


@dataclass
class PostgresServer:
    root: Path
    port: int
    user: str = "hotline"
    _as: list[str] = field(default_factory=list)  # the command prefix that runs as the cluster's owner

    @property
    def data(self) -> Path:
        return self.root / "data"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={dbname} connect_timeout=10"

    def _run(self, *argv: str, timeout: float = 60) -> None:
        done = subprocess.run([*self._as, *argv], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{tail}")

    @classmethod
    def start(cls) -> PostgresServer:
        initdb, pg_ctl = pg_tool("initdb"), pg_tool("pg_ctl")
        root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        server = cls(root, free_port())
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to `postgres`
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root and there is no `postgres` user: apt-get install postgresql")
            runuser = shutil.which("runuser") or pytest.fail("running as root and `runuser` is missing")
            os.chown(root, owner.pw_uid, owner.pw_gid)
            server._as = [runuser, "-u", "postgres", "--"]
        server._run(initdb, "-D", str(server.data), "-A", "trust", "-U", server.user, "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-sync")
        server._run(pg_ctl, "-D", str(server.data), "-l", str(root / "server.log"), "-w", "-t", "60", "-o",
                    f"-p {server.port} -k {server.data} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off", "start")
        return server

    def stop(self) -> None:
        try:
            self._run(pg_tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(_DB_NAMES)}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a generated name, not a value
        return name

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class StoreBackend:
    """One store's storage; `open()` gives another connection to it (another process's, say)."""

    name: str
    open: Callable[[], Any]


def _backend(request: pytest.FixtureRequest, sqlite: Callable[[], Any],
             postgres: Callable[[str], Any]) -> Iterator[StoreBackend]:
    """A store's backend for the fixture's parameter: ``sqlite()`` opens the SQLite store,
    ``postgres(dsn)`` the PostgreSQL one on a database of the test's own."""
    opened: list[Any] = []

    def opener(factory: Callable[[], Any]) -> Callable[[], Any]:
        def open_store() -> Any:
            store = factory()
            opened.append(store)
            return store
        return open_store

    if request.param == "sqlite":
        yield StoreBackend("sqlite", opener(sqlite))
        for store in opened:
            store.close()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    dbname = server.create_database()
    try:
        yield StoreBackend("postgres", opener(lambda: postgres(server.dsn(dbname))))
    finally:
        for store in opened:
            store.close()
        server.drop_database(dbname)


@pytest.fixture(params=["sqlite", "postgres"])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreBackend]:
    from hotline.center.pg_store import PostgresCallStore
    from hotline.center.store import SqliteCallStore

    yield from _backend(request, lambda: SqliteCallStore(tmp_path / "calls.db"), PostgresCallStore)


@pytest.fixture
def call_store(store_backend: StoreBackend) -> Any:
    """A fresh, empty call store: SQLite, then PostgreSQL."""
    return store_backend.open()


@pytest.fixture(params=["sqlite", "postgres"])
def ticket_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreBackend]:
    from hotline.center.pg_tickets import PostgresTicketStore
    from hotline.center.tickets import SqliteTicketStore

    yield from _backend(request, lambda: SqliteTicketStore(tmp_path / "data" / "tickets.db"), PostgresTicketStore)


@pytest.fixture
def ticket_store(ticket_backend: StoreBackend) -> Any:
    """A fresh, empty ticket store: SQLite, then PostgreSQL."""
    return ticket_backend.open()
