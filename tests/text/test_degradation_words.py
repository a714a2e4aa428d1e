"""The degradation-word filter against two corpora: clean captions (nothing may change) and the same
captions seeded with degradation words in every common position (none may survive, and no
content word of the clean caption may be lost)."""

import itertools
import re
from pathlib import Path

import pytest

from rescap.text.degradation_words import find_degradation_words, remove_degradation_words

CLEAN = [line.strip() for line in (Path(__file__).parent / "data" / "clean_captions.txt").read_text().splitlines() if line.strip()]

ADJECTIVES = ["blurry", "noisy", "grainy", "pixelated", "low-resolution", "low quality", "out-of-focus",
              "very blurry", "slightly noisy", "JPEG-compressed", "heavily compressed", "unsharp", "hazy"]  # fmt: skip
CLAUSES = [", with heavy JPEG artifacts", ", with visible noise and blur", " with compression artifacts",
           ", slightly blurry", ", showing motion blur", ", affected by sensor noise and aliasing"]  # fmt: skip
SENTENCES = ["The image is blurry and noisy.", "The photo looks low resolution.", "The picture is grainy, with JPEG artifacts.",
             "Overall the image appears pixelated and out of focus."]  # fmt: skip


def seeded(caption: str, i: int) -> str:
    """Put degradation words into ``caption`` in the ways VLM captions do."""
    kind = i % 5
    body = caption.rstrip(".")
    if kind == 0:  # adjective on the picture noun, or a new lead-in
        adj = ADJECTIVES[i % len(ADJECTIVES)]
        m = re.match(r"(?i)(an?|the)\s+(photo|photograph|picture|portrait|close-up|shot|image|macro shot|aerial view)\b", body)
        return (f"{m.group(1)} {adj} {body[m.start(2):]}." if m else f"A {adj} photo of {body[0].lower()}{body[1:]}.")
    if kind == 1:
        return body + CLAUSES[i % len(CLAUSES)] + "."
    if kind == 2:
        return caption + " " + SENTENCES[i % len(SENTENCES)]
    if kind == 3:
        return SENTENCES[(i + 1) % len(SENTENCES)] + " " + caption
    # trailing, no picture noun: only the unambiguous terms ("hazy" alone is atmosphere, content)
    trailing = [a for a in ADJECTIVES if a != "hazy"]
    return f"{body}, {trailing[(i + 3) % len(trailing)]} and {trailing[(i + 5) % len(trailing)]}."


def content_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text)} - {"a", "an"}


def test_corpora_are_big_enough():
    assert len(CLEAN) >= 60


@pytest.mark.parametrize("caption", CLEAN)
def test_clean_captions_are_left_alone(caption):
    result = remove_degradation_words(caption)
    assert result.text == caption and not result.changed, result


@pytest.mark.parametrize("i, caption", list(enumerate(CLEAN)) + list(enumerate(CLEAN, start=1000)))
def test_seeded_captions_lose_every_degradation_word_and_no_content(i, caption):
    dirty = seeded(caption, i)
    assert find_degradation_words(dirty), dirty  # the seeding really added some
    out = remove_degradation_words(dirty).text
    assert find_degradation_words(out) == [], (dirty, out)
    lost = content_words(caption) - content_words(out)
    assert not lost, (dirty, out, lost)


@pytest.mark.parametrize(
    "dirty, expected",
    [
        ("A blurry, low-resolution photo of a cat.", "A photo of a cat."),
        ("A portrait with a blurred background.", "A portrait with a bokeh background."),
        ("A woman in a park, the background is out of focus.", "A woman in a park, the bokeh background."),
        ("an out-of-focus image of an owl", "an image of an owl"),
        ("A hazy photo of hazy mountains.", "A photo of hazy mountains."),
        ("Pixel art of a castle, pixelated.", "Pixel art of a castle."),
    ],
)
def test_known_rewrites(dirty, expected):
    assert remove_degradation_words(dirty).text == expected


def test_every_listed_term_is_caught_in_context():
    terms = ["blurry", "noisy", "grainy", "pixelated", "low resolution", "low-res", "JPEG artifacts",
             "compression artifacts", "out of focus", "motion blur", "film grain", "aliasing", "blocky"]  # fmt: skip
    for a, b in itertools.combinations(terms, 2):
        out = remove_degradation_words(f"A {a} and {b} picture of a boat on a lake.").text
        assert find_degradation_words(out) == [] and "boat" in out and "lake" in out, out
