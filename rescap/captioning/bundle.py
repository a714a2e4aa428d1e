"""``PromptBundle``: everything the captioner hands to a restorer adapter, and how it got there."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ..degradation.report import DegradationReport
from .steps import ContentAnalysis, DegradationAssessment


class StepTrace(BaseModel):
    """One chain-of-thought step as it ran: the prompt, the raw answer, what was parsed from it."""

    step: str
    prompt: str
    output: str | None = None
    parsed: dict[str, Any] | None = None
    error: str | None = None
    seconds: float | None = None  # this image's share of the batched call


class PhraseRelevance(BaseModel):
    phrase: str
    score: float
    kept: bool


class Richness(BaseModel):
    mode: str
    target_tokens: int
    target_words: int
    budget_tokens: int
    severity: float
    benefits_share: float = 0.0
    harmed_share: float = 0.0


class SlotCount(BaseModel):
    """One text argument of the restorer: its tokens against what its encoder reads."""

    argument: str  # "prompt", "prompt_2", ...
    tokens: int
    usable: int  # the window less the special tokens
    caption_tokens: int = 0
    quality: str = ""  # the part of the restorer's quality prompt this slot kept


class TokenCounts(BaseModel):
    counter: str  # which counter counted ("clip-bpe", "t5-spm", "tokenizer:<path>", ...)
    exact: bool
    caption: int
    positive: int
    negative: int
    window: int  # the restorer's text-encoder window, special tokens included
    positive_fits: bool
    slots: list[SlotCount] = Field(default_factory=list)


class PromptBundle(BaseModel):
    """Prompts for one image, with the evidence behind them.

    ``positive_prompt`` is the caption joined with the restorer's own quality prompt the way that
    restorer joins them; ``negative_prompt`` adds terms for what was measured to the restorer's
    negative prompt; ``restoration_prompt`` names the degradations with their numbers (SPIRE style).
    """

    image: str | None = None
    restorer: str
    captioned: bool = Field(True, description="whether a VLM captioned the image (false: degradation-only prompts)")
    uncaptioned_reason: str | None = Field(None, description="why not, when captioned is false")
    caption: str
    positive_prompt: str
    negative_prompt: str
    restoration_prompt: str
    slot_prompts: dict[str, str] = Field(default_factory=dict, description="every text argument of the restorer")
    degradation: DegradationReport
    assessment: DegradationAssessment | None = None
    content: ContentAnalysis | None = None
    richness: Richness | None = None
    relevance_scores: list[PhraseRelevance] | None = None
    removed: list[str] = Field(default_factory=list, description="text removed by the filters, in order")
    token_counts: TokenCounts
    trace: list[StepTrace] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    model: str | None = None
    rescap_version: str
    image_embedding: list[float] | None = None
    degradation_vector: list[float] | None = None


class CaptionFailure(BaseModel):
    """An image the captioner could not handle; the batch went on without it."""

    image: str | None = None
    stage: str  # "read", "estimate", "vlm:<step>", "control"
    error: str
    unreachable: bool = False  # the VLM server could not be reached: retry the image later, it is not at fault
