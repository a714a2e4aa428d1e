import asyncio
import threading
import time

import pytest

from rescap.serve.batcher import DynamicBatcher, QueueFull


def run(coro):
    return asyncio.run(coro)


def test_concurrent_items_share_batches_and_each_gets_its_own_result():
    calls = []

    def work(key, items):
        calls.append((key, list(items)))
        time.sleep(0.02)
        return [f"{key}:{i}" for i in items]

    async def main():
        b = DynamicBatcher(work, max_batch=4, max_wait_s=0.05)
        b.start()
        out = await asyncio.gather(*(b.submit("a" if i % 3 else "b", i) for i in range(12)))
        await b.close()
        return out

    out = run(main())
    assert out == [f"{'a' if i % 3 else 'b'}:{i}" for i in range(12)]
    assert all(len(items) <= 4 for _, items in calls)
    assert all(all((("a" if i % 3 else "b") == key) for i in items) for key, items in calls)  # keys never mix
    assert max(len(items) for _, items in calls) > 1


def test_a_lone_item_goes_after_max_wait_and_a_failing_call_fails_its_batch_only():
    def work(key, items):
        if key == "bad":
            raise ValueError("model fell over")
        return items

    async def main():
        b = DynamicBatcher(work, max_batch=8, max_wait_s=0.01)
        b.start()
        start = time.perf_counter()
        assert await b.submit("ok", 1) == 1
        lone = time.perf_counter() - start
        with pytest.raises(ValueError, match="fell over"):
            await b.submit("bad", 2)
        assert await b.submit("ok", 3) == 3  # the batcher goes on
        await b.close()
        return lone

    assert run(main()) < 1.0


def test_full_queue_refuses_at_once():
    release = threading.Event()

    def work(key, items):
        release.wait(5)
        return items

    async def main():
        b = DynamicBatcher(work, max_batch=1, max_wait_s=0.0, max_queue=2)
        b.start()
        first = asyncio.ensure_future(b.submit("k", 0))
        await asyncio.sleep(0.05)  # the first is running; two more fill the queue
        waiting = [asyncio.ensure_future(b.submit("k", i)) for i in (1, 2)]
        await asyncio.sleep(0.01)
        with pytest.raises(QueueFull):
            await b.submit("k", 3)
        release.set()
        done = await asyncio.gather(first, *waiting)
        await b.close()
        return done

    assert run(main()) == [0, 1, 2]


def test_a_batch_waits_for_items_still_being_prepared():
    sizes = []

    def work(key, items):
        sizes.append(len(items))
        return items

    async def client(b, i):
        with b.incoming("k"):
            await asyncio.sleep(0.05 + 0.01 * i)  # decoding and measuring, slower than max_wait
        return await b.submit("k", i)

    async def main():
        b = DynamicBatcher(work, max_batch=8, max_wait_s=0.005, max_gather_s=1.0)
        b.start()
        out = await asyncio.gather(*(client(b, i) for i in range(6)))
        await b.close()
        return out

    assert run(main()) == list(range(6))
    assert sizes == [6]
