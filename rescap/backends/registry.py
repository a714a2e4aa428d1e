"""Backends are found through the ``rescap.backends`` entry-point group, built-ins included.

A third party adds a backend by declaring, in its own package::

    [project.entry-points."rescap.backends"]
    mybackend = "my_package.module:MyBackend"   # a VLMBackend subclass

after which ``rescap backends list`` shows it and ``--vlm mybackend:<model>`` uses it. Listing
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

import re

from typing import Any

from ..plugins import PluginSpec, discover, unknown_name

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


class BackendSpec(PluginSpec):
    def load(self) -> type[VLMBackend]:
        return self.load_as(VLMBackend, "backend")


class UnknownBackendError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


def available_backends() -> dict[str, BackendSpec]:
    """Every registered backend by name, without importing any of them."""
    return {name: BackendSpec(**vars(spec)) for name, spec in discover(ENTRY_POINT_GROUP, BUILTIN_BACKENDS).items()}


def parse_model_string(model: str) -> tuple[str, str]:
    """Split ``source:model``; a string without a registered source goes to the default backend."""
    source, sep, rest = model.partition(":")
    if sep and source in available_backends():
        return source, rest
    # "nosuch:foo" names a backend that is not there; "C:\\models\\x" (a drive) and hub ids are models
    if sep and re.fullmatch(r"[a-z][a-z0-9_-]+", source) and not rest.startswith(("/", "\\")):
        raise UnknownBackendError(unknown_name("backend", source, available_backends()))
    return DEFAULT_BACKEND, model


def get_backend_class(name: str) -> type[VLMBackend]:
    backends = available_backends()
    if name not in backends:
        raise UnknownBackendError(unknown_name("backend", name, backends))
    return backends[name].load()


def create_backend(model: str, **options: Any) -> VLMBackend:
    """Create the backend a model string names, e.g. ``create_backend("transformers:/models/smolvlm")``.

    An empty model after the prefix (``"vllm:"``) takes that backend's default model.
    """
    source, name = parse_model_string(model)
    cls = get_backend_class(source)
    return cls(name or getattr(cls, "default_model", ""), **checked_options(cls, options))


def checked_options(cls: type[VLMBackend], options: dict[str, Any]) -> dict[str, Any]:
    """Options converted to the types the backend's constructor declares (``"8"`` -> 8 for an
    int); a value that does not convert is a ``BackendError`` naming the option. Options the
    constructor does not declare pass through (vLLM forwards any ``vllm.LLM`` keyword)."""
    import typing

    from pydantic import TypeAdapter, ValidationError

    from .base import BackendError

    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # a third-party annotation that does not resolve: leave the values as given
        return dict(options)
    checked = {}
    for key, value in options.items():
        hint = hints.get(key)
        if hint is None or hint is Any:
            checked[key] = value
            continue
        try:
            checked[key] = TypeAdapter(hint).validate_python(value)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise BackendError(f"option {key}={value} of the {cls.name or cls.__name__} backend: {reason[:1].lower()}{reason[1:]}") from None
    return checked
