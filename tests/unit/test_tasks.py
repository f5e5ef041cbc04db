"""Background tasks with an owner: held while they run, forgotten when done, cancelled at close."""

from __future__ import annotations

import asyncio

from hotline.system.tasks import TaskGroupOwner


async def test_an_owner_holds_its_tasks_until_they_end_and_cancels_the_rest() -> None:
    owner = TaskGroupOwner()
    quick_done = asyncio.Event()

    async def quick() -> None:
        quick_done.set()

    async def forever() -> None:
        await asyncio.Event().wait()

    owner.spawn(quick(), name="quick")
    slow = owner.spawn(forever(), name="forever")
    await asyncio.wait_for(quick_done.wait(), 1.0)
    await asyncio.sleep(0)  # the done callback runs
    assert owner.tasks == {slow}  # the finished one is no longer held: the set does not grow
    await owner.close(timeout=1.0)
    assert slow.cancelled() and not owner.tasks
