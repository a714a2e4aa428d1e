"""Assembling the ``PromptBundle``: the fitted caption through the restorer's adapter into every
slot's final string, the degradation-aware negative and restoration prompts, counts and evidence."""

from __future__ import annotations

from typing import Any

from .._version import __version__
from ..text.phrases import fit_to_tokens
from .bundle import PhraseRelevance, PromptBundle, Richness, SlotCount, TokenCounts
from .items import PreparedImage
from .restoration_prompts import degradation_vector, negative_prompt, restoration_prompt

NO_VLM_REASON = "no captioning model was asked for (--no-vlm / backend=None)"

# A caption may run this much over its target before phrases are cut (never over the budget).
TARGET_SLACK = 1.25


def caption_limit(target: int, budget: int, has_vlm: bool, exact: bool = False) -> int:
    """Tokens a caption may keep: its target with some slack (none for a number the user gave:
    ``--richness 8`` is a cap), never over the budget."""
    if not has_vlm:
        return budget
    return min(budget, target if exact else max(target, int(target * TARGET_SLACK)))


def degradation_negative(report: Any, adapter: Any) -> str:
    """``adapter``'s negative prompt with terms for what was measured in ``report``, fitted to its window."""
    negative = negative_prompt(report, adapter.negative_prompt)
    if negative:  # measured terms follow the restorer's own; what does not fit the window goes
        negative = fit_to_tokens(negative, adapter.usable, adapter.counter).text
    return negative


def assemble(
    item: PreparedImage, caption: str, removed: list[str], relevance: list[PhraseRelevance] | None, *,
    adapter: Any, budget: int, policy: Any, model: str | None, embedding: list[float] | None = None,
    uncaptioned_reason: str | None = None,
) -> PromptBundle:  # fmt: skip
    """One image's bundle; ``caption`` is already cleaned and relevance-filtered."""
    report = item.report
    assert report is not None
    caption, dropped = adapter.fit_caption(caption, limit=caption_limit(item.target, budget, model is not None, isinstance(policy.mode, int)))
    removed += dropped
    negative = degradation_negative(report, adapter)
    final = adapter.final_prompts_for(caption, negative, restoration_prompt(report))
    counter = adapter.counter
    texts = adapter.slot_texts(final)
    slots = [
        SlotCount(argument=s.argument, tokens=s.tokens, usable=s.usable, caption_tokens=adapter.counter_of(slot).count(s.caption), quality=s.quality)
        for s, slot in zip(texts, adapter.slots)
    ]  # fmt: skip
    counts = TokenCounts(
        counter=counter.name, exact=counter.exact, caption=adapter.counter_of(adapter.rich_slot).count(caption),
        positive=slots[0].tokens, negative=counter.count(final.negative), window=adapter.window,
        positive_fits=all(s.tokens <= s.usable for s in slots), slots=slots,
    )  # fmt: skip
    richness = None
    if model is not None:
        richness = Richness(
            mode=str(policy.mode), target_tokens=item.target, target_words=policy.words_for(item.target),
            budget_tokens=budget, severity=report.overall_severity, benefits_share=item.mix.benefits,
            harmed_share=item.mix.harmed,
        )  # fmt: skip
    return PromptBundle(
        image=item.name, restorer=adapter.name, captioned=model is not None,
        uncaptioned_reason=None if model is not None else uncaptioned_reason or NO_VLM_REASON, caption=caption, positive_prompt=final.positive,
        negative_prompt=final.negative, restoration_prompt=restoration_prompt(report),
        slot_prompts={s.argument: s.text for s in texts}, degradation=report, assessment=item.assessment,
        content=item.content, richness=richness, relevance_scores=relevance, removed=[r for r in removed if r],
        token_counts=counts, trace=item.trace, timings=dict(item.timings), model=model, rescap_version=__version__,
        image_embedding=embedding, degradation_vector=degradation_vector(report),
    )  # fmt: skip
