"""Optional dependencies: check without importing, and one clear message when one is missing.

Example:
    >>> from rescap.extras import EXTRAS, is_available
    >>> is_available("numpy")
    True
    >>> EXTRAS["vllm"].install_hint
    "pip install 'rescap[vllm]'"
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType


@dataclass(frozen=True)
class Extra:
    name: str
    modules: tuple[str, ...]
    purpose: str

    @property
    def install_hint(self) -> str:
        return f"pip install 'rescap[{self.name}]'"


EXTRAS: dict[str, Extra] = {
    e.name: e
    for e in (
        Extra("transformers", ("torch", "transformers", "xgrammar"), "embedded VLM backend (CPU or GPU)"),
        Extra("openai", ("openai",), "OpenAI-compatible HTTP backend (vllm serve, hosted APIs)"),
        Extra("vllm", ("vllm",), "vLLM in-process backend (GPU)"),
        Extra("diffusers", ("torch", "diffusers"), "diffusers restorers and pipelines"),
        Extra("clip", ("open_clip",), "open_clip's reference CLIP tokenizer (rescap counts exactly without it)"),
        Extra("eval", ("torch", "pyiqa", "matplotlib"), "rescap bench: image-quality metrics (pyiqa) and report plots"),
        Extra("ray", ("ray",), "re-captioning on Ray clusters (Ray Data)"),
        Extra("parquet", ("pyarrow",), "Parquet manifests and output for rescap recaption"),
        Extra("serve", ("fastapi", "uvicorn", "prometheus_client", "python_multipart"), "rescap serve: the OpenAI-compatible captioning service"),
        Extra("ui", ("gradio",), "rescap ui: the local web app"),
    )
}
# the two groups pyproject.toml also declares: everything, and everything a developer runs the tests with
EXTRAS["all"] = Extra("all", tuple(dict.fromkeys(m for e in EXTRAS.values() for m in e.modules)), "every extra above")
EXTRAS["dev"] = Extra(
    "dev", tuple(dict.fromkeys([*(m for e in EXTRAS.values() if e.name not in ("vllm", "all") for m in e.modules), "pytest"])),
    "all but vllm, plus the test tools (pytest, hypothesis, scikit-image...)",
)


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


@lru_cache(maxsize=None)
def is_available(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise ``MissingExtraError`` naming ``rescap[extra]``."""
    hint = EXTRAS[extra].install_hint if extra in EXTRAS else f"pip install 'rescap[{extra}]'"
    if not is_available(module):
        raise MissingExtraError(f"{module} is not installed; it comes with the '{extra}' extra: {hint}")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{module} is installed but failed to import ({exc}); try: {hint}") from exc
