"""The local re-captioning engine: plan what is left to do, then caption it in a pipeline.

Decoding and degradation estimation (``Captioner.prepare``) run in a thread pool, one batch ahead
of the VLM, so the model always gets full batches and never waits for image decoding; the
batch's records are written durably before the next batch is taken. Memory stays flat: only a
bounded window of prepared images is held.

Example:
    >>> from rescap.recaption.engine import parse_shard
    >>> parse_shard("3/8")
    (3, 8)
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from .._version import __version__
from ..captioning.bundle import CaptionFailure
from ..errors import one_line
from .sources import SourceItem, close_shards
from .writers import RecaptionRecord, RecordWriter


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"i/n"`` (0 <= i < n) -> (i, n)."""
    if not text:
        return None
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard takes i/n, e.g. 0/4, not {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {text}: need 0 <= i < n")
    return index, count


def in_shard(key: str, shard: tuple[int, int] | None) -> bool:
    """Stable assignment by a hash of the key: independent of order and of files added later."""
    return shard is None or zlib.crc32(key.encode("utf-8")) % shard[1] == shard[0]


@dataclass
class Plan:
    todo: Iterator[SourceItem]
    skipped: int = 0  # already done (or failed, without --retry-failed), counted as they stream by
    decide_seconds: float = 0.0  # time spent reading the existing records
    repeated: int = 0  # source entries repeating a key listed before: each key is captioned once


@dataclass
class Summary:
    done: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    decide_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # the first few, for the end-of-run message
    unreachable: int = 0  # images not captioned because the VLM server could not be reached (not recorded)
    unreachable_reason: str = ""
    unreachable_keys: list[str] = field(default_factory=list)  # the first few of them, named in the message
    stopped: bool = False  # the run stopped early: the server stayed unreachable
    left: int = 0  # images not attempted after the stop
    retries: int = 0  # requests to the captioning server sent again (server errors, rate limits, dropped connections)
    streak: int = 0  # images in a row the server could not be reached for

    def unreachable_batch(self, keys: list[str], reason: str, others: int, stop_after: int) -> bool:
        """Count a batch's images the server could not be reached for (``others``: the batch's
        other images); True when the server has now failed ``stop_after`` images in a row."""
        if keys:
            self.unreachable += len(keys)
            self.unreachable_reason = reason
            self.unreachable_keys += keys[: max(0, 5 - len(self.unreachable_keys))]
        self.streak = len(keys) if others else self.streak + len(keys)
        return self.streak >= stop_after

    @property
    def images_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def messages(self, target: Any = None, again: str = "run the same command again") -> list[tuple[str, str]]:
        """What a run says at its end, as (kind, text): ``summary``, then ``failed`` (the first few
        errors), ``note`` (retries) and ``unreachable`` (images left for a rerun). ``again``: how
        to resume, in the words of where the run was started (``rescap recaption``, the app)."""
        from ..backends.base import retried_note

        where = f" -> {target}" if target is not None else ""
        out = [("summary", f"done {self.done}, skipped {self.skipped} (already recorded), failed {self.failed}, "
                           f"{self.seconds:.1f} s ({self.images_per_second:.1f} img/s){where}; "
                           f"deciding what was done took {self.decide_seconds:.3f} s")]  # fmt: skip
        out += [("failed", line) for line in self.errors]
        if self.retries:
            out.append(("note", retried_note(self.retries)))
        if self.unreachable:
            what = (f"stopped: the captioning server stayed unreachable ({self.unreachable_reason}); " if self.stopped
                    else f"the captioning server could not be reached for some images ({self.unreachable_reason}); ")  # fmt: skip
            named = ", ".join(self.unreachable_keys) + (", ..." if self.unreachable > len(self.unreachable_keys) else "")
            out.append(("unreachable", f"{what}{self.unreachable} images not captioned and not recorded ({named})"
                        + (f", {self.left} not attempted" if self.stopped else "")
                        + f"; what is done is kept: {again} when the server is back to do the rest"))  # fmt: skip
        return out

    def count(self, records: list[RecaptionRecord]) -> None:
        """Add a written batch: done and failed, and the first few errors."""
        for record in records:
            if record.status == "ok":
                self.done += 1
            else:
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(f"{record.file}: {record.error}")


def plan(
    items: Iterable[SourceItem],
    writer: RecordWriter,
    *,
    retry_failed: bool = False,
    shard: tuple[int, int] | None = None,
    limit: int | None = None,
) -> Plan:
    """What is left: items of this shard with no record yet (and failed ones with ``retry_failed``)."""
    start = time.perf_counter()
    if retry_failed:
        writer.drop_failed()
    ok, failed = writer.done()
    skip = ok | failed
    decided = time.perf_counter() - start
    result = Plan(todo=iter(()), decide_seconds=decided)

    def todo() -> Iterator[SourceItem]:
        taken = 0
        seen: set[str] = set()  # keys only, as the done sets: a manifest listing one image twice gets one record
        for item in items:
            if not in_shard(item.key, shard):
                continue
            if item.key in skip:
                result.skipped += 1
                continue
            if item.key in seen:
                result.repeated += 1
                continue
            seen.add(item.key)
            if limit is not None and taken >= limit:
                return
            taken += 1
            yield item

    result.todo = todo()
    return result


def to_record(key: str, outcome: Any) -> RecaptionRecord:
    """A record from a ``PromptBundle`` or a ``CaptionFailure``."""
    if hasattr(outcome, "caption"):
        return RecaptionRecord(
            file=key, status="ok", caption=outcome.caption, positive_prompt=outcome.positive_prompt,
            negative_prompt=outcome.negative_prompt, restoration_prompt=outcome.restoration_prompt,
            degradation=outcome.degradation.model_dump(mode="json"), model=outcome.model,
            rescap_version=__version__, timings={k: round(v, 6) for k, v in outcome.timings.items()},
        )  # fmt: skip
    return RecaptionRecord(file=key, status="error", error=f"{outcome.stage}: {outcome.error}", rescap_version=__version__)


def run_local(
    todo: Iterable[SourceItem],
    writer: RecordWriter,
    captioner: Any,
    *,
    batch_size: int = 16,
    workers: int = 2,
    on_batch: Callable[[int], None] | None = None,
) -> Summary:
    """Caption ``todo`` in batches, preparing the next batch while the VLM runs on this one."""
    summary = Summary()
    start = time.perf_counter()
    window: deque = deque()
    source = iter(todo)
    stop_after = stop_after_for(batch_size)

    def submit_until(count: int) -> None:
        while len(window) < count:
            item = next(source, None)
            if item is None:
                return
            window.append((item.key, pool.submit(_prepare, captioner, item)))

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="rescap-prepare") as pool:
        submit_until(2 * batch_size)
        while window:
            batch = [window.popleft() for _ in range(min(batch_size, len(window)))]
            submit_until(2 * batch_size)  # the next batch decodes while the VLM runs
            prepared = [future.result() for _, future in batch]
            outcomes = caption_or_fail(captioner, prepared)
            # an image the server could not be reached for is not its fault: not recorded, so a
            # plain rerun does it
            kept = [(key, o) for (key, _), o in zip(batch, outcomes) if not getattr(o, "unreachable", False)]
            lost = [(key, o.error) for (key, _), o in zip(batch, outcomes) if getattr(o, "unreachable", False)]
            stop = summary.unreachable_batch([k for k, _ in lost], lost[0][1] if lost else "", len(kept), stop_after)
            records = [to_record(key, outcome) for key, outcome in kept]
            records = writer.write(records) or records
            summary.count(records)
            if on_batch:
                on_batch(len(batch))
            if stop:  # the server is down: stop, keep what is done
                summary.stopped = True
                for _, future in window:
                    future.cancel()
                summary.left = len(window) + sum(1 for _ in source)
                break
    close_shards()
    summary.retries = getattr(getattr(captioner, "backend", None), "retries", 0)
    summary.seconds = time.perf_counter() - start
    return summary


def stop_after_for(batch_size: int) -> int:
    """Images in a row the server may fail before a run stops: two batches, at least 8."""
    return max(8, 2 * batch_size)


def caption_or_fail(captioner: Any, prepared: list) -> list:
    """``caption_prepared``, or, should it raise, a failure for each image of the batch with the
    reason: an unexpected error costs this batch, never the job."""
    try:
        outcomes = list(captioner.caption_prepared(prepared))
    except Exception as exc:
        return [CaptionFailure(image=it.name, stage="caption", error=one_line(exc, with_type=True, limit=300)) for it in prepared]
    missing = [CaptionFailure(image=it.name, stage="caption", error="no result for this image") for it in prepared[len(outcomes) :]]
    return (outcomes + missing)[: len(prepared)]


def _prepare(captioner: Any, item: SourceItem):
    try:
        source = item.open()
    except Exception as exc:  # an unreadable tar member or the like: a per-image failure
        return captioner.failed(item.key, "read", str(exc) or type(exc).__name__)
    return captioner.prepare(source, name=item.key)
