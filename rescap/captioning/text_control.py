"""Control of the caption text after the VLM: clean it, drop degradation words, score relevance,
and fit it to the richness target at phrase boundaries.

Why this order: degradation words go first (a phrase that only named the degradation must not be
scored or counted); relevance then drops phrases untrue of the image; what remains is cut to its
target from the end, so the main subject (first) always stays.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ..control.relevance import select_phrases
from ..text.degradation_words import remove_degradation_words
from ..text.phrases import keep_phrases, phrases_of, split_at_commas
from .bundle import PhraseRelevance

_EMPTY = ("none", "null", "n/a")
_JOINERS = ("\u200c", "\u200d")


def clean_caption(caption: str, style: str) -> tuple[str, list[str]]:
    """Control characters out, tag lists tidied, degradation words removed; returns (text, removed)."""
    removed: list[str] = []
    # control and private-use characters are never content (weak models emit them)
    # (but the joiners: U+200D binds emoji sequences, U+200C/U+200D are letters' shaping in Persian and Indic scripts)
    text = "".join(ch if ch in _JOINERS or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs", "Cn") else " " for ch in caption)
    text = " ".join(text.split())
    if style == "tags":
        tags = [t.strip() for t in split_at_commas(text.replace(";", ","))]  # "1,000-year-old" is one tag
        kept = [t for t in tags if t and t.lower() not in _EMPTY]
        removed += [t for t in tags if t and t not in kept]
        text = ", ".join(kept)
    if text.strip().lower() in _EMPTY:
        removed.append(text)
        text = ""
    result = remove_degradation_words(text)
    removed += result.removed + [f"{a} -> {b}" for a, b in result.rewritten]
    return result.text, removed


def score_relevance(scorer: Any, pictures: list[Any], captions: list[str], margin: float) -> list[list[PhraseRelevance] | None]:
    """Per caption: each phrase's CLIP score and whether it is kept (``None`` for one-phrase captions)."""
    out: list[list[PhraseRelevance] | None] = [None] * len(captions)
    chosen = [i for i, text in enumerate(captions) if text and len(phrases_of(text)) > 1]
    if scorer is None or not chosen:
        return out
    phrases = [[p.text for p in phrases_of(captions[i])] for i in chosen]
    scores = scorer.score([pictures[i] for i in chosen], phrases)
    for i, group, group_scores in zip(chosen, phrases, scores):
        out[i] = [PhraseRelevance(phrase=p.phrase, score=round(p.score, 4), kept=p.kept) for p in select_phrases(group, group_scores, margin)]
    return out


def apply_relevance(caption: str, relevance: list[PhraseRelevance] | None, removed: list[str]) -> str:
    """The caption without the phrases relevance dropped; the kept ones byte-identical."""
    if not relevance:
        return caption
    phrases = phrases_of(caption)
    keep = [r.kept for r in relevance]
    removed += [r.phrase for r in relevance if not r.kept]
    return keep_phrases(phrases, keep) if len(keep) == len(phrases) else caption
