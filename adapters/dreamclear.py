"""DreamClear: "DreamClear: High-Capacity Real-World Image Restoration with Privacy-Safe Dataset
Curation" (Ai et al., NeurIPS 2024). Upstream https://github.com/shallowdream204/DreamClear,
verified at commit fbe0938.

The caption alone goes to a T5-XXL encoder (``model_max_length=120``, truncated); there is no
quality prompt and the unconditional branch is a learned embedding (no negative text). The
caption is budgeted to 119 T5 tokens (exact with ``--tokenizer`` pointing at its T5 tokenizer).
DreamClear captions internally with LLaVA and reads no prompt files; rescap writes ``<stem>.txt``.

Example:
    >>> from rescap.adapters import get_adapter
    >>> get_adapter("dreamclear").profile.window
    120
"""

from __future__ import annotations

from .base import RestorerAdapter


class DreamClearAdapter(RestorerAdapter):
    name = "dreamclear"
    restorer = "dreamclear"
    paper = "Ai et al., DreamClear: High-Capacity Real-World Image Restoration, NeurIPS 2024"
    repository = "https://github.com/shallowdream204/DreamClear"
    commit = "fbe0938"
