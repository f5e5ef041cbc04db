"""Where a node keeps call records (with their QA reviews) and tickets: SQLite files in its data
directory (one machine, the default) or the PostgreSQL of `Settings.database`, shared by every node
of one hotline. The one place that chooses."""

from __future__ import annotations

from hotline.center.settings import Settings
from hotline.center.store import CallStoreBackend, SqliteCallStore
from hotline.center.tickets import SqliteTicketStore, TicketStore


def open_call_store(settings: Settings) -> CallStoreBackend:
    if settings.database is None:
        return SqliteCallStore(settings.data / "calls.db")
    from hotline.center.pg_store import PostgresCallStore  # psycopg only where PostgreSQL is used

    return PostgresCallStore(settings.database)


def open_ticket_store(settings: Settings) -> TicketStore:
    if settings.database is None:
        return SqliteTicketStore(settings.data / "tickets.db")
    from hotline.center.pg_tickets import PostgresTicketStore

    return PostgresTicketStore(settings.database)


def check_database(settings: Settings, connect_timeout: float = 5.0) -> str | None:
    """Why the configured PostgreSQL cannot be used (for start-up to stop with it), or None when it
    can, or when there is none (SQLite)."""
    if settings.database is None:
        return None
    from hotline.center.pg_db import unreachable

    problem = unreachable(settings.database, connect_timeout)
    return None if problem is None else f"database {_without_password(settings.database)}: {problem}"


def _without_password(url: str) -> str:
    """The URL as it may be logged: a password in it is replaced by ***."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, has_password, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if has_password else ''}@{host}"
