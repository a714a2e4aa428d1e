"""What the estimator could not observe is stated nowhere: not in the restoration prompt, not in
the negative prompt; the VLM's degradation step is told which numbers are uncertain; the CLI marks
them. The universal degradations reach all of these when observed."""

import json

import pytest
from typer.testing import CliRunner

from rescap.captioning.restoration_prompts import BLIND_RESTORATION_PROMPT, negative_prompt, restoration_prompt
from rescap.captioning.templates import PromptTemplates
from rescap.degradation.report import DegradationReport

runner = CliRunner()


def _report(**kw) -> DegradationReport:
    base = dict(noise_sigma=1.0, blur_sigma=0.1, jpeg_quality=None, scale_factor=1.0)
    return DegradationReport.from_measurements(**(base | kw))


def test_unobserved_blur_is_in_no_prompt():
    foggy = _report(blur_sigma=2.4, blur_confidence=0.2)
    assert "deblur" not in restoration_prompt(foggy)
    assert restoration_prompt(foggy) == BLIND_RESTORATION_PROMPT
    assert "blurry" not in negative_prompt(foggy)
    sure = _report(blur_sigma=2.4, blur_confidence=0.9)
    assert "deblur with sigma 2.4" in restoration_prompt(sure)
    assert "blurry" in negative_prompt(sure)


def test_what_was_not_observed_weighs_nothing():
    for confidence in (0.0, 0.25, 0.49):
        unseen = _report(blur_sigma=3.0, blur_confidence=confidence)
        assert unseen.blur_severity == 0.0 and unseen.blur_level.value == "none"
        assert unseen.overall_severity < 0.1
    seen = _report(blur_sigma=3.0, blur_confidence=0.5)
    assert seen.blur_level.value == "severe"
    assert _report(blur_sigma=3.0, blur_confidence=1.0).blur_severity == seen.blur_severity


@pytest.mark.parametrize(
    "measured, words",
    [
        ({"exposure_gain": 0.3}, ["brighten by 3.3x"]),
        ({"exposure_gain": 2.5}, ["darken by 2.5x"]),
        ({"haze_transmission": 0.4}, ["dehaze"]),
        ({"colour_cast_strength": 0.3, "colour_cast_hue": "orange"}, ["correct the orange colour cast"]),
    ],
)
def test_universal_degradations_reach_the_restoration_prompt(measured, words):
    prompt = restoration_prompt(_report(**measured))
    for w in words:
        assert w in prompt
    assert restoration_prompt(_report(**measured, **{_conf(measured): 0.1})) == BLIND_RESTORATION_PROMPT


def _conf(measured: dict) -> str:
    key = next(iter(measured))
    return {"exposure_gain": "exposure_confidence", "haze_transmission": "haze_confidence"}.get(key, "colour_cast_confidence")


def test_measured_terms_follow_a_negative_that_ends_in_a_full_stop():
    # DiffBIR's negative ends "over-smooth." (its README): the measured terms join it as a list
    base = "low quality, blurry, over-smooth."
    hazy = negative_prompt(_report(haze_transmission=0.35), base)
    assert hazy.startswith("low quality, blurry, over-smooth, ") and ".," not in hazy
    assert negative_prompt(_report(), base) == base  # nothing measured: the restorer's own, exactly


def test_negative_prompt_names_the_exposure_direction():
    assert "underexposed" in negative_prompt(_report(exposure_gain=0.3))
    assert "overexposed" in negative_prompt(_report(exposure_gain=3.0))
    assert "hazy" in negative_prompt(_report(haze_transmission=0.35))


def test_degradation_step_marks_uncertain_numbers():
    templates = PromptTemplates.load()
    text = templates.render("degradation", degradation=_report(blur_sigma=2.0, blur_confidence=0.1, exposure_gain=0.4))
    blur_line = next(line for line in text.splitlines() if line.startswith("- blur"))
    noise_line = next(line for line in text.splitlines() if line.startswith("- noise"))
    assert "uncertain" in blur_line and "uncertain" not in noise_line
    assert "2.5x too dark" in text
    normal = templates.render("degradation", degradation=_report(exposure_gain=1.004))
    assert "exposure: normal (none)" in normal  # never "1.0x too bright"
    assert "- haze" in text and "- colour cast" in text


def test_cli_table_marks_low_confidence(tmp_path):
    import numpy as np
    from PIL import Image

    from rescap.cli.app import app

    ramp = np.uint8(np.repeat(np.tile(np.linspace(20, 235, 128), (128, 1))[..., None], 3, axis=2))
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    table = runner.invoke(app, ["estimate", str(tmp_path / "ramp.png")], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "not observed with confidence" in table.stdout
    record = json.loads(runner.invoke(app, ["estimate", str(tmp_path / "ramp.png"), "--json"]).stdout)
    blur_cell = f"{record['blur_sigma']:.2f}?"  # the blur value itself carries the mark
    assert blur_cell in table.stdout, table.stdout
    assert record["blur_confidence"] < 0.5
