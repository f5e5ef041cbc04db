"""Fixtures of the unit tests: `call_store` and `ticket_store` (SQLite, then a real PostgreSQL) for
the stores' behaviour."""

from tests.support.postgres import call_store, postgres_server, store_backend, ticket_backend, ticket_store

__all__ = ["call_store", "postgres_server", "store_backend", "ticket_backend", "ticket_store"]
