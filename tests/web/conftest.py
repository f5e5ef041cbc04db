"""Fixtures shared by the HTTP tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.center.redis_server import EmbeddedRedis


@pytest.fixture
def redis_url(tmp_path: Path, _tools_present: None) -> Iterator[str]:
    """A redis-server for the tests that run the app in TestClient's own event loop."""
    server, loop = EmbeddedRedis(tmp_path), asyncio.new_event_loop()
    loop.run_until_complete(server.start())
    yield server.url
    loop.run_until_complete(server.stop())
    loop.close()
