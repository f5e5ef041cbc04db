"""Stopping a partial decode when a final needs its decoder.

A decode cannot be interrupted from outside (onnxruntime runs it), but Moonshine's greedy decoder
is a loop of small steps (one token, a few milliseconds each): the scheduler runs a partial inside
`preemptible(check)` and the decoder calls `checkpoint()` between steps, which raises `Preempted`
once `check()` is true (a final is waiting). The partial is then dropped like a late one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local = threading.local()


class Preempted(Exception):
    """The decode was given up for more urgent work."""


@contextmanager
def preemptible(check: Callable[[], bool]) -> Iterator[None]:
    """Within this block (on this thread), `checkpoint()` raises `Preempted` once `check()` is true."""
    previous = getattr(_local, "check", None)
    _local.check = check
    try:
        yield
    finally:
        _local.check = previous


def checkpoint() -> None:
    check: Callable[[], bool] | None = getattr(_local, "check", None)
    if check is not None and check():
        raise Preempted()
