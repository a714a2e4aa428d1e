"""Prompt logic of the captioner with a scripted VLM: steps, richness, filters, budgets, failures."""

import json

import pytest

from rescap.captioning.captioner import Captioner, CaptionError
from rescap.captioning.bundle import CaptionFailure
from rescap.text.degradation_words import find_degradation_words
from rescap.degradation.synthesize import add_gaussian_noise, gaussian_blur
from rescap.testing.scripted import ScriptedBackend
from rescap.text.tokens import counter_for

LONG_CAPTION = (
    "A blurry photo of a red fox standing in tall golden grass, with a dense green forest behind it, "
    "soft morning light on its thick orange fur, dew drops on the blades of grass, a wooden fence on the left, "
    "and low noisy clouds over distant blue hills with JPEG artifacts."
)


def analysis(category="benefits_from_detail", area="large"):
    return json.dumps({
        "degradation": {"assessment": "strong noise", "noise": "severe", "blur": "none", "compression": "none", "resolution": "none", "other": []},
        "content": {"scene": "a fox in a meadow", "subjects": [{"name": "fur and grass", "area": area, "category": category}]},
    })  # fmt: skip


def script(caption=LONG_CAPTION, category="benefits_from_detail"):
    def answer(prompt, step):
        if step == "analysis":
            return analysis(category)
        if step == "degradation":
            return json.dumps({"assessment": "noisy", "noise": "severe", "blur": "none", "compression": "none", "resolution": "none", "other": []})
        if step == "content":
            return json.dumps({"scene": "a meadow", "subjects": [{"name": "grass", "area": "large", "category": category}]})
        if step == "single":
            return json.dumps({**json.loads(analysis(category)), "caption": caption})
        return json.dumps({"caption": caption})

    return answer


@pytest.fixture
def noisy(astronaut):
    return add_gaussian_noise(astronaut, 30, seed=0)


@pytest.mark.parametrize("mode, steps", [("fused", ["analysis", "caption"]), ("chain", ["degradation", "content", "caption"]), ("single", ["single"])])
def test_one_batched_call_per_step(noisy, astronaut, mode, steps):
    backend = ScriptedBackend(script())
    captioner = Captioner(backend, relevance=None, mode=mode)
    bundles = captioner.caption_batch([noisy, astronaut, noisy])
    assert backend.calls == [(s, 3) for s in steps]
    assert [t.step for t in bundles[0].trace] == steps


def test_degradation_words_never_reach_the_caption_and_budget_holds(noisy):
    captioner = Captioner(ScriptedBackend(script()), relevance=None, restorer="supir", quality_prompt="keep")
    bundle = captioner.caption(noisy)
    counter = counter_for("clip")
    assert find_degradation_words(bundle.caption) == []
    assert bundle.caption.startswith("A photo of a red fox")
    assert counter.count(bundle.positive_prompt) <= 75 and bundle.token_counts.positive_fits
    assert bundle.positive_prompt.endswith("perfect without deformations.")  # SUPIR's a_prompt survives
    assert bundle.token_counts.caption <= captioner.budget
    assert any("blurry" in r for r in bundle.removed)


def test_richness_follows_severity_and_content(astronaut):
    def target(image, category):
        return Captioner(ScriptedBackend(script(category=category)), relevance=None).caption(image).richness.target_tokens

    mild, severe = astronaut, add_gaussian_noise(gaussian_blur(astronaut, 2.5), 35, seed=1)
    assert target(mild, "insensitive") < target(severe, "insensitive")
    assert target(severe, "harmed_by_detail") < target(severe, "insensitive") < target(severe, "benefits_from_detail")


def test_caption_prompt_carries_the_target_and_harmed_subjects(noisy):
    backend = ScriptedBackend(script(category="harmed_by_detail"))
    bundle = Captioner(backend, relevance=None, mode="fused").caption(noisy)
    caption_prompt = backend.prompts[-1]
    assert f"about {bundle.richness.target_words} words" in caption_prompt
    assert "Keep fur and grass brief and generic" in caption_prompt


def test_tag_restorers_get_tags_and_never_none(noisy):
    backend = ScriptedBackend(script(caption="fox, None, grass, blurry, forest, none"))
    bundle = Captioner(backend, relevance=None, restorer="seesr").caption(noisy)
    assert bundle.caption == "fox, grass, forest"
    assert "None" not in bundle.positive_prompt and bundle.positive_prompt == "fox, grass, forest, clean, high-resolution, 8k"
    assert "comma-separated tags" in backend.prompts[-1]


def test_relevance_drops_low_scoring_phrases_but_keeps_the_subject(noisy):
    class Scorer:
        def score(self, images, phrases):
            return [[0.30 if i != 1 else 0.10 for i, _ in enumerate(group)] for group in phrases]

    backend = ScriptedBackend(script(caption="A red fox in grass, a purple elephant, under a cloudy sky."))
    bundle = Captioner(backend, relevance=Scorer()).caption(noisy)
    assert bundle.caption == "A red fox in grass, under a cloudy sky."
    assert [r.kept for r in bundle.relevance_scores] == [True, False, True]


def test_a_failed_item_does_not_sink_the_batch(noisy, astronaut):
    calls = {"n": 0}

    def answer(prompt, step):
        calls["n"] += 1
        return None if (step == "analysis" and calls["n"] == 2) else script()(prompt, step)

    bundles = Captioner(ScriptedBackend(answer), relevance=None, mode="fused").caption_batch([noisy, astronaut, "/no/such.png"])
    assert isinstance(bundles[0].caption, str)
    assert isinstance(bundles[1], CaptionFailure) and bundles[1].stage == "vlm:analysis"
    assert isinstance(bundles[2], CaptionFailure) and bundles[2].stage == "estimate"


def test_unparseable_answers_are_reported(noisy):
    with pytest.raises(CaptionError, match="unparseable"):
        Captioner(ScriptedBackend(lambda p, s: "not json"), relevance=None).caption(noisy)


def test_no_vlm_bundle(noisy):
    bundle = Captioner(None, restorer="spire").caption(noisy)
    assert bundle.caption == "" and bundle.model is None and bundle.richness is None
    assert bundle.restoration_prompt.startswith("denoise with sigma")
    assert "noise" in bundle.negative_prompt and len(bundle.degradation_vector) == 7 + 1 + 7  # severities, overall, raw values


@pytest.mark.parametrize("restorer, window", [("supir", 77), ("pasd", 77), ("dreamclear", 120), ("sd", 77)])
def test_every_restorer_budget_holds_for_a_long_caption(noisy, restorer, window):
    bundle = Captioner(ScriptedBackend(script()), relevance=None, restorer=restorer, policy=None).caption(noisy)
    assert bundle.token_counts.positive <= window - (1 if restorer == "dreamclear" else 2)


class ParamsSpy(ScriptedBackend):
    def __init__(self, answer):
        super().__init__(answer)
        self.params: dict[str, object] = {}

    def _generate(self, conversations, params):
        out = super()._generate(conversations, params)
        self.params[self.calls[-1][0]] = params
        return out


@pytest.mark.parametrize("mode", ["chain", "single"])
def test_degradation_words_are_banned_while_the_caption_is_written(noisy, mode):
    from rescap.text.degradation_words import banned_words

    spy = ParamsSpy(script())
    Captioner(spy, relevance=None, mode=mode).caption(noisy)
    for step, params in spy.params.items():
        if step == "caption":
            assert set(params.banned_words) == set(banned_words()) and "blurry" in params.banned_words
        else:  # the analysis steps must stay free to name the degradation
            assert params.banned_words == []
    off = ParamsSpy(script())
    Captioner(off, relevance=None, ban_degradation_words=False).caption(noisy)
    assert all(p.banned_words == [] for p in off.params.values())
