"""Background tasks with an owner.

The event loop keeps only a weak reference to a task: one nobody holds can be collected before it
ends, and one nobody cancels outlives what it worked for. A `TaskGroupOwner` holds each task it
started until the task ends (the set shrinks by itself), and cancels whatever is left when its owner
closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class TaskGroupOwner:
    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.own(task)
        return task

    def own(self, task: asyncio.Task[Any]) -> None:
        """Hold a task started elsewhere."""
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self, timeout: float = 5.0) -> None:
        """Cancel the tasks still running and wait for them (at most `timeout` seconds)."""
        left = [t for t in self.tasks if not t.done()]
        for task in left:
            task.cancel()
        if left:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*left, return_exceptions=True), timeout)
