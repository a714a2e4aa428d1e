"""Dynamic batching: concurrent requests gathered into one batched call.

Requests that share a key (the captioner they need) wait up to ``max_wait_s`` after the first of
them, or until ``max_batch`` are there, and then go to ``run(key, items)`` together, on one worker
thread (the VLM serves one batch at a time; batching, not threads, is what makes it fast). A
full queue refuses at once (``QueueFull``), so an overloaded server answers 429 instead of
letting every client time out.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable


class QueueFull(Exception):
    """The batcher holds ``max_queue`` items already."""


@dataclass
class _Job:
    key: Hashable
    item: Any
    future: asyncio.Future
    enqueued: float = field(default=0.0)


class DynamicBatcher:
    """``await batcher.submit(key, item)`` returns ``run(key, [..., item, ...])``'s result for ``item``.

    Example:
        >>> import asyncio
        >>> async def demo():
        ...     batcher = DynamicBatcher(lambda key, items: [i * 2 for i in items], max_batch=4, max_wait_s=0.01)
        ...     batcher.start()
        ...     out = await asyncio.gather(*(batcher.submit("k", i) for i in range(3)))
        ...     await batcher.close()
        ...     return out, batcher.batch_sizes
        >>> asyncio.run(demo())
        ([0, 2, 4], [3])
    """

    def __init__(
        self,
        run: Callable[[Hashable, list], list],
        max_batch: int = 8,
        max_wait_s: float = 0.01,
        max_queue: int = 256,
        on_batch: Callable[[int], None] | None = None,
        max_gather_s: float = 2.0,
        on_seconds: Callable[[float], None] | None = None,
    ):
        self.run = run
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue
        self.on_batch = on_batch
        self.on_seconds = on_seconds
        self.max_gather_s = max(max_gather_s, max_wait_s)
        self.batch_sizes: list[int] = []
        self._incoming: Counter = Counter()
        self._pending: list[_Job] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rescap-batch")
        self._busy = False

    @contextmanager
    def incoming(self, key: Hashable):
        """Around the work that precedes ``submit`` (decoding, measuring): a batch for ``key`` that
        is not full waits for it."""
        self._incoming[key] += 1
        try:
            yield
        finally:
            self._incoming[key] -= 1
            if self._wake is not None:
                self._wake.set()

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def submit(self, key: Hashable, item: Any) -> Any:
        if self._task is None or self._task.done():
            raise RuntimeError("the batcher is not running")
        if len(self._pending) >= self.max_queue:
            raise QueueFull(f"{len(self._pending)} images are waiting already")
        loop = asyncio.get_running_loop()
        job = _Job(key, item, loop.create_future(), loop.time())
        self._pending.append(job)
        self._wake.set()
        return await job.future

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._pending = [j for j in self._pending if not j.future.done()]  # callers that gave up
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            first = self._pending[0]
            deadline = first.enqueued + self.max_wait_s
            gather_end = first.enqueued + self.max_gather_s
            while (ready := sum(j.key == first.key for j in self._pending)) < self.max_batch:
                now = loop.time()
                coming = self._incoming[first.key] > 0 and ready + self._incoming[first.key] > 1
                remaining = (gather_end if coming else deadline) - now
                if remaining <= 0:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            batch = [j for j in self._pending if j.key == first.key and not j.future.done()][: self.max_batch]
            taken = {id(j) for j in batch}
            self._pending = [j for j in self._pending if id(j) not in taken]
            if not batch:
                continue
            self.batch_sizes.append(len(batch))
            if self.on_batch:
                self.on_batch(len(batch))
            self._busy = True
            started = loop.time()
            try:
                results = await loop.run_in_executor(self._executor, self.run, first.key, [j.item for j in batch])
                if self.on_seconds:
                    self.on_seconds(loop.time() - started)
                if len(results) != len(batch):
                    raise RuntimeError(f"the batch gave {len(results)} results for {len(batch)} items")
            except Exception as exc:  # the whole call failed: every request of the batch gets the error
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
            else:
                for job, result in zip(batch, results):
                    if not job.future.done():
                        job.future.set_result(result)
            finally:
                self._busy = False

    async def drain(self, timeout_s: float) -> None:
        """Wait (up to ``timeout_s``) until every submitted item has its result."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        while (self._pending or self._busy) and loop.time() < end:
            await asyncio.sleep(0.02)

    async def close(self, timeout_s: float = 30.0) -> None:
        await self.drain(timeout_s)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for job in self._pending:
            if not job.future.done():
                job.future.set_exception(RuntimeError("the server is shutting down"))
        self._executor.shutdown(wait=False, cancel_futures=True)
