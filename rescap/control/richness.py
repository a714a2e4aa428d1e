"""How long a caption should be: richness fitted to degradation, content and the token budget.

Text reactivates a restorer's generative prior, and how much text helps grows with how far the
degradation is from the restorer's training; too much gives messy artifacts. Content matters:
textures (foliage, fur, fabric, water, stone) gain from detail, faces, hands, text and small
people lose (detail there becomes hallucination). So in ``auto`` mode

    target = base + severity * (severity_gain + detail_gain * share_benefits)
             - harm_penalty * share_harmed * (0.5 + 0.5 * severity)

clamped to [min_tokens, budget], where ``budget`` is what the restorer's text window leaves once its
own quality prompt and special tokens are counted. The severity slope stays positive whatever the
content (``severity_gain > harm_penalty / 2``), so richness never falls as degradation grows.
Named modes fix the target (short, medium, long); an integer is a cap: the caption keeps at most
that many tokens (no minimum, no slack). Every
mode is capped by the budget. The formula and the named targets are set for a 77-token CLIP
window; a wider window (T5: 120 for DreamClear, 256 for SD3, 512 for FLUX) scales them by
``budget / 75``, at most ``wide_scale_max`` times, because T5-conditioned models are trained on
long, detailed captions (a named or auto target that fills a CLIP window would be short there).

Example:
    >>> from rescap.control.richness import ContentMix, RichnessPolicy
    >>> policy = RichnessPolicy()
    >>> policy.target_tokens(0.1, ContentMix(), budget=75) < policy.target_tokens(0.8, ContentMix(), budget=75)
    True
    >>> policy.target_tokens(0.9, ContentMix(benefits=1.0), budget=20)
    20
"""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAMED_TOKENS = {"short": 15, "medium": 35, "long": 60}
CLIP_USABLE = 75  # the window the targets are set for: 77 CLIP tokens less start and end
RichnessMode = Union[Literal["auto", "short", "medium", "long"], int]


class ContentMix(BaseModel):
    """Shares of the picture (by area) in each richness category; they sum to at most 1."""

    model_config = ConfigDict(frozen=True)

    benefits: float = Field(0.0, ge=0.0, le=1.0)
    harmed: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _bounded(self) -> "ContentMix":
        if self.benefits + self.harmed > 1.0 + 1e-9:
            raise ValueError("benefits + harmed shares exceed 1")
        return self

    @property
    def insensitive(self) -> float:
        return max(0.0, 1.0 - self.benefits - self.harmed)


def parse_richness(value: str | int) -> RichnessMode:
    """``auto``/``short``/``medium``/``long`` or a positive token count, from CLI text."""
    if isinstance(value, int):
        mode: RichnessMode = value
    elif str(value).strip().isdigit():
        mode = int(str(value).strip())
    else:
        mode = str(value).strip().lower()  # type: ignore[assignment]
        if mode not in ("auto", *NAMED_TOKENS):
            raise ValueError(f"richness must be auto, short, medium, long or a number of tokens, not {value!r}")
    if isinstance(mode, int) and mode <= 0:
        raise ValueError("a token count for richness must be positive")
    return mode


class RichnessPolicy(BaseModel):
    """Target caption length in tokens of the restorer's text encoder."""

    model_config = ConfigDict(frozen=True)

    mode: RichnessMode = "auto"
    min_tokens: int = Field(6, ge=0)
    base_tokens: float = Field(12.0, ge=0)
    severity_gain: float = Field(40.0, ge=0)
    detail_gain: float = Field(16.0, ge=0)
    harm_penalty: float = Field(16.0, ge=0)
    wide_scale_max: float = Field(3.0, ge=1.0)

    @model_validator(mode="after")
    def _monotonic(self) -> "RichnessPolicy":
        if self.severity_gain < self.harm_penalty / 2:
            raise ValueError("severity_gain must be at least harm_penalty / 2, or richness could fall with severity")
        if isinstance(self.mode, str):
            parse_richness(self.mode)
        return self

    def target_tokens(self, severity: float, mix: ContentMix, budget: int) -> int:
        """Tokens the caption should take, never more than ``budget``."""
        severity = min(max(float(severity), 0.0), 1.0)
        budget = max(int(budget), 0)
        if isinstance(self.mode, int):  # a number is a cap, exactly: no minimum, no slack
            return int(min(budget, self.mode))
        if self.mode in NAMED_TOKENS:
            wanted = float(NAMED_TOKENS[self.mode])
        else:
            wanted = (
                self.base_tokens
                + severity * (self.severity_gain + self.detail_gain * mix.benefits)
                - self.harm_penalty * mix.harmed * (0.5 + 0.5 * severity)
            )
        wanted *= min(max(budget / CLIP_USABLE, 1.0), self.wide_scale_max)
        return int(min(budget, max(self.min_tokens, round(wanted))))

    @staticmethod
    def words_for(tokens: int) -> int:
        """About how many English words fill ``tokens`` CLIP tokens (captions run ~1.25 tokens/word)."""
        return max(1, int(tokens / 1.25))
