"""One ordered writer task: database writes leave the hot path but keep their order.

The dialer's event pump and the ACD must never wait for the disk (a person is promised an agent
within 2 seconds), yet the update of a call must never overtake its insert. Jobs queued here run
one at a time, in order, on a task of their own; ``flush`` waits for everything queued so far.
A failed job is logged and the ones after it still run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class OrderedWriter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.failures = 0
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def put(self, job: Job) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name=f"{self.name}-writer")
        self._queue.put_nowait(job)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def flush(self) -> None:
        if self._task is not None:
            await self._queue.join()

    async def close(self) -> None:
        """Write what is queued, then stop the task."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _loop(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await job()
            except Exception:  # one failed write must not stop the ones after it
                self.failures += 1
                log.exception("%s: write failed", self.name)
            finally:
                self._queue.task_done()
