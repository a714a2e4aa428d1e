"""A VLM answer of the wrong shape fails its image only, with the reason; the batch goes on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rescap.captioning.bundle import CaptionFailure
from rescap.captioning.captioner import Captioner
from rescap.testing.scripted import ScriptedBackend

GOOD = {
    "degradation": {"assessment": "-", "noise": "none", "blur": "none", "compression": "none", "resolution": "none", "other": []},
    "content": {"scene": "a street", "subjects": [{"name": "a car", "area": "large", "category": "insensitive"}]},
    "caption": {"caption": "A red car on a wet street."},
}
GOOD["analysis"] = {"degradation": GOOD["degradation"], "content": GOOD["content"]}
GOOD["single"] = {**GOOD["analysis"], **GOOD["caption"]}


@pytest.mark.parametrize(
    "mode, step, answer, reason",
    [
        ("chain", "degradation", ["a cat"], "valid dictionary"),
        ("chain", "content", {"scene": "x", "subjects": "oops"}, "subjects"),
        ("chain", "caption", "A cat.", "valid dictionary"),
        ("chain", "caption", {"caption": ["A", "cat"]}, "caption"),
        ("fused", "analysis", {"degradation": GOOD["degradation"]}, "content"),
        ("single", "single", [], "valid dictionary"),
    ],
)
def test_a_wrong_shape_fails_that_image_only(mode, step, answer, reason, photos):
    images = [photos["astronaut"][:64, :64], photos["coffee"][:64, :64], photos["astronaut"][64:128, :64]]
    calls = {"n": 0}

    def answers(prompt, this_step):
        if this_step == step:
            calls["n"] += 1
            if calls["n"] == 2:  # the second image of the batch gets the wrong shape
                return json.dumps(answer)
        return json.dumps(GOOD[this_step])

    out = Captioner(ScriptedBackend(answers), mode=mode, relevance=None).caption_batch(images)
    assert [isinstance(o, CaptionFailure) for o in out] == [False, True, False]
    assert out[1].stage == f"vlm:{step}" and reason in out[1].error
    assert out[0].caption.startswith("A red car") and out[2].caption.startswith("A red car")


def test_a_backend_answering_fewer_items_fails_the_rest(photos):
    class Short(ScriptedBackend):
        def _generate(self, conversations, params):
            results = super()._generate(conversations, params)
            return results[:-1] if len(results) > 1 else results  # the last of a batch goes missing

    out = Captioner(Short(lambda p, s: json.dumps(GOOD[s])), mode="chain", relevance=None).caption_batch(
        [photos["astronaut"][:64, :64], photos["coffee"][:64, :64]]
    )
    assert not isinstance(out[0], CaptionFailure) and isinstance(out[1], CaptionFailure)


def test_recaption_goes_on_past_a_captioner_that_raises(tmp_path, photos):
    """An unexpected exception in a whole batch becomes that batch's error records; the job goes on."""
    from PIL import Image

    from rescap.recaption.engine import run_local
    from rescap.recaption.sources import iter_source
    from rescap.recaption.writers import JsonlWriter

    for i in range(4):
        Image.fromarray(np.asarray(photos["astronaut"][:64, :64])).save(tmp_path / f"{i}.png")

    class Flaky(Captioner):
        calls = 0

        def caption_prepared(self, items, progress=None):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise AttributeError("'list' object has no attribute 'get'")
            return super().caption_prepared(items, progress)

    writer = JsonlWriter(tmp_path / "out" / "r.jsonl")
    summary = run_local(iter_source(tmp_path, None), writer, Flaky(None, relevance=None), batch_size=2)
    writer.close()
    rows = [json.loads(line) for line in (tmp_path / "out" / "r.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and summary.failed == 2
    assert [r["status"] for r in rows] == ["error", "error", "ok", "ok"]
    assert "AttributeError" in rows[0]["error"]
