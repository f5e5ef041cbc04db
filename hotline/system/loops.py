"""One supervised loop for every background service (the ACD, the event reader, the desk's requests,
reminders, the post-call transcriber...), instead of a hand-written `while True` in each.

A service's `step` is run again and again for as long as its task lives. A transient failure
(Redis or the network away: `TRANSIENT`, or a `HotlineError` that is `retryable`) is logged once
per outage, not once per try, and retried after `retry_s`; when a step succeeds again that is
logged too. Any other exception is a bug or a bad item: it is logged with its traceback and the
loop goes on, because one bad queue entry must not stop a service for every caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

from redis.exceptions import RedisError

from hotline.system.errors import HotlineError

TRANSIENT: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

log = logging.getLogger(__name__)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT) or (isinstance(exc, HotlineError) and exc.retryable)


async def supervised(step: Callable[[], Awaitable[object]], *, name: str, every_s: float = 0.0,
                     retry_s: float = 1.0) -> NoReturn:
    """Run `step` forever, `every_s` apart (0: at once again, for a step that blocks on its own)."""
    outage = False
    while True:
        try:
            await step()
        except Exception as exc:  # noqa: BLE001 (the service outlives one failure; CancelledError passes)
            if is_transient(exc):
                if not outage:
                    log.warning("service unavailable, retrying", extra={"service": name, "error": type(exc).__name__})
                    outage = True
                await asyncio.sleep(retry_s)
                continue
            log.exception("service step failed", extra={"service": name})
        else:
            if outage:
                log.info("service available again", extra={"service": name})
                outage = False
        await asyncio.sleep(every_s)
