"""Each adapter against its upstream's defaults and join rule (commits in the adapter modules)."""

import doctest
import importlib

import pytest

from rescap.adapters import available_adapters, get_adapter
from rescap.adapters.supir import SUPIR_A_PROMPT, SUPIR_N_PROMPT

CAPTION = "A red fox standing in fresh snow near pine trees."

# upstream default strings, as read from the repositories
SUPIR_A = ("Cinematic, High Contrast, highly detailed, taken using a Canon EOS R camera, hyper detailed photo - realistic "
           "maximum detail, 32k, Color Grading, ultra HD, extreme meticulous detailing, skin pore detailing, hyper sharpness, "
           "perfect without deformations.")  # fmt: skip
SUPIR_N = ("painting, oil painting, illustration, drawing, art, sketch, oil painting, cartoon, CG Style, 3D render, unreal "
           "engine, blurring, dirty, messy, worst quality, low quality, frames, watermark, signature, jpeg artifacts, "
           "deformed, lowres, over-smooth")  # fmt: skip


def test_upstream_default_texts():
    assert SUPIR_A_PROMPT == SUPIR_A and SUPIR_N_PROMPT == SUPIR_N


@pytest.mark.parametrize(
    "name, positive, negative",
    [
        ("supir", f"{CAPTION} {SUPIR_A}", SUPIR_N),
        ("diffbir", f"{CAPTION[:-1]}, {SUPIR_A}", SUPIR_N + "."),
        ("pasd", f"{CAPTION[:-1]}, clean, high-resolution, 8k", "blurry, dotted, noise, raster lines, unclear, lowres, over-smoothed"),
        ("hypir", CAPTION, ""),
        ("dreamclear", CAPTION, ""),
    ],
)
def test_sentence_restorers(name, positive, negative):
    final = get_adapter(name).final_prompts_for(CAPTION)
    assert (final.positive, final.negative) == (positive, negative)


def test_diffbir_v2_readme_settings():
    final = get_adapter("diffbir", version="v2").final_prompts_for(CAPTION)
    assert final.positive == CAPTION[:-1]
    assert final.negative == "low quality, blurry, low-resolution, noisy, unsharp, weird textures"


def test_diffbir_drops_empty_parts_like_upstream():
    assert get_adapter("diffbir").final_prompts_for("").positive == SUPIR_A
    assert get_adapter("diffbir", version="v2").final_prompts_for("").positive == ""


@pytest.mark.parametrize(
    "name, tags, user, positive",
    [
        ("seesr", "fox, snow, pine", "", "fox, snow, pine, clean, high-resolution, 8k"),
        ("seesr", "fox, snow, pine", "winter", "fox, snow, pine, winter,clean, high-resolution, 8k"),  # upstream f"{tags}, {prompt}," + added
        ("seesr", "fox, None, snow", "", "fox, snow, clean, high-resolution, 8k"),  # never a literal None
        ("osediff", "fox, snow", "", "fox, snow"),
        ("osediff", "fox, snow", "winter", "fox, snow, winter,"),
    ],
)
def test_tag_restorers(name, tags, user, positive, astronaut):
    from rescap.captioning.captioner import Captioner

    adapter = get_adapter(name)
    bundle = Captioner(None, restorer=name).caption(astronaut).model_copy(update={"caption": tags})
    final = adapter.final_prompts(bundle, user_prompt=user)
    assert final.positive == positive
    assert "None" not in final.positive.split(", ")


def test_spire_has_two_prompts_and_a_blind_default():
    spire = get_adapter("spire")
    assert spire.final_prompts_for(CAPTION).extra == {"restoration_prompt": "Remove all degradation"}
    final = spire.final_prompts_for(CAPTION, restoration="denoise with sigma 25; upsample 4x")
    assert final.positive == CAPTION and final.extra["restoration_prompt"] == "denoise with sigma 25; upsample 4x"


@pytest.mark.parametrize("name", sorted(available_adapters()))
def test_every_adapter_names_its_upstream_and_fits_its_window(name):
    adapter = get_adapter(name)
    assert adapter.paper and adapter.repository and adapter.commit
    long_caption = ", ".join(["a detailed wooden fence with moss"] * 30)
    check = adapter.check(adapter.final_prompts_for(long_caption))
    assert all(s.fits for s in check.slots) and check.positive_tokens <= adapter.usable


@pytest.mark.parametrize("module", ["base", "registry", "supir", "seesr", "pasd", "diffbir", "hypir", "dreamclear", "spire",
                                    "diffusers_pipeline", "stable_diffusion"])
def test_module_examples_run(module):
    result = doctest.testmod(importlib.import_module(f"rescap.adapters.{module}"), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_checks_flag_what_a_user_should_know():
    supir = get_adapter("supir")
    long = supir.final_prompts_for("a fox").model_copy(update={"positive": ", ".join(["a very detailed old stone wall"] * 20), "slots": []})
    warnings = " ".join(supir.check(long).warnings)
    assert "over the 75" in warnings and "cut off" in warnings
    none = get_adapter("osediff").final_prompts_for("fox").model_copy(update={"positive": "fox, None,"})
    assert any('literal "None"' in w for w in supir.check(none).warnings)
    assert any("empty caption" in w for w in supir.check(supir.final_prompts_for("")).warnings)
    assert any("degradation" in w for w in supir.check(supir.final_prompts_for("a blurry fox")).warnings)


def test_user_prompts_are_merged_not_replaced(astronaut):
    from rescap.captioning.captioner import Captioner

    bundle = Captioner(None, restorer="supir").caption(astronaut).model_copy(update={"caption": "A man in a spacesuit."})
    final = get_adapter("supir").final_prompts(bundle, user_prompt="astronaut portrait", user_negative="cartoon")
    assert final.positive.startswith("astronaut portrait, A man in a spacesuit.")
    assert final.positive.endswith(SUPIR_A) and final.negative.startswith("cartoon, ")


def test_unknown_adapter_suggests():
    with pytest.raises(KeyError, match="did you mean 'supir'"):
        get_adapter("supr")
