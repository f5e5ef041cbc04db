"""Real external tools the end-to-end tests drive. A missing tool fails the test loudly: the
setup (`make test`) installs all of them, so a missing one is a setup bug, never a skip."""

from __future__ import annotations

import shutil
import socket

import pytest


def require(tool: str) -> str:
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if shutil.os.path.exists(f"/usr/sbin/{tool}") else None)
    if path is None:
        pytest.fail(f"required tool {tool!r} is not installed: run `make test` (it installs it) or apt-get install it")
    return path


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_block(size: int, kind: int = socket.SOCK_DGRAM, start: int = 30000, end: int = 60000) -> int:
    """First port of `size` consecutive free ports."""
    import random

    for _ in range(200):
        base = random.randrange(start, end - size)
        ok = True
        for port in range(base, base + size):
            with socket.socket(socket.AF_INET, kind) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")
