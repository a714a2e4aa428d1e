"""Backends are found through the ``rescap.backends`` entry-point group, built-ins included.

A third party adds a backend by declaring, in its own package::

    [project.entry-points."rescap.backends"]
    mybackend = "my_package.module:MyBackend"   # a VLMBackend subclass

after which ``rescap backends list`` shows it and ``--model mybackend:<model>`` uses it. Listing
reads the entry points' metadata only: no backend module is imported until one is created.

Model strings carry their source: ``transformers:<hub id or path>``, ``vllm:<hub id or path>``,
``openai:<model>`` (with ``base_url``). A bare string with no known source prefix goes to the
default backend (``transformers``).

Example:
    >>> from rescap.backends.registry import parse_model_string
    >>> parse_model_string("vllm:Qwen/Qwen2.5-VL-7B-Instruct")
    ('vllm', 'Qwen/Qwen2.5-VL-7B-Instruct')
    >>> parse_model_string("/models/smolvlm")
    ('transformers', '/models/smolvlm')
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .base import VLMBackend

ENTRY_POINT_GROUP = "rescap.backends"
DEFAULT_BACKEND = "transformers"

# Built-ins, declared here as well as in pyproject.toml so that a source checkout without
# installed metadata still finds them.
BUILTIN_BACKENDS = {
    "transformers": "rescap.backends.transformers_backend:TransformersBackend",
    "vllm": "rescap.backends.vllm_backend:VLLMBackend",
    "openai": "rescap.backends.openai_backend:OpenAIBackend",
}


@dataclass(frozen=True)
class BackendSpec:
    name: str
    target: str  # "module:attribute"
    distribution: str  # the package that declared it

    def load(self) -> type[VLMBackend]:
        cls = EntryPoint(self.name, self.target, ENTRY_POINT_GROUP).load()
        if not (isinstance(cls, type) and issubclass(cls, VLMBackend)):
            raise TypeError(f"backend {self.name!r} ({self.target}) is not a VLMBackend subclass")
        return cls


class UnknownBackendError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


def available_backends() -> dict[str, BackendSpec]:
    """Every registered backend by name, without importing any of them."""
    found = {name: BackendSpec(name, target, "rescap") for name, target in BUILTIN_BACKENDS.items()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        found[ep.name] = BackendSpec(ep.name, ep.value, dist.metadata["Name"] if dist is not None else "?")
    return dict(sorted(found.items()))


def parse_model_string(model: str) -> tuple[str, str]:
    """Split ``source:model``; a string without a registered source goes to the default backend."""
    source, sep, rest = model.partition(":")
    if sep and source in available_backends():
        return source, rest
    return DEFAULT_BACKEND, model


def get_backend_class(name: str) -> type[VLMBackend]:
    backends = available_backends()
    if name not in backends:
        close = difflib.get_close_matches(name, list(backends), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownBackendError(f"no backend named {name!r}{hint} (registered: {', '.join(backends)})")
    return backends[name].load()


def create_backend(model: str, **options: Any) -> VLMBackend:
    """Create the backend a model string names, e.g. ``create_backend("transformers:/models/smolvlm")``.

    An empty model after the prefix (``"vllm:"``) takes that backend's default model.
    """
    source, name = parse_model_string(model)
    cls = get_backend_class(source)
    return cls(name or getattr(cls, "default_model", ""), **options)
