"""The text every restorer receives, from realistic VLM answers (long, multilingual, with degradation
words next to articles and prepositions), through a scripted backend and through the openai backend
against a stand-in server that ignores length requests.

Every expectation here is computed in the test from the raw answer and the restorer's own upstream
texts (quoted below with their source lines), not from the code under test.
"""

from __future__ import annotations

import difflib
import functools
import json
import re

import pytest

from rescap.adapters import available_adapters, get_adapter
from rescap.captioning.captioner import Captioner
from rescap.captioning.steps import content_schema, degradation_schema
from rescap.degradation.synthesize import add_gaussian_noise, down_up, gaussian_blur, jpeg_compress
from rescap.testing.caption_corpus import CAPTIONS
from rescap.testing.openai_standin import SchemaFiller, StandInServer
from rescap.testing.scripted import ScriptedBackend

# SUPIR@bda91af test.py:34-38 (--a_prompt default)
SUPIR_A = ("Cinematic, High Contrast, highly detailed, taken using a Canon EOS R camera, hyper detailed photo - realistic "
           "maximum detail, 32k, Color Grading, ultra HD, extreme meticulous detailing, skin pore detailing, hyper sharpness, "
           "perfect without deformations.")  # fmt: skip
# SeeSR@8edecc7 test_seesr.py / PASD@396f9ac test_pasd.py:282 (--added_prompt default)
ADDED = "clean, high-resolution, 8k"
# S3Diff@6a2e0a4 src/my_utils/testing_utils.py:65 (pos_prompt)
S3DIFF_POS = "A high-resolution, 8K, ultra-realistic image with sharp focus, vibrant colors, and natural lighting."
QUALITY = {"supir": SUPIR_A, "diffbir": SUPIR_A, "seesr": ADDED, "pasd": ADDED, "s3diff": S3DIFF_POS}

# what must never end a cut (the test's own lists, English and the corpus' other languages)
DANGLING = set(
    """a an the of in on at to for from by with without into onto over under near and or but nor while which who
    that whose its his her their this these tall small large old young red green blue white black golden wooden
    der die das ein eine und mit im von zu le la les un une et avec dans sur de du des el los las y con en del al
    il di da su per e o um uma com em do na в на с и к у за из под над от о""".split()
)
DEGRADATION = re.compile(
    r"\b(blurry|blurred|blur|blurring|noisy|grainy|pixelated|jpe?g|compressed|compression|low[- ]res(olution)?|"
    r"low[- ]quality|out[- ]of[- ]focus|motion blur|unsharp|verschwommen|verrauscht|unscharf\w*|floue?s?|bruitée?s?|"
    r"borros[oa]s?|размыт\w*|зашумл\w*)\b|模糊|ぼやけ",
    re.IGNORECASE,
)
CONTENT_LOOKALIKES = re.compile(r"wood grain|pixel art|ancient artifacts|grain field|grain silo", re.IGNORECASE)
WORD = re.compile(r"\w+(?:['’-]\w+)*")
BOKEH = re.compile(r"bokeh|боке|ボケ", re.IGNORECASE)


def words(text: str) -> list[str]:
    return WORD.findall(text)


def is_cjk(text: str) -> bool:
    return bool(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text))


def check_kept_words_unchanged(raw: str, final: str) -> None:
    """Only deletions, an a/an agreement next to one, and the depth-of-field rewrite to "bokeh"."""
    a, b = words(raw), words(final)
    matcher = difflib.SequenceMatcher(a=[w.lower() for w in a], b=[w.lower() for w in b], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("equal", "delete"):
            continue
        new = {w.lower() for w in b[j1:j2] if not BOKEH.search(w)}  # the depth-of-field rewrite, in any language
        assert new <= {"a", "an", "background", "backdrop"} | {w.lower() for w in a}, (op, a[i1:i2], b[j1:j2], final)


def check_caption(raw: str, caption: str) -> None:
    assert not DEGRADATION.search(CONTENT_LOOKALIKES.sub("", caption)), caption
    for keep in CONTENT_LOOKALIKES.findall(raw):
        if keep.lower() in caption.lower() or not caption:
            continue
        # a content look-alike may go only with a whole phrase cut for length, never by the filter
        assert not re.search(re.escape(keep), raw.split(",")[0], re.IGNORECASE), (keep, caption)
    check_kept_words_unchanged(raw, caption)
    if caption and not is_cjk(caption):
        last = words(caption)[-1]
        natural_end = re.search(rf"\b{re.escape(last)}\s*([,.;!?]|$)", raw)  # where the VLM itself ended a phrase
        assert natural_end or last.lower() not in DANGLING, f"dangling {last!r}: {caption}"
    assert not re.search(r"[,;:]\s*[,;:.。]|\.\s*[,;:]|\s[,.;:]|\.\.(?!\.)|\s{2,}", caption), caption


def check_positive(name: str, raw: str, caption: str, positive: str) -> None:
    quality = QUALITY.get(name, "")
    allowed = {w.lower() for w in words(raw) + words(quality) + ["a", "an", "bokeh"]}
    glued = [w for w in words(positive) if w.lower() not in allowed and not BOKEH.search(w)]
    assert not glued, f"{name}: glued or foreign words {glued}: {positive}"
    assert not re.search(r"[,;:]\s*[,;.。]|[.。]\s*[,;]|\s[,.;]|\.\.(?!\.)|\s{2,}", positive.replace(",clean", ", clean")), positive
    if caption.strip():
        assert positive.lstrip().startswith(caption.strip().rstrip(".。")[:20]), (caption, positive)


@pytest.fixture(scope="module")
def severe(photos):
    """A severely degraded photo: upsampled 4x, blurred, noisy, JPEG 25."""
    image = down_up(photos["coffee"], 4.0)
    return jpeg_compress(add_gaussian_noise(gaussian_blur(image, 1.5), 25, seed=1), 25)


def corpus_backend():
    filler = SchemaFiller(CAPTIONS)
    answers = {"degradation": degradation_schema(), "content": content_schema(5)}
    queue = iter(CAPTIONS * 3)

    def answer(prompt: str, step: str) -> str:
        if step == "caption":
            return json.dumps({"caption": next(queue)}, ensure_ascii=False)
        return json.dumps(filler.fill(answers[step]), ensure_ascii=False)

    return ScriptedBackend(answer)


@functools.lru_cache(maxsize=1)
def clip_reference():
    """open_clip's own CLIP tokenizer (the one the restorers' OpenCLIP encoders use), when installed."""
    from rescap.torch_compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    try:
        import open_clip
    except ImportError:
        return None
    return open_clip.tokenizer.SimpleTokenizer()


def clip_tokens(text: str) -> int:
    reference = clip_reference()
    if reference is None:
        from rescap.text.tokens import counter_for

        return counter_for("clip").count(text)  # checked against the reference in tests/text
    return len(reference.encode(text))


def reference_count(adapter, slot, text: str) -> int:
    """Tokens by the reference tokenizer where one is installed (open_clip's own BPE for CLIP)."""
    if slot.tokenizer == "clip" and type(adapter).__name__ != "DiffusersAdapter":
        return clip_tokens(text)
    return adapter.counter_of(slot).count(text)


NAMES = sorted(n for n in available_adapters() if n != "diffusers")


@pytest.mark.parametrize("richness", ["long", "auto"])
@pytest.mark.parametrize("name", NAMES)
def test_every_restorer_gets_clean_exact_text_from_a_scripted_vlm(name, richness, severe):
    from rescap.control.richness import RichnessPolicy

    adapter = get_adapter(name)
    captioner = Captioner(corpus_backend(), restorer=adapter, relevance=None, policy=RichnessPolicy(mode=richness))
    bundles = captioner.caption_batch([severe] * len(CAPTIONS))
    assert len(bundles) == len(CAPTIONS)
    for raw, bundle in zip(CAPTIONS, bundles):
        assert bundle.trace[-1].parsed["caption"] == raw
        check_caption(raw, bundle.caption)
        check_positive(name, raw, bundle.caption, bundle.positive_prompt)
        for slot in adapter.slots:
            text = bundle.slot_prompts[slot.argument]
            assert reference_count(adapter, slot, text) <= slot.usable, (name, slot.argument, text)
        assert bundle.token_counts.positive_fits


def test_supir_long_richness_on_a_severe_image_carries_a_rich_caption(severe):
    from rescap.control.richness import RichnessPolicy

    bundles = Captioner(corpus_backend(), restorer="supir", relevance=None, policy=RichnessPolicy(mode="long")).caption_batch([severe] * 10)
    tokens = [clip_tokens(b.caption) for b in bundles]
    assert min(tokens) >= 30, tokens
    # the quality prompt fills what is left, cut at a comma: each kept piece is a prefix of a_prompt's pieces
    for b in bundles:
        quality = b.positive_prompt[len(b.caption.strip()) :].strip()
        assert SUPIR_A.startswith(quality), quality
    keep = Captioner(corpus_backend(), restorer="supir", relevance=None, quality_prompt="keep", policy=RichnessPolicy(mode="long"))
    kept = keep.caption_batch([severe] * 10)
    assert all(b.positive_prompt.endswith(SUPIR_A) for b in kept)
    assert max(clip_tokens(b.caption) for b in kept) <= 75 - clip_tokens(SUPIR_A)


@pytest.mark.parametrize("name", ["supir", "pasd", "seesr", "diffbir", "dreamclear", "hypir"])
def test_every_restorer_gets_clean_exact_text_through_the_openai_backend(name, severe):
    pytest.importorskip("openai")
    from rescap.backends import create_backend

    with StandInServer() as server:
        backend = create_backend("openai:standin-vlm", base_url=server.url)
        bundles = Captioner(backend, restorer=name, relevance=None, mode="chain").caption_batch([severe] * 12)
        backend.close()
    adapter = get_adapter(name)
    asked = [r for r in server.requests if "caption" in json.dumps(r.get("response_format", {}))]
    assert asked, "the caption step reached the server"
    for bundle in bundles:
        raw = bundle.trace[-1].parsed["caption"]
        assert raw in CAPTIONS  # the server ignored the length it was asked for
        check_caption(raw, bundle.caption)
        check_positive(name, raw, bundle.caption, bundle.positive_prompt)
        for slot in adapter.slots:
            assert reference_count(adapter, slot, bundle.slot_prompts[slot.argument]) <= slot.usable


def test_glued_strings_from_the_issue_never_happen(astronaut):
    captioner = Captioner(None, restorer="supir")
    bundle = captioner.caption(astronaut)
    for name, caption in [("supir", "an old bronze helmet"), ("pasd", "A lamp in a glass museum"), ("seesr", "helmet, museum")]:
        final = get_adapter(name).final_prompts(bundle.model_copy(update={"caption": caption}))
        assert "helmetCinematic" not in final.positive and "museumclean" not in final.positive
        assert re.search(r"\w[.,] \w|\w, \w", final.positive[len(caption) - 2 : len(caption) + 3]), final.positive
