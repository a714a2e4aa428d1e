"""What every restorer adapter does: turn a ``PromptBundle`` into the exact strings a restorer sees,
check them, write them where the restorer reads them, and (where it can run) run the restorer.

Example:
    >>> from rescap.adapters import get_adapter
    >>> adapter = get_adapter("supir")
    >>> adapter.final_prompts_for("a red fox in the snow, ").positive.endswith("perfect without deformations.")
    True
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from ..captioning.bundle import PromptBundle
from ..text.degradation_words import find_degradation_words
from ..restorers import RestorerProfile, get_restorer
from ..text.tokens import TokenCounter, counter_for


class RestorerUnavailable(RuntimeError):
    """The restorer cannot run here (no checkout, weights or GPU); prompts can still be exported."""


class FinalPrompts(BaseModel):
    """The strings a restorer receives, each under the name of its own argument."""

    positive: str
    negative: str = ""
    extra: dict[str, str] = Field(default_factory=dict)  # restorer-specific slots (e.g. SPIRE's restoration prompt)
    caption: str = ""  # the caption part of ``positive``


class PromptCheck(BaseModel):
    """Token counts of the final strings and what a user should know about them."""

    counter: str
    exact: bool
    window: int
    positive_tokens: int
    negative_tokens: int
    warnings: list[str] = Field(default_factory=list)


class RestorerAdapter(abc.ABC):
    """Base class of restorer adapters; subclasses set the class attributes and may override hooks."""

    name: ClassVar[str] = ""
    restorer: ClassVar[str] = "sd"  # the RestorerProfile it uses (budgets, defaults)
    paper: ClassVar[str] = ""
    repository: ClassVar[str] = ""
    commit: ClassVar[str] = ""  # the upstream commit its interface was verified against
    runs_here: ClassVar[bool] = False  # whether ``load``/``restore`` can run without the upstream checkout

    def __init__(self, profile: RestorerProfile | None = None, tokenizer: str | None = None):
        self.profile = profile or get_restorer(self.restorer)
        self.counter: TokenCounter = counter_for(self.profile.tokenizer, tokenizer)

    # -- strings --------------------------------------------------------------------------------
    def join(self, caption: str, quality: str) -> str:
        """Caption + quality prompt, the restorer's way (default: the profile's joiner)."""
        if not quality:
            return caption
        if not caption:
            return quality
        return caption + self.profile.joiner + quality

    def final_prompts_for(self, caption: str, negative: str | None = None, restoration: str = "") -> FinalPrompts:
        """Final strings from a caption (and optional negative/restoration prompts)."""
        return FinalPrompts(
            positive=self.join(caption, self.profile.quality_prompt),
            negative=self.profile.negative_prompt if negative is None else negative,
            caption=caption,
        )

    def final_prompts(
        self, bundle: PromptBundle, user_prompt: str | None = None, user_negative: str | None = None
    ) -> FinalPrompts:
        """The exact strings this restorer sees for ``bundle``; user-given text is merged, not dropped.

        A user prompt is put before the caption (it states what the user knows for sure); a user
        negative prompt is put before the bundle's negative terms. The caption is re-cut so that the
        whole positive prompt still fits the restorer's window.
        """
        caption = bundle.caption
        if user_prompt:
            caption = self._fit_caption(f"{user_prompt.strip().rstrip(',')}, {caption}" if caption else user_prompt.strip())
        negative = bundle.negative_prompt
        if user_negative:
            negative = f"{user_negative.strip().rstrip(',')}, {negative}" if negative else user_negative.strip()
        return self.final_prompts_for(caption, negative, bundle.restoration_prompt)

    def positive_for(self, caption: str) -> str:
        """The final positive prompt for a caption (what the restorer's text encoder reads)."""
        return self.final_prompts_for(caption).positive

    def caption_overhead(self) -> int:
        """Tokens the restorer's own text and separators add around a caption."""
        probe = "fox"
        return max(self.counter.count(self.positive_for(probe)) - self.counter.count(probe), 0)

    def _fit_caption(self, caption: str) -> str:
        """The longest word-prefix of ``caption`` whose final positive prompt fits the window."""
        window = self.profile.caption_window

        def fits(text: str) -> bool:
            return self.counter.count(self.positive_for(text)) <= window

        if fits(caption):
            return caption
        words = caption.split()
        lo, hi = 0, len(words)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(" ".join(words[:mid])):
                lo = mid
            else:
                hi = mid - 1
        return " ".join(words[:lo]).rstrip(" ,;:-")

    def check(self, prompts: FinalPrompts) -> PromptCheck:
        """Token counts and warnings: truncation, a literal "None", an empty caption, degradation words."""
        warnings: list[str] = []
        positive_tokens = self.counter.count(prompts.positive)
        window = self.profile.caption_window
        if positive_tokens > window:
            warnings.append(
                f"positive prompt is {positive_tokens} tokens, over the {window} the text encoder reads: "
                "the end (the restorer's quality prompt) is cut off"
            )
        for label, text in (("positive", prompts.positive), ("negative", prompts.negative), *prompts.extra.items()):
            if "None" in text.replace(",", " ").split():
                warnings.append(f'{label} prompt contains a literal "None" (an unset argument turned into text)')
        if not prompts.caption.strip():
            warnings.append("empty caption: the restorer gets only its own quality prompt")
        found = find_degradation_words(prompts.caption)
        if found:
            warnings.append(f"caption describes the degradation ({', '.join(found)}): restorations get worse")
        return PromptCheck(
            counter=self.counter.name, exact=self.counter.exact, window=self.profile.window,
            positive_tokens=positive_tokens, negative_tokens=self.counter.count(prompts.negative), warnings=warnings,
        )  # fmt: skip

    # -- files ----------------------------------------------------------------------------------
    def export(self, prompts: FinalPrompts, image: Path, out_dir: Path, relative_to: Path | None = None) -> list[Path]:
        """Write the prompt files this restorer reads (default: ``<stem>.txt`` with the positive prompt,
        in the image's folder layout under ``out_dir``)."""
        target = out_dir / _relative(image, relative_to).with_suffix(".txt")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(prompts.positive + "\n", encoding="utf-8")
        return [target]

    # -- running --------------------------------------------------------------------------------
    def load(self, path: str | None, device: str = "cpu", **options: Any) -> Any:
        """Load the restorer (from a checkout or a model id); ``RestorerUnavailable`` when it cannot run."""
        raise RestorerUnavailable(
            f"{self.name} cannot run from rescap here: point --restorer-path at a {self.name} checkout with its weights, "
            "or use the exported prompt files with its own scripts"
        )

    def restore(self, runner: Any, image: Any, prompts: FinalPrompts, seed: int = 0, **options: Any) -> Any:
        """Restore one PIL image with the final prompts; returns a PIL image."""
        raise RestorerUnavailable(f"{self.name} has no in-process runner")


def _relative(image: Path, root: Path | None) -> Path:
    """The image's path below ``root`` (or its name), never escaping upward."""
    image = Path(image)
    if root is not None:
        try:
            rel = image.resolve().relative_to(Path(root).resolve())
            if ".." not in rel.parts:
                return rel
        except ValueError:
            pass
    return Path(image.name)
