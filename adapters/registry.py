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

from ..plugins import PluginSpec, discover, unknown_name

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
    "sd": "rescap.adapters.stable_diffusion:StableDiffusionAdapter",
    "s3diff": "rescap.adapters.stable_diffusion:S3DiffAdapter",
}


class AdapterSpec(PluginSpec):
    def load(self):
        from .base import RestorerAdapter

        return self.load_as(RestorerAdapter, "adapter")


def available_adapters() -> dict[str, AdapterSpec]:
    """Every registered adapter by name, without importing them."""
    return {name: AdapterSpec(**vars(spec)) for name, spec in discover(ENTRY_POINT_GROUP, BUILTIN_ADAPTERS).items()}


def get_adapter(name: str, **options):
    """An adapter instance by name (case-insensitive), with a suggestion on typos."""
    adapters = available_adapters()
    key = name.strip().lower()
    if key not in adapters:
        raise KeyError(unknown_name("adapter", name, adapters, key))
    return adapters[key].load()(**options)
