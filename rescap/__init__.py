"""rescap: better text for diffusion-based image restorers.

Heavy names load on first use (PEP 562), so ``import rescap`` and ``rescap --help`` stay light.

Example:
    >>> import rescap
    >>> rescap.__version__
    '0.1.0'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .torch_compat import install_import_hook

install_import_hook()  # torchvision next to a torch it was not built for: see torch_compat

# public name -> module that defines it
_LAZY = {
    "estimate_degradation": "rescap.degradation",
    "DegradationReport": "rescap.degradation",
    "DegradationLevel": "rescap.degradation",
    "load_image": "rescap.images",
    "Captioner": "rescap.captioning.captioner",
    "CaptionError": "rescap.captioning.captioner",
    "PromptBundle": "rescap.captioning.bundle",
    "RichnessPolicy": "rescap.control.richness",
    "wrap": "rescap.wrap",
    "ImageLoadError": "rescap.images",
    "ImageTooLargeError": "rescap.images",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from .degradation import DegradationLevel, DegradationReport, estimate_degradation
    from .captioning.bundle import PromptBundle
    from .captioning.captioner import CaptionError, Captioner
    from .control.richness import RichnessPolicy
    from .images import ImageLoadError, ImageTooLargeError, load_image
    from .wrap import wrap


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rescap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
