"""What every restorer adapter is: the one description of how its restorer takes text, and the code
that turns a caption into the exact strings it receives.

An adapter declares, as class attributes: its prompt slots (the arguments its text goes in, each
with the text encoders that read it and their token windows), its own quality and negative prompts,
its join rule (``join``), whether it wants sentences or tags, and what files it reads. The
captioner, every command and ``wrap`` take their text decisions through it; nothing else knows a
restorer's windows or prompts.

Window allocation between caption and quality prompt (``quality_prompt``): with ``fit`` (default)
the caption gets its richness target first and the restorer's quality prompt fills what is left
of the window, trimmed at phrase (comma) boundaries; ``keep`` keeps the whole quality prompt and
budgets the caption to what it leaves (SUPIR's ~53-token a_prompt then leaves ~20 tokens for the
caption, whatever the richness); ``drop`` leaves the quality prompt out. Why ``fit``: richer text
is what reactivates a restorer's prior, and the restorers' own pipelines, fed long captions by
their captioners, in practice truncate the quality prompt, not the caption - ``fit`` does the same
on purpose, at a phrase boundary, instead of mid-word.

Example:
    >>> from rescap.adapters import get_adapter
    >>> adapter = get_adapter("supir")
    >>> adapter.final_prompts_for("A red fox in the snow.").positive.endswith("perfect without deformations.")
    True
    >>> get_adapter("supir", quality_prompt="drop").final_prompts_for("A red fox in the snow.").positive
    'A red fox in the snow. '
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..captioning.bundle import PromptBundle
from ..text.degradation_words import find_degradation_words
from ..text.phrases import fit_to_tokens, phrases_of, strip_end_mark
from ..durable import atomic_write
from ..outputs import inside
from ..text.tokens import TokenCounter, counter_for

QualityPromptMode = Literal["fit", "keep", "drop"]
QUALITY_PROMPT_MODES = ("fit", "keep", "drop")


_ARTICLE_AND_ONE_WORD = re.compile(r"^\s*(a|an|the)\s+\S+\s*$", re.I)


class RestorerUnavailable(RuntimeError):
    """The restorer cannot run here (no checkout, weights or GPU); prompts can still be exported."""


class TextEncoder(BaseModel):
    """One text encoder: the tokenizer family it counts with and its window (special tokens included)."""

    model_config = ConfigDict(frozen=True)

    name: str
    tokenizer: Literal["clip", "t5"] = "clip"
    window: int = 77
    special_tokens: int = 2  # CLIP: start + end; T5: end

    @property
    def usable(self) -> int:
        return self.window - self.special_tokens


CLIP_L = TextEncoder(name="CLIP ViT-L/14")
OPENCLIP_H = TextEncoder(name="OpenCLIP ViT-H/14")
OPENCLIP_BIGG = TextEncoder(name="OpenCLIP ViT-bigG/14")


def t5(window: int) -> TextEncoder:
    return TextEncoder(name="T5-XXL", tokenizer="t5", window=window, special_tokens=1)


class PromptSlot(BaseModel):
    """One text argument of a restorer and the encoders that read it."""

    model_config = ConfigDict(frozen=True)

    argument: str = "prompt"
    encoders: tuple[TextEncoder, ...] = (CLIP_L,)
    quality: bool = True  # whether the restorer's quality prompt is joined to the caption in this slot

    @property
    def usable(self) -> int:
        return min(e.usable for e in self.encoders)

    @property
    def window(self) -> int:
        return min(e.window for e in self.encoders)

    @property
    def tokenizer(self) -> str:
        return self.encoders[0].tokenizer


class SlotText(BaseModel):
    """The text one slot receives, with its token count against its window."""

    argument: str
    text: str
    caption: str = ""
    quality: str = ""
    tokens: int = 0
    usable: int = 0  # window less special tokens
    encoders: list[str] = Field(default_factory=list)


class FinalPrompts(BaseModel):
    """The strings a restorer receives, each under the name of its own argument."""

    positive: str
    negative: str = ""
    extra: dict[str, str] = Field(default_factory=dict)  # other slots (prompt_2...) and SPIRE's restoration prompt
    caption: str = ""  # the caption part of ``positive``, as the restorer's own code takes it
    quality: str = ""  # the quality-prompt part of ``positive`` (trimmed under ``fit``)
    slots: list[SlotText] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)  # caption phrases cut to fit a window


class SlotCheck(BaseModel):
    argument: str
    tokens: int
    usable: int
    fits: bool


class PromptCheck(BaseModel):
    """Token counts of the final strings and what a user should know about them."""

    counter: str
    exact: bool
    window: int
    positive_tokens: int
    negative_tokens: int
    slots: list[SlotCheck] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class RestorerAdapter:
    """Base class of restorer adapters; subclasses set the class attributes and may override ``join``.

    ``tokenizer``: a folder with the restorer's own tokenizer, for its first slot's counts
    (rescap's shipped CLIP/T5 vocabularies count exactly otherwise). ``quality_prompt``: fit,
    keep or drop (see the module docstring).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    repository: ClassVar[str] = ""
    commit: ClassVar[str] = ""  # the upstream commit its interface was verified against
    runs_here: ClassVar[bool] = False  # whether ``load``/``restore`` can run without the upstream checkout
    slots: tuple[PromptSlot, ...] = (PromptSlot(),)
    default_quality_prompt: ClassVar[str] = ""
    default_negative_prompt: ClassVar[str] = ""
    caption_style: ClassVar[Literal["sentence", "tags"]] = "sentence"
    reads_files: ClassVar[str] = "no per-image prompt files: rescap writes <stem>.txt (the positive prompt) per image"
    user_prompt_first: ClassVar[bool] = True  # where a user's own text goes: before the caption, or after it

    def __init__(self, tokenizer: str | None = None, quality_prompt: QualityPromptMode = "fit"):
        if quality_prompt not in QUALITY_PROMPT_MODES:
            raise ValueError(f"quality_prompt must be fit, keep or drop, not {quality_prompt!r}")
        self.quality_mode: QualityPromptMode = quality_prompt
        self.quality_prompt = self.default_quality_prompt
        self.negative_prompt = self.default_negative_prompt
        self.slots = tuple(self.slots)
        self._counters: dict[str, TokenCounter] = {}
        for i, slot in enumerate(self.slots):
            self._counters[slot.argument] = counter_for(slot.tokenizer, tokenizer if i == 0 else None)

    # -- the spec ----------------------------------------------------------------------------------
    @property
    def counter(self) -> TokenCounter:
        """The counter of the first slot (``prompt``)."""
        return self._counters[self.slots[0].argument]

    def counter_of(self, slot: PromptSlot) -> TokenCounter:
        return self._counters[slot.argument]

    @property
    def window(self) -> int:
        return self.slots[0].window

    @property
    def usable(self) -> int:
        """Tokens the first slot's encoders read, special tokens excluded."""
        return self.slots[0].usable

    @property
    def rich_slot(self) -> PromptSlot:
        """The slot with the widest window: it gets the caption at full richness."""
        return max(self.slots, key=lambda s: s.usable)

    # -- strings ------------------------------------------------------------------------------------
    def prepare_caption(self, caption: str) -> str:
        """The caption as the restorer's join expects it (e.g. SUPIR's ". " ending). Default: stripped."""
        return caption.strip()

    def join(self, caption: str, quality: str) -> str:
        """Caption + quality prompt, the restorer's way (default: ``", ".join`` of the non-empty parts)."""
        return ", ".join(t for t in (strip_end_mark(caption), quality) if t) if quality else caption

    def _slot_quality(self, slot: PromptSlot) -> str:
        return self.quality_prompt if (slot.quality and self.quality_mode != "drop") else ""

    def _positive(self, caption: str, quality: str) -> str:
        prepared = self.prepare_caption(caption)
        return self.join(prepared, quality) if prepared or quality else ""

    def caption_budget(self, slot: PromptSlot | None = None) -> int:
        """Tokens a caption may take in ``slot`` (default: the widest), once the restorer's own text
        that is kept whatever the caption (separators; the whole quality prompt under ``keep``) is in."""
        slot = slot or self.rich_slot
        counter = self.counter_of(slot)
        quality = self._slot_quality(slot) if self.quality_mode == "keep" else ""
        probe = "fox"
        overhead = counter.count(self._positive(probe, quality)) - counter.count(probe)
        return max(slot.usable - max(overhead, 0), 0)

    def fit_caption(
        self, caption: str, slot: PromptSlot | None = None, limit: int | None = None, head: str = ""
    ) -> tuple[str, list[str]]:
        """``caption`` cut at phrase boundaries to fit ``slot`` (and ``limit`` caption tokens) after
        ``head``, text that is always kept in front of it (a user's prompt and its separator)."""
        slot = slot or self.rich_slot
        counter = self.counter_of(slot)
        quality = self._slot_quality(slot) if self.quality_mode == "keep" else ""
        budget = self.caption_budget(slot) if limit is None else min(limit, self.caption_budget(slot))
        fitted = fit_to_tokens(caption, budget, counter, wrap=(lambda t: head + t) if head else None)
        if fitted.text and counter.count(self._positive(head + fitted.text, quality)) > slot.usable:
            fitted = fit_to_tokens(fitted.text, slot.usable, counter, wrap=lambda t: self._positive(head + t, quality))
        return fitted.text, fitted.dropped

    def fit_quality(self, caption: str, slot: PromptSlot | None = None) -> str:
        """The quality prompt for ``slot`` after ``caption``: whole (keep), none (drop), or under
        ``fit`` its longest comma-phrase prefix that keeps the joined prompt inside the window."""
        slot = slot or self.slots[0]
        quality = self._slot_quality(slot)
        if not quality or self.quality_mode == "keep":
            return quality
        return self._trim_quality(caption, slot, quality)

    def _trim_quality(self, caption: str, slot: PromptSlot, quality: str) -> str:
        counter = self.counter_of(slot)
        if counter.count(self._positive(caption, quality)) <= slot.usable:
            return quality
        phrases = phrases_of(quality)
        for n in range(len(phrases) - 1, 0, -1):
            if _ARTICLE_AND_ONE_WORD.match(phrases[n - 1].text):  # "A high-resolution" of "A high-resolution, 8K image": not a phrase
                continue
            trimmed = quality[: phrases[n - 1].end]
            if counter.count(self._positive(caption, trimmed)) <= slot.usable:
                return trimmed
        return ""

    def slot_text(self, caption: str, slot: PromptSlot, head: str = "") -> SlotText:
        """What ``slot`` receives for ``caption`` (fitted to its window) after ``head``, a user's
        prompt with its separator: that is kept whole, the caption is cut to the room left, and
        under ``keep`` the quality prompt gives way before the user's text does."""
        fitted, _ = self.fit_caption(caption, slot, head=head)
        merged = head + fitted if fitted else head.rstrip(", ").rstrip()
        quality = self.fit_quality(merged, slot)
        text = self._positive(merged, quality)
        counter = self.counter_of(slot)
        if head and counter.count(text) > slot.usable:
            quality = self._trim_quality(merged, slot, self._slot_quality(slot))
            text = self._positive(merged, quality)
            if counter.count(text) > slot.usable:  # the user's text alone is over the window: the encoder would cut it anyway
                merged = fit_to_tokens(merged, slot.usable, counter, wrap=lambda t: self._positive(t, "")).text
                quality, text = "", self._positive(merged, "")
        return SlotText(
            argument=slot.argument, text=text, caption=self.prepare_caption(merged) if merged else "", quality=quality,
            tokens=counter.count(text), usable=slot.usable, encoders=[e.name for e in slot.encoders],
        )  # fmt: skip

    def final_prompts_for(self, caption: str, negative: str | None = None, restoration: str = "", head: str = "") -> FinalPrompts:
        """Final strings from a caption (and optional negative/restoration prompts); each slot's text
        fits its window, cut at phrase boundaries when the caption is longer. ``head`` (a user's
        prompt and its separator) goes first and is kept whole."""
        texts = [self.slot_text(caption, slot, head) for slot in self.slots]
        _, dropped = self.fit_caption(caption, self.rich_slot, head=head)  # what even the widest slot could not carry
        first = texts[0]
        return FinalPrompts(
            positive=first.text, negative=self.negative_prompt if negative is None else negative,
            extra={t.argument: t.text for t in texts[1:]}, caption=first.caption, quality=first.quality,
            slots=texts, dropped=dropped,
        )  # fmt: skip

    def final_prompts(
        self, bundle: PromptBundle, user_prompt: str | None = None, user_negative: str | None = None
    ) -> FinalPrompts:
        """The exact strings this restorer sees for ``bundle``; user-given text is merged, not dropped.

        A user prompt is put before the caption (it states what the user knows for sure); a user
        negative prompt is put before the bundle's negative terms. The caption is re-cut at phrase
        boundaries so that every slot still fits its window.
        """
        caption = bundle.caption
        dropped: list[str] = []
        head = ""
        if user_prompt and user_prompt.strip():
            user = user_prompt.strip().rstrip(",").rstrip()
            if self.user_prompt_first or not caption:
                # the user's text first, kept whole; a sentence of theirs keeps its mark ("... garden. A fox")
                head = user + (" " if user[-1] in ".!?。！？" else ", ") if caption else ""
                caption = caption if caption else user
            else:  # the caption is cut to leave the user's text its room
                room = self.caption_budget(self.slots[0]) - self.counter.count(f", {user}")
                fitted, dropped = self.fit_caption(caption, self.slots[0], limit=max(room, 0))
                caption = f"{strip_end_mark(fitted)}, {user}" if fitted else user
        negative = self.merged_negative(bundle.negative_prompt, user_negative)
        if head and "head" not in inspect.signature(self.final_prompts_for).parameters:
            caption, head = head + caption, ""  # a third-party override of the older form: the user's text leads the caption
        final = self.final_prompts_for(caption, negative, bundle.restoration_prompt, **({"head": head} if head else {}))
        final.dropped = dropped + final.dropped
        return final

    def merged_negative(self, negative: str, user_negative: str | None) -> str:
        """The user's negative terms first and whole, then the bundle's (measured and default)
        terms, which give way at commas to keep the whole inside the window."""
        if not (user_negative and user_negative.strip()):
            return negative
        user = user_negative.strip().rstrip(",").rstrip()
        if not negative:
            return user
        head = user + ", "
        rest = fit_to_tokens(negative, self.usable, self.counter, wrap=lambda t: head + t).text
        return head + rest if rest else user

    def positive_for(self, caption: str) -> str:
        """The final positive prompt (first slot) for a caption."""
        return self.final_prompts_for(caption).positive

    def slot_texts(self, prompts: FinalPrompts) -> list[SlotText]:
        """Every slot's text in ``prompts`` (also for an adapter whose ``final_prompts_for`` sets only
        ``positive``/``extra``), counted with that slot's counter."""
        out = []
        for slot in self.slots:
            given = next((t for t in prompts.slots if t.argument == slot.argument), None)
            text = given.text if given else (prompts.positive if slot is self.slots[0] else prompts.extra.get(slot.argument, prompts.positive))
            tokens = self.counter_of(slot).count(text)
            out.append(given.model_copy(update={"tokens": tokens}) if given else SlotText(
                argument=slot.argument, text=text, caption=prompts.caption, tokens=tokens, usable=slot.usable,
                encoders=[e.name for e in slot.encoders]))  # fmt: skip
        return out

    def check(self, prompts: FinalPrompts) -> PromptCheck:
        """Token counts and warnings: truncation, a literal "None", an empty caption, degradation words."""
        warnings: list[str] = []
        checks = []
        for slot, text in zip(self.slots, self.slot_texts(prompts)):
            tokens = text.tokens
            checks.append(SlotCheck(argument=slot.argument, tokens=tokens, usable=slot.usable, fits=tokens <= slot.usable))
            if tokens > slot.usable:
                warnings.append(
                    f"{slot.argument} is {tokens} tokens, over the {slot.usable} its text encoder reads: the end is cut off"
                )
        for label, text in (("positive", prompts.positive), ("negative", prompts.negative), *prompts.extra.items()):
            if "None" in text.replace(",", " ").split():
                warnings.append(f'{label} prompt contains a literal "None" (an unset argument turned into text)')
        if not prompts.caption.strip():
            warnings.append("empty caption: the restorer gets only its own quality prompt")
        negative_tokens = self.counter.count(prompts.negative)
        if negative_tokens > self.usable:
            warnings.append(f"negative is {negative_tokens} tokens, over the {self.usable} its text encoder reads: the end is cut off")
        captions = [prompts.caption, *(t.caption for t in self.slot_texts(prompts)[1:])]  # wider slots carry more of it
        found = list(dict.fromkeys(w for text in captions for w in find_degradation_words(text)))
        if found:
            warnings.append(f"caption describes the degradation ({', '.join(found)}): restorations get worse")
        return PromptCheck(
            counter=self.counter.name, exact=self.counter.exact, window=self.window, positive_tokens=checks[0].tokens,
            negative_tokens=negative_tokens, slots=checks, warnings=warnings,
        )  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """The spec as data (``rescap adapters show``)."""
        return {
            "name": self.name, "description": self.description, "repository": self.repository, "commit": self.commit,
            "caption_style": self.caption_style, "quality_prompt": self.quality_prompt, "quality_prompt_mode": self.quality_mode,
            "negative_prompt": self.negative_prompt, "reads_files": self.reads_files, "runs_here": self.runs_here,
            "slots": [
                {"argument": s.argument, "usable_tokens": s.usable, "quality": s.quality,
                 "encoders": [e.model_dump() for e in s.encoders], "counter": self.counter_of(s).name}
                for s in self.slots
            ],
        }  # fmt: skip

    # -- files ----------------------------------------------------------------------------------
    def export(self, prompts: FinalPrompts, image: Path, out_dir: Path, relative_to: Path | None = None) -> list[Path]:
        """Write the prompt files this restorer reads (default: ``<stem>.txt`` with the positive prompt,
        in the image's folder layout under ``out_dir``)."""
        target = inside(out_dir, _relative(image, relative_to).as_posix(), ".txt")
        atomic_write(target, (prompts.positive + "\n").encode("utf-8"))
        return [target]

    # -- running --------------------------------------------------------------------------------
    def load(self, path: str | None, device: str = "cpu", **options: Any) -> Any:
        """Load the restorer (from a checkout or a model id); ``RestorerUnavailable`` when it cannot run."""
        raise RestorerUnavailable(
            f"{self.name} cannot run from rescap here: point --restorer-model at a {self.name} checkout with its weights, "
            "or use the exported prompt files with its own scripts"
        )

    def restore(self, runner: Any, image: Any, prompts: FinalPrompts, seed: int = 0, **options: Any) -> Any:
        """Restore one PIL image with the final prompts; returns a PIL image."""
        raise RestorerUnavailable(f"{self.name} has no in-process runner")


def _relative(image: Path, root: Path | None) -> Path:
    """The image's path below ``root`` (or its name), never escaping upward."""
    image = Path(image)
    if root is not None:
        # the path as given first (a symlinked file keeps its own place below root), then resolved
        for mine, theirs in ((Path(os.path.abspath(image)), Path(os.path.abspath(root))), (image.resolve(), Path(root).resolve())):
            try:
                rel = mine.relative_to(theirs)
            except ValueError:
                continue
            if ".." not in rel.parts:
                return rel
    return Path(image.name)
