"""Fixtures shared by the HTTP tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hotline.center.redis_server import EmbeddedRedis


@pytest.fixture
async def redis_server(tmp_path: Path, _tools_present: None) -> AsyncIterator[EmbeddedRedis]:
    """A real redis-server of the test's own (embedded: a unix socket in the test's directory)."""
    server = EmbeddedRedis(tmp_path)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def redis_url(tmp_path: Path, _tools_present: None) -> Iterator[str]:
    """A redis-server for the tests that run the app in TestClient's own event loop."""
    server, loop = EmbeddedRedis(tmp_path), asyncio.new_event_loop()
    loop.run_until_complete(server.start())
    yield server.url
    loop.run_until_complete(server.stop())
    loop.close()
