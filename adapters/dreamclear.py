"""DreamClear: "DreamClear: High-Capacity Real-World Image Restoration with Privacy-Safe Dataset
Curation" (Ai et al., NeurIPS 2024). Upstream https://github.com/shallowdream204/DreamClear,
verified at commit fbe0938.

The caption alone goes to a T5-XXL encoder (``T5Embedder(..., model_max_length=120)``, test.py:339,
truncated); there is no quality prompt and the unconditional branch is a learned embedding (no
negative text). The caption is budgeted to 119 T5 tokens (the end-of-sequence token takes the
120th). Before tokenizing, DreamClear cleans each caption (``diffusion/model/t5.py``
``text_preprocessing``, on by default): among other things it lower-cases it and deletes CJK
ideographs. So rescap counts the caption the way T5 will see it (lower-cased, CJK ideographs
removed), and ``check`` warns when a caption in Chinese or Japanese would lose its text.
DreamClear captions internally with LLaVA and reads no prompt files; rescap writes ``<stem>.txt``.

Example:
    >>> from rescap.adapters import get_adapter
    >>> get_adapter("dreamclear").window
    120
"""

from __future__ import annotations

import re

from .base import FinalPrompts, PromptCheck, PromptSlot, RestorerAdapter, t5

# the CJK blocks DreamClear's cleaning deletes (strokes, enclosed letters, compatibility, ideographs)
_CJK_DELETED = re.compile(r"[\u31c0-\u31ef\u31f0-\u31ff\u3200-\u32ff\u3300-\u33ff\u3400-\u4dbf\u4dc0-\u4dff\u4e00-\u9fff]+")


def as_dreamclear_reads(text: str) -> str:
    """The part of DreamClear's caption cleaning that changes token counts of ordinary captions."""
    return " ".join(_CJK_DELETED.sub("", text.strip().lower()).split())


class _CleanedCounter:
    """Counts what T5 receives after DreamClear's cleaning."""

    def __init__(self, inner):
        self.inner = inner
        self.name = f"{inner.name} (as DreamClear cleans it)"
        self.exact = inner.exact

    def count(self, text: str) -> int:
        return self.inner.count(as_dreamclear_reads(text))


class DreamClearAdapter(RestorerAdapter):
    name = "dreamclear"
    description = "DreamClear (PixArt DiT, T5-XXL 120 tokens): the caption alone"
    paper = "Ai et al., DreamClear: High-Capacity Real-World Image Restoration, NeurIPS 2024"
    repository = "https://github.com/shallowdream204/DreamClear"
    commit = "fbe0938"
    slots = (PromptSlot(encoders=(t5(120),), quality=False),)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        argument = self.slots[0].argument
        self._counters[argument] = _CleanedCounter(self._counters[argument])

    def check(self, prompts: FinalPrompts) -> PromptCheck:
        checked = super().check(prompts)
        if _CJK_DELETED.search(prompts.caption):
            checked.warnings.append("DreamClear deletes CJK ideographs before T5: write this caption in another language")
        return checked
