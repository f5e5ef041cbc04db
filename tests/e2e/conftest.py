from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, _tools_present: None) -> Iterator[ServerProcess]:
    """One `hotline serve` (6 workers = 24 calls, embedded Redis, Kamailio edge) for the e2e tests."""
    proc = ServerProcess(tmp_path_factory.mktemp("serve"), workers=6).start()
    yield proc
    code = proc.stop()
    assert code == 0, proc.tail()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
