"""What each chain-of-thought step answers: JSON schemas for constrained decoding, and the models
its answers are parsed into.

Example:
    >>> from rescap.captioning.steps import ContentAnalysis
    >>> content = ContentAnalysis.model_validate({"scene": "a meadow", "subjects": [
    ...     {"name": "grass", "area": "large", "category": "benefits_from_detail"},
    ...     {"name": "a child", "area": "small", "category": "harmed_by_detail"}]})
    >>> content.mix().benefits
    0.75
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..control.richness import ContentMix

Level = Literal["none", "mild", "moderate", "severe"]
Category = Literal["benefits_from_detail", "insensitive", "harmed_by_detail"]
Area = Literal["large", "medium", "small"]
AREA_WEIGHT = {"large": 3.0, "medium": 2.0, "small": 1.0}

_LEVEL = {"enum": ["none", "mild", "moderate", "severe"]}


class DegradationAssessment(BaseModel):
    """Step (a): the VLM's reading of the degradation, next to the measured numbers."""

    assessment: str = ""
    noise: Level = "none"
    blur: Level = "none"
    compression: Level = "none"
    resolution: Level = "none"
    other: list[str] = Field(default_factory=list)


class Subject(BaseModel):
    name: str
    area: Area = "medium"
    category: Category = "insensitive"


class ContentAnalysis(BaseModel):
    """Step (b): the scene and its main subjects, each with a richness category."""

    scene: str = ""
    subjects: list[Subject] = Field(default_factory=list)

    def mix(self) -> ContentMix:
        """Area-weighted shares of the categories."""
        total = sum(AREA_WEIGHT[s.area] for s in self.subjects)
        if total == 0:
            return ContentMix()
        share = {c: sum(AREA_WEIGHT[s.area] for s in self.subjects if s.category == c) / total for c in ("benefits_from_detail", "harmed_by_detail")}
        return ContentMix(benefits=round(share["benefits_from_detail"], 6), harmed=round(share["harmed_by_detail"], 6))

    def harmed_names(self) -> list[str]:
        return [s.name for s in self.subjects if s.category == "harmed_by_detail"]


class CaptionAnswer(BaseModel):
    """Step (c)'s answer."""

    caption: str = ""


class AnalysisAnswer(BaseModel):
    """The fused answer: degradation and content in one object."""

    degradation: DegradationAssessment
    content: ContentAnalysis


class SingleAnswer(AnalysisAnswer):
    """The single-call answer: all three."""

    caption: str = ""


# every step's answer, validated whole: a wrong shape (a list, a missing key) is that image's failure
ANSWERS: dict[str, type[BaseModel]] = {
    "degradation": DegradationAssessment, "content": ContentAnalysis, "caption": CaptionAnswer,
    "analysis": AnalysisAnswer, "single": SingleAnswer,
}  # fmt: skip


def degradation_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "assessment": {"type": "string", "maxLength": 120},
            "noise": _LEVEL, "blur": _LEVEL, "compression": _LEVEL, "resolution": _LEVEL,
            "other": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 2},
        },
        "required": ["assessment", "noise", "blur", "compression", "resolution", "other"],
        "additionalProperties": False,
    }  # fmt: skip


def content_schema(max_subjects: int = 5) -> dict:
    subject = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 32},
            "area": {"enum": ["large", "medium", "small"]},
            "category": {"enum": ["benefits_from_detail", "insensitive", "harmed_by_detail"]},
        },
        "required": ["name", "area", "category"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"scene": {"type": "string", "maxLength": 60}, "subjects": {"type": "array", "items": subject, "maxItems": max_subjects}},
        "required": ["scene", "subjects"],
        "additionalProperties": False,
    }


def caption_schema(max_chars: int) -> dict:
    return {
        "type": "object",
        "properties": {"caption": {"type": "string", "maxLength": max(8, int(max_chars))}},
        "required": ["caption"],
        "additionalProperties": False,
    }


def analysis_schema(max_subjects: int = 5) -> dict:
    return {
        "type": "object",
        "properties": {"degradation": degradation_schema(), "content": content_schema(max_subjects)},
        "required": ["degradation", "content"],
        "additionalProperties": False,
    }


def single_schema(max_subjects: int, max_chars: int) -> dict:
    schema = analysis_schema(max_subjects)
    schema["properties"]["caption"] = caption_schema(max_chars)["properties"]["caption"]
    schema["required"] = ["degradation", "content", "caption"]
    return schema


def chars_for_tokens(tokens: int) -> int:
    """A generous character limit for a caption of ``tokens`` tokens (trimmed to tokens later)."""
    return max(16, int(tokens * 6))
