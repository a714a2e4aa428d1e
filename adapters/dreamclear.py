"""DreamClear: "DreamClear: High-Capacity Real-World Image Restoration with Privacy-Safe Dataset
Curation" (Ai et al., NeurIPS 2024). Upstream https://github.com/shallowdream204/DreamClear,
verified at commit fbe0938.

The caption alone goes to a T5-XXL encoder (``model_max_length=120``, truncated); there is no
quality prompt and the unconditional branch is a learned embedding (no negative text). The
caption is budgeted to 119 T5 tokens (the end-of-sequence token takes the 120th).
DreamClear captions internally with LLaVA and reads no prompt files; rescap writes ``<stem>.txt``.

Example:
    >>> from rescap.adapters import get_adapter
    >>> get_adapter("dreamclear").window
    120
"""

from __future__ import annotations

from .base import PromptSlot, RestorerAdapter, t5


class DreamClearAdapter(RestorerAdapter):
    name = "dreamclear"
    description = "DreamClear (PixArt DiT, T5-XXL 120 tokens): the caption alone"
    slots = (PromptSlot(encoders=(t5(120),), quality=False),)
    paper = "Ai et al., DreamClear: High-Capacity Real-World Image Restoration, NeurIPS 2024"
    repository = "https://github.com/shallowdream204/DreamClear"
    commit = "fbe0938"
