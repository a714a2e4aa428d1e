"""Image-quality metrics for ``rescap bench``, through pyiqa, and the caption measures beside them.

A metric whose weights cannot be fetched is dropped with one message naming the file and the folder
to place it in; the bench goes on with the metrics it has.

Example (psnr and ssim need no weights):
    >>> from PIL import Image
    >>> from rescap.bench.metrics import MetricSet  # doctest: +SKIP
    >>> metrics = MetricSet.load(["psnr", "ssim"], have_reference=True)  # doctest: +SKIP
    >>> image = Image.new("RGB", (64, 64), "gray")  # doctest: +SKIP
    >>> metrics.score(image, image)["ssim"]  # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import contextlib
import difflib
import io
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator

# What a user of this field reports: fidelity with ground truth, perceptual quality without.
DEFAULT_FULL_REFERENCE = ("psnr", "ssim", "lpips", "dists")
DEFAULT_NO_REFERENCE = ("musiq", "maniqa", "clipiqa", "liqe", "niqe")


class MetricError(ValueError):
    """A metric name pyiqa does not know (the message suggests close names)."""


@dataclass
class MetricInfo:
    name: str
    full_reference: bool
    lower_better: bool


def parse_metric_names(text: str | None, have_reference: bool) -> list[str]:
    """``auto`` (or nothing): the defaults for the run (full-reference ones only with ground truth)."""
    if text is None or text.strip().lower() in ("", "auto", "default"):
        return list(DEFAULT_FULL_REFERENCE if have_reference else ()) + list(DEFAULT_NO_REFERENCE)
    if text.strip().lower() in ("none", "off"):
        return []
    names: list[str] = []
    for part in text.split(","):
        name = part.strip().lower()
        if name and name not in names:
            names.append(name)
    return names


@contextlib.contextmanager
def _hub_offline_when_unreachable() -> Iterator[None]:
    """Some metrics ask the Hugging Face hub for backbones and retry for about a minute when it is
    unreachable; a quick look first lets an offline machine fail in seconds."""
    from ..backends.model_source import hub_offline, hub_reachable

    if hub_offline() or hub_reachable():
        yield
        return
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover
        yield
        return
    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


def _to_tensor(image: Any):
    import numpy as np
    import torch

    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


@dataclass
class MetricSet:
    """Loaded pyiqa metrics; ``skipped`` holds one message per metric that could not be used."""

    metrics: dict[str, Any] = field(default_factory=dict)
    info: dict[str, MetricInfo] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"

    @classmethod
    def load(cls, names: list[str], have_reference: bool, device: str = "cpu") -> "MetricSet":
        """Create each metric; unknown names raise ``MetricError``, missing weights are skipped."""
        out = cls(device=device)
        if not names:
            return out
        from ..torch_compat import ensure_torchvision_importable
        from ..extras import require
        from .weights import describe_missing_weights

        ensure_torchvision_importable()
        pyiqa = require("pyiqa", "eval")
        known = set(pyiqa.list_models())
        unknown = [n for n in names if n not in known]
        if unknown:
            hints = {n: difflib.get_close_matches(n, sorted(known), n=3) for n in unknown}
            detail = "; ".join(f"{n!r}" + (f" (did you mean {', '.join(h)}?)" if h else "") for n, h in hints.items())
            raise MetricError(f"unknown metric {detail}; pyiqa knows: {', '.join(sorted(known))}")
        with _hub_offline_when_unreachable():
            for name in names:
                try:
                    # pyiqa prints download attempts on stdout; the skip message below says it better
                    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        metric = pyiqa.create_metric(name, device=device, as_loss=False)
                except Exception as exc:  # a metric that cannot load must not stop the others
                    missing = describe_missing_weights(exc)
                    out.skipped[name] = (
                        missing.message(name) if missing else f"metric {name!r} is skipped: {type(exc).__name__}: {exc}"
                    )
                    continue
                full = str(getattr(metric, "metric_mode", "NR")).upper() == "FR"
                if full and not have_reference:
                    out.skipped[name] = f"metric {name!r} is skipped: it compares with ground truth; pass --gt DIR"
                    continue
                out.metrics[name] = metric
                out.info[name] = MetricInfo(name, full, bool(getattr(metric, "lower_better", False)))
        return out

    @property
    def names(self) -> list[str]:
        return list(self.info)  # every loaded metric has its info; a rerun with nothing to do has the info alone

    def score(
        self, image: Any, reference: Any | None = None, only: list[str] | None = None
    ) -> tuple[dict[str, float], dict[str, str]]:
        """Every metric (or those in ``only``) on one PIL image and its reference (same size);
        returns (values, errors)."""
        import torch

        values: dict[str, float] = {}
        errors: dict[str, str] = {}
        if not self.metrics:
            return values, errors
        x = _to_tensor(image).to(self.device)
        y = _to_tensor(reference).to(self.device) if reference is not None else None
        with torch.no_grad():
            for name, metric in self.metrics.items():
                if only is not None and name not in only:
                    continue
                if self.info[name].full_reference:
                    if y is None:
                        errors[name] = "no ground truth for this image"
                        continue
                    if tuple(x.shape) != tuple(y.shape):
                        errors[name] = f"size {tuple(x.shape[2:])} differs from the ground truth's {tuple(y.shape[2:])}"
                        continue
                try:
                    value = metric(x, y) if self.info[name].full_reference else metric(x)
                    value = float(value.mean().item() if hasattr(value, "mean") else value)
                except Exception as exc:  # e.g. an image too small for the metric's network
                    errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
                    continue
                if math.isfinite(value):
                    values[name] = value
                else:
                    errors[name] = f"not a finite value ({value})"
        return values, errors
