"""What a reader of the caption sees after the filters and the fitting: whole sentences, the user's
text whole, numbers and brackets intact. Each expected string is what a careful editor would
write by hand for that input (the patterns VLMs produce), not what the code happened to give."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rescap.adapters.registry import get_adapter
from rescap.captioning.text_control import clean_caption
from rescap.text.degradation_words import find_degradation_words, remove_degradation_words


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A blurry, old photo of a cat.", "An old photo of a cat."),
        ("A noisy, dark photo of an alley.", "A dark photo of an alley."),
        ("A blurry, elegant woman in a red dress.", "An elegant woman in a red dress."),
        ("A grainy, 80-year-old man.", "An 80-year-old man."),
        ("A blurrier photo of a dog.", "A photo of a dog."),
        ("A noisier, grainier image of a dog.", "An image of a dog."),
        ("A low res photo of an owl.", "A photo of an owl."),
        ("A lo-res photo of an owl.", "A photo of an owl."),
        ("A photo of a dog with gaussian blur.", "A photo of a dog."),
        ("A photo of a dog, not in focus.", "A photo of a dog."),
        ("A photo with compression artifacts and noise of a car.", "A photo of a car."),
    ],
)
def test_english_removals_leave_grammatical_text(text, expected):
    assert remove_degradation_words(text).text == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Une photo d'un chat avec du bruit.", "Une photo d'un chat."),
        ("Ein Foto einer Katze mit starkem Rauschen.", "Ein Foto einer Katze."),
        ("Una foto de un gato con mucho ruido.", "Una foto de un gato."),
        ("Una foto di un gatto con molto rumore.", "Una foto di un gatto."),
        ("Фото кошки с шумом.", "Фото кошки."),
        ("Ein Hund in niedriger Auflösung.", "Ein Hund."),
        ("Фото кошки в низком разрешении.", "Фото кошки."),
        ("Une photo de basse résolution d'un chien.", "Une photo d'un chien."),
        ("模糊的照片里有一只猫。", "照片里有一只猫。"),
        ("一张低分辨率的照片，一只猫。", "一张照片，一只猫。"),
        ("ノイズの多い写真に写った猫。", "写真に写った猫。"),
        ("ソファの上の猫、画像がぼやけている。", "ソファの上の猫。"),
        ("Ein Hund im Park.", "Ein Hund im Park."),  # content: untouched
        ("Un chien de berger.", "Un chien de berger."),
    ],
)
def test_other_languages_leave_grammatical_text(text, expected):
    assert remove_degradation_words(text).text == expected


def test_comparatives_and_variants_are_reported_too():
    for text in ("a blurrier dog", "a noisier street", "a lo-res owl", "defocus blur on a dog", "artifacting around a dog"):
        assert find_degradation_words(text), text


def bundle(caption: str, negative: str = "") -> SimpleNamespace:
    return SimpleNamespace(caption=caption, negative_prompt=negative, restoration_prompt="")


LONG_FIRST_PHRASE = (
    "A young woman in a long green coat standing on a stone bridge over a narrow canal in the early morning light "
    "with old brick houses and bare trees reflected in the still water below her and a bicycle leaning against "
    "the railing beside a lamp post"
)


@pytest.mark.parametrize("name", ["supir", "hypir", "sd", "diffbir", "dreamclear"])
def test_a_user_prompt_keeps_the_caption_cut_inside_not_dropped(name):
    adapter = get_adapter(name)
    positive = adapter.final_prompts(bundle(LONG_FIRST_PHRASE), "my sister Anna").positive
    assert positive.startswith("my sister Anna, A young woman in a long green coat")
    assert adapter.counter.count(positive) <= adapter.usable


@pytest.mark.parametrize("name", ["supir", "hypir", "diffbir", "s3diff"])
def test_a_user_sentence_keeps_its_own_mark(name):
    positive = get_adapter(name).final_prompts(bundle("A red fox in the snow."), "My grandmother's garden.").positive
    assert positive.startswith("My grandmother's garden. A red fox in the snow")
    assert "., " not in positive and "!, " not in positive


def test_under_keep_the_user_prompt_stays_whole():
    user = "my grandmother Rose and her two brothers standing in front of the family farmhouse in Vermont in the summer of 1952"
    adapter = get_adapter("supir", quality_prompt="keep")
    final = adapter.final_prompts(bundle("A red fox in the snow, near a barn."), user)
    assert final.positive.startswith(user) and adapter.counter.count(final.positive) <= adapter.usable


def test_a_user_negative_is_kept_and_the_whole_negative_fits():
    adapter = get_adapter("supir")
    user = "extra fingers, mutated hands, bad anatomy, text, cropped, out of frame, duplicate, ugly, disfigured"
    final = adapter.final_prompts(bundle("A red fox in the snow.", adapter.negative_prompt), None, user)
    assert final.negative.startswith(user) and adapter.counter.count(final.negative) <= adapter.usable
    assert not [w for w in adapter.check(final).warnings if w.startswith("negative")]


def test_numbers_are_one_tag():
    adapter = get_adapter("seesr")
    assert adapter.final_prompts_for("oak tree, 1,000-year-old trunk, meadow").positive.startswith("oak tree, 1,000-year-old trunk, meadow")
    assert clean_caption("oak tree, 1,000-year-old trunk", "tags")[0] == "oak tree, 1,000-year-old trunk"


def test_fitting_never_leaves_a_bracket_open_or_an_empty_cjk_caption():
    keep = get_adapter("supir", quality_prompt="keep")
    bracket = keep.final_prompts_for(
        "An old man (probably a fisherman, wearing a yellow raincoat and rubber boots) stands on a wooden pier at dawn, "
        "gulls circling above the boats."
    ).caption
    assert bracket.count("(") == bracket.count(")")
    cjk = keep.final_prompts_for("一只橘色的猫坐在窗台上晒太阳旁边放着一盆绿色的 IKEA 植物，" * 3).caption
    assert cjk.startswith("一只橘色的猫")


def test_a_trimmed_quality_prompt_never_ends_in_an_article_and_one_word():
    adapter = get_adapter("s3diff")
    quality = adapter.final_prompts_for("A red fox standing in tall grass under a grey sky" + ", with birds" * 14).quality
    assert not quality.strip().lower().startswith("a high-resolution") or "," in quality


def test_degradation_words_in_a_wider_slot_are_warned_about():
    """FLUX-like two slots: the T5 slot carries the end of the caption, so the check reads it too."""
    from rescap.adapters.base import CLIP_L, PromptSlot, RestorerAdapter, t5

    class TwoSlots(RestorerAdapter):
        name = "two-slots"
        slots = (PromptSlot(encoders=(CLIP_L,)), PromptSlot(argument="prompt_2", encoders=(t5(512),)))

    adapter = TwoSlots()
    caption = ("An old fisherman mending a net on a wooden jetty at dawn with gulls above the boats and nets drying on "
               "poles, a boy carrying a basket of fish along the harbour wall past the lighthouse and the red fishing "
               "huts, two women talking beside a cart of crates, a dog asleep on a coil of rope, a cat watching the gulls "
               "from a stack of lobster pots, the whole photo blurry and full of JPEG artifacts.")  # fmt: skip
    final = adapter.final_prompts_for(caption)
    assert "blurry" in final.extra["prompt_2"] and "blurry" not in final.positive
    assert any("degradation" in w for w in adapter.check(final).warnings)


def test_emoji_sequences_stay_whole():
    family = "A family \U0001f468\u200d\U0001f469\u200d\U0001f467 at the beach"
    assert clean_caption(family, "sentence")[0] == family
