"""Fixtures shared by the HTTP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
