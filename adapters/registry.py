"""Adapters are found through the ``rescap.adapters`` entry-point group, built-ins included.

A third party adds one by declaring, in its own package::

    [project.entry-points."rescap.adapters"]
    myrestorer = "my_package.module:MyAdapter"   # a RestorerAdapter subclass

Listing reads metadata only; an adapter module is imported when that adapter is used.

Example:
    >>> from rescap.adapters import available_adapters
    >>> {"supir", "diffusers", "hypir"} <= set(available_adapters())
    True
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

ENTRY_POINT_GROUP = "rescap.adapters"

BUILTIN_ADAPTERS = {
    "supir": "rescap.adapters.supir:SUPIRAdapter",
    "seesr": "rescap.adapters.seesr:SeeSRAdapter",
    "osediff": "rescap.adapters.seesr:OSEDiffAdapter",
    "pasd": "rescap.adapters.pasd:PASDAdapter",
    "diffbir": "rescap.adapters.diffbir:DiffBIRAdapter",
    "hypir": "rescap.adapters.hypir:HYPIRAdapter",
    "spire": "rescap.adapters.spire:SPIREAdapter",
    "dreamclear": "rescap.adapters.dreamclear:DreamClearAdapter",
    "diffusers": "rescap.adapters.diffusers_pipeline:DiffusersAdapter",
}


@dataclass(frozen=True)
class AdapterSpec:
    name: str
    target: str
    distribution: str

    def load(self):
        from .base import RestorerAdapter

        cls = EntryPoint(self.name, self.target, ENTRY_POINT_GROUP).load()
        if not (isinstance(cls, type) and issubclass(cls, RestorerAdapter)):
            raise TypeError(f"adapter {self.name!r} ({self.target}) is not a RestorerAdapter subclass")
        return cls


def available_adapters() -> dict[str, AdapterSpec]:
    """Every registered adapter by name, without importing them."""
    found = {name: AdapterSpec(name, target, "rescap") for name, target in BUILTIN_ADAPTERS.items()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        found[ep.name] = AdapterSpec(ep.name, ep.value, dist.metadata["Name"] if dist is not None else "?")
    return dict(sorted(found.items()))


def get_adapter(name: str, **options):
    """An adapter instance by name (case-insensitive), with a suggestion on typos."""
    adapters = available_adapters()
    key = name.strip().lower()
    if key not in adapters:
        close = difflib.get_close_matches(key, list(adapters), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"no adapter named {name!r}{hint} (registered: {', '.join(adapters)})")
    return adapters[key].load()(**options)
