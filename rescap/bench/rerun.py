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
from .records import INPUT_ROW, METRICS, RECORDS, BenchConfig, BenchError, earlier_config
from .runner import is_done, records_of

KNOWN_UP_FRONT = (
    "restorer", "restorer_path", "seed", "steps", "strength", "guidance", "gt", "captions", "quality_prompt", "rescap_version",
)  # fmt: skip


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


def templates_fingerprint(captioners: dict[str, Any]) -> str | None:
    """The prompt templates' fingerprint: of the captioners' templates, or the ones that would load now."""
    from ..captioning.templates import PromptTemplates

    first = next(iter(captioners.values()), None)
    return (first.templates if first is not None else PromptTemplates.load()).fingerprint


def path_or_id(value: Any) -> str | None:
    """A path that exists, resolved (so ``hq``, ``hq/`` and ``/abs/hq`` are one run); else as given."""
    if value is None:
        return None
    path = Path(str(value)).expanduser()
    return str(path.resolve()) if path.exists() else str(value)


def _same_vlm(vlm: str | None, earlier: BenchConfig, relevance: Any) -> bool:
    """Whether ``vlm`` names the model the earlier run captioned with (without loading it)."""
    if vlm is None or path_or_id(relevance) != earlier.relevance:
        return False
    from ..backends.registry import get_backend_class, parse_model_string

    source, name = parse_model_string(vlm)
    if not name:
        name = getattr(get_backend_class(source), "default_model", "")
    resolved = path_or_id(name) if Path(name).expanduser().exists() else name
    return earlier.vlm in (f"{source}:{name}", f"{source}:{resolved}")


def same_captioning(earlier: BenchConfig, needs_vlm: bool, vlm: str | None, relevance: Any, mode: str) -> bool:
    """Whether this run would caption as the earlier one did (model, relevance, mode, templates),
    judged from the command line alone; a run that needs no VLM captions nothing."""
    if not needs_vlm:
        return True
    if earlier.vlm is None:  # no VLM then: comparable only with no VLM now
        return vlm is None
    return _same_vlm(vlm, earlier, relevance) and (earlier.mode or "chain") == mode and earlier.templates == templates_fingerprint({})


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
