"""Make torchvision importable next to a torch it was not built for.

A torchvision wheel built for another torch (PyPI's CUDA wheels next to a CPU torch, for one)
fails on import with ``operator torchvision::nms does not exist``: its compiled ops are missing,
and its meta registrations for ``nms``/``qnms`` need their schemas. rescap only uses torchvision
through transformers' image and video processors, which are pure Python (transforms v2), so it
declares those two schemas when they are missing. The compiled ops themselves stay unavailable.
Where torch and torchvision match, this does nothing.

``import rescap`` installs ``install_import_hook()``: the fix runs when anything first imports
torchvision (diffusers and transformers do, deep inside), so user code such as
``import rescap; from diffusers import StableDiffusionUpscalePipeline`` works with no call to
make first. The hook costs nothing until then: torch is not imported by ``import rescap``.
"""

from __future__ import annotations

import importlib.util

_done = False


def ensure_torchvision_importable() -> None:
    """Declare ``torchvision::nms``/``qnms`` schemas if torchvision's compiled ops are missing."""
    global _done
    if _done:
        return
    _done = True
    if importlib.util.find_spec("torchvision") is None or importlib.util.find_spec("torch") is None:
        return
    import sys

    if "torchvision" in sys.modules:
        return
    import torch

    try:
        torch.ops.torchvision.nms  # noqa: B018 - probing the op registry
        return
    except (AttributeError, RuntimeError):
        pass
    try:
        torch.ops.load_library  # noqa: B018
        library = torch.library.Library("torchvision", "DEF")  # noqa: F841 - must stay alive
        library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        library.define("qnms(Tensor qdets, Tensor qscores, float iou_threshold) -> Tensor")
        _LIBRARIES.append(library)
    except RuntimeError:  # already defined by someone else
        pass


_LIBRARIES: list = []


class _TorchvisionFirstImport:
    """A meta-path finder that finds nothing: it only runs the fix before torchvision's first import."""

    def find_spec(self, name, path=None, target=None):
        if name == "torchvision":
            import sys

            if self in sys.meta_path:
                sys.meta_path.remove(self)
            ensure_torchvision_importable()
        return None


def install_import_hook() -> None:
    """Run ``ensure_torchvision_importable`` right before torchvision is first imported (idempotent)."""
    import sys

    if _done or "torchvision" in sys.modules or any(isinstance(f, _TorchvisionFirstImport) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _TorchvisionFirstImport())
