"""The one supervised loop of the background services: transient failures are retried and logged
once per outage, other failures logged and survived, cancellation ends it."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from hotline.system.errors import HotlineError
from hotline.system.loops import is_transient, supervised


class Busy(HotlineError):
    retryable = True


async def test_transient_failures_are_retried_and_logged_once_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[BaseException | None] = [RedisConnectionError(), OSError(), None, ValueError("bad item"), None]
    done = asyncio.Event()
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1
        outcome = outcomes.pop(0) if outcomes else None
        if not outcomes:
            done.set()
        if outcome is not None:
            raise outcome

    caplog.set_level(logging.INFO, logger="hotline.system.loops")
    task = asyncio.create_task(supervised(step, name="test", retry_s=0.01))
    await asyncio.wait_for(done.wait(), 2.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["service unavailable, retrying", "service available again", "service step failed"]
    assert calls >= 5  # the bug in one step did not stop the loop


def test_what_counts_as_transient() -> None:
    assert is_transient(RedisConnectionError()) and is_transient(TimeoutError()) and is_transient(Busy())
    assert not is_transient(ValueError()) and not is_transient(HotlineError())
