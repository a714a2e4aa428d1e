"""Restorer adapters, shipped as ``rescap.adapters``.

Each adapter declares how one restorer takes text (prompt slots, defaults, join rule and token
budget), builds the exact strings it will see, writes them where it reads them, and - where the
restorer can run in-process - runs it. Found through the ``rescap.adapters`` entry-point group.
"""

from .base import FinalPrompts, PromptCheck, RestorerAdapter, RestorerUnavailable
from .registry import available_adapters, get_adapter

__all__ = ["FinalPrompts", "PromptCheck", "RestorerAdapter", "RestorerUnavailable", "available_adapters", "get_adapter"]
