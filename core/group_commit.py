"""Group commit for append-only files written from the event loop.

Every fsynced append costs a thread hop and an fsync. Items whose writes arrive while
one group is being written go out as the next group: one call of `write_group` in a
worker thread, so one hop and (when it appends them as one `append_whole`) one fsync.
Each caller returns only once its own item's group was written, so nothing counts as
durable before it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from storyloom.core.tasks import detached_task

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`await commit(item)` queues `item`; `write_group(items)` runs in a worker thread
    with every item queued meanwhile and returns one result per item, in order. If it
    raises, every caller of that group gets the error (the group was not written)."""

    def __init__(self, write_group: Callable[[list[Item]], list[Result]]) -> None:
        self._write_group = write_group
        self._queued: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Future[None] | None = None

    async def __call__(self, item: Item) -> Result:
        done: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queued.append((item, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = detached_task(self._flush())
        return await done

    async def _flush(self) -> None:
        while self._queued:
            group, self._queued = self._queued, []
            try:
                results = await asyncio.to_thread(self._write_group, [item for item, _ in group])
            except BaseException as error:
                for _, done in group:
                    if not done.done():
                        done.set_exception(error)
                if isinstance(error, asyncio.CancelledError):
                    raise
                continue
            for (_, done), result in zip(group, results, strict=True):
                if not done.done():
                    done.set_result(result)
