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


# -- upstream source lines, evaluated here (the independent route) ---------------------------------
# SUPIR@bda91af test.py:23-48 (argparse defaults) and test.py:98-102 (how they map onto batchify_sample)
SUPIR_TEST_PY_BDA91AF = '''
parser.add_argument("--edm_steps", type=int, default=50)
parser.add_argument("--s_stage1", type=int, default=-1)
parser.add_argument("--s_churn", type=int, default=5)
parser.add_argument("--s_noise", type=float, default=1.01)
parser.add_argument("--s_cfg", type=float, default=4.0)
parser.add_argument("--s_stage2", type=float, default=1.)
parser.add_argument("--num_samples", type=int, default=1)
parser.add_argument("--color_fix_type", type=str, default='Wavelet', choices=["None", "AdaIn", "Wavelet"])
parser.add_argument("--linear_CFG", action='store_true', default=True)
parser.add_argument("--linear_s_stage2", action='store_true', default=False)
parser.add_argument("--spt_linear_CFG", type=float, default=1.0)
parser.add_argument("--spt_linear_s_stage2", type=float, default=0.)
'''
# SUPIR@bca9a72 test.py:30,31,47 (the defaults from 2024-03-05 until 1c3bb2a, 2025-05-12; = gradio's Quality preset)
SUPIR_TEST_PY_BCA9A72 = SUPIR_TEST_PY_BDA91AF.replace("default=1.01", "default=1.003").replace(
    '"--s_cfg", type=float, default=4.0', '"--s_cfg", type=float, default=7.5').replace(
    '"--spt_linear_CFG", type=float, default=1.0', '"--spt_linear_CFG", type=float, default=4.0')  # fmt: skip
SUPIR_CALL = (
    "dict(num_steps=args.edm_steps, restoration_scale=args.s_stage1, s_churn=args.s_churn, s_noise=args.s_noise, "
    "cfg_scale=args.s_cfg, control_scale=args.s_stage2, num_samples=args.num_samples, color_fix_type=args.color_fix_type, "
    "use_linear_CFG=args.linear_CFG, use_linear_control_scale=args.linear_s_stage2, cfg_scale_start=args.spt_linear_CFG, "
    "control_scale_start=args.spt_linear_s_stage2)"
)  # test.py:98-102 less p, seed, p_p, n_p (rescap passes those per image)


def _upstream_call(argparse_lines: str) -> dict:
    import argparse

    parser = argparse.ArgumentParser()
    exec(argparse_lines, {"parser": parser})
    return eval(SUPIR_CALL, {"args": parser.parse_args([])})


@pytest.mark.parametrize("preset, lines", [("fidelity", SUPIR_TEST_PY_BDA91AF), ("quality", SUPIR_TEST_PY_BCA9A72)])
def test_supir_sampler_presets_are_upstream_test_py(preset, lines):
    from rescap.adapters.supir import SAMPLER_PRESETS

    assert SAMPLER_PRESETS[preset] == _upstream_call(lines)


def test_upstream_joins_written_out(astronaut):
    """Each join as its upstream line writes it, for a caption and the default texts."""
    caption, tags = "A red fox in fresh snow.", "fox, snow, pine"
    added = "clean, high-resolution, 8k"  # SeeSR test_seesr.py:246, PASD test_pasd.py:282
    # SUPIR SUPIR_model.py:164: ''.join([_p, p_p]); rescap's caption part ends with ". "
    assert get_adapter("supir").final_prompts_for(caption).positive == "".join([caption + " ", SUPIR_A])
    # DiffBIR loop.py:167-169: ", ".join([text for text in [caption, pos_prompt] if text]) (caption's "." dropped)
    assert get_adapter("diffbir").final_prompts_for(caption).positive == ", ".join([t for t in [caption[:-1], SUPIR_A] if t])
    # SeeSR test_seesr.py:142 f"{res[0]}, {args.prompt}," then :185 += added_prompt
    user = "winter"
    seesr = get_adapter("seesr")
    from rescap.captioning.captioner import Captioner

    bundle = Captioner(None, restorer="seesr").caption(astronaut).model_copy(update={"caption": tags})
    assert seesr.final_prompts(bundle, user_prompt=user).positive == f"{tags}, {user}," + added
    # OSEDiff: f"{tags}, {prompt}," with no added prompt
    assert get_adapter("osediff").final_prompts(bundle, user_prompt=user).positive == f"{tags}, {user},"
    # S3Diff testing_utils.py:65-66: one fixed pos/neg prompt; rescap puts the caption before it
    s3 = get_adapter("s3diff").final_prompts_for(caption)
    pos = "A high-resolution, 8K, ultra-realistic image with sharp focus, vibrant colors, and natural lighting."
    neg = "oil painting, cartoon, blur, dirty, messy, low quality, deformation, low resolution, oversmooth"
    assert (s3.positive, s3.negative) == (f"{caption[:-1]}, {pos}", neg)


def test_every_command_takes_the_same_adapter_names():
    """One list: every name the adapters registry has, and nothing else (no second source of restorers)."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    assert not (root / "rescap" / "restorers.py").exists()
    names = set(available_adapters())
    assert {"sd", "s3diff", "diffusers", "supir", "seesr", "osediff", "pasd", "diffbir", "hypir", "spire", "dreamclear"} <= names
    for name in names:
        adapter = get_adapter(name)
        assert adapter.slots and all(s.usable > 0 for s in adapter.slots) and adapter.description
