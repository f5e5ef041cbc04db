"""Fixtures of the unit tests: `call_store` (SQLite, then a real PostgreSQL) for the store's behaviour."""

from tests.support.postgres import call_store, postgres_server, store_backend

__all__ = ["call_store", "postgres_server", "store_backend"]
