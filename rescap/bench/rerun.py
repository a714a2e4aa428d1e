"""Before any model loads: is this bench run compatible with what its report folder holds, and
is anything left to do?

A rerun with other settings is refused here, before a restorer or VLM costs seconds to load, on
every setting known from the command line (the VLM's resolved name and whether the restorer runs
are compared once they are known). A rerun with nothing left to do (every image x policy recorded
ok from the same files, every metric asked for already scored) reports from the records alone:
no restorer, VLM or metric is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..durable import log_lines
from .items import ImageItem
from .metrics import MetricInfo, MetricSet
from .policies import Policy
from .records import CONFIG, INPUT_ROW, METRICS, RECORDS, BenchConfig, BenchError
from .runner import is_done, records_of

KNOWN_UP_FRONT = (
    "restorer", "restorer_path", "seed", "steps", "strength", "guidance", "gt", "captions", "quality_prompt", "rescap_version",
)  # fmt: skip


def earlier_config(out: Path) -> BenchConfig | None:
    path = out / CONFIG
    if not path.is_file():
        return None
    try:
        return BenchConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def refuse_other_settings(out: Path, settings: dict[str, Any]) -> BenchConfig | None:
    """The earlier run's config; ``BenchError`` when a setting given on the command line differs."""
    from ..run_settings import settings_changes

    earlier = earlier_config(out)
    if earlier is None:
        return None
    theirs = {k: v for k, v in earlier.model_dump().items() if k in KNOWN_UP_FRONT}
    changes = settings_changes(theirs, {k: settings.get(k) for k in KNOWN_UP_FRONT}, ignore=())
    if changes:
        raise BenchError(
            f"{out} holds results of a different run ({'; '.join(changes)}): choose another folder, or pass --overwrite to replace them"
        )
    return earlier


def finished(out: Path, items: list[ImageItem], policies: list[Policy], metric_names: list[str], captions_dir: Path | None) -> MetricSet | None:
    """The metrics' kinds, read back, when nothing is left to do; ``None`` when something is."""
    log, kinds = out / RECORDS, out / METRICS
    if not log.is_file() or (metric_names and not kinds.is_file()):
        return None
    try:
        info = {n: MetricInfo(**i) for n, i in json.loads(kinds.read_text(encoding="utf-8")).items()} if metric_names else {}
    except (OSError, ValueError, TypeError):
        return None
    if any(n not in info for n in metric_names):
        return None
    records = records_of([row for _, row in log_lines(log)])
    for item in items:
        for name in [INPUT_ROW, *(p.name for p in policies)]:
            if not is_done(records, item, name, out, captions_dir):
                return None
            record = records[(item.key, name)]
            if not record.output:
                continue
            wanted = [n for n in metric_names if not info[n].full_reference or item.reference is not None]
            if item.reference is not None and record.reference != str(item.reference.resolve()):
                return None  # ground truth appeared or moved since: full-reference metrics to redo
            if any(n not in record.metrics and n not in record.metric_errors for n in wanted):
                return None
    return MetricSet(info={n: info[n] for n in metric_names})
