"""Token counts against independent tokenizers, on a multilingual corpus (corpus_multilingual.txt
plus texts built from it): CLIP against open_clip's own tokenizer (pure Python BPE, with ftfy and
the ``regex`` module), T5 against SentencePiece (C++) and against the tokenizer transformers
converts from the same model file. Zero mismatches are required. Also: counts leave the
encoders' start/end tokens out, the vocabularies ship as package data, and counting is exact
with none of the optional packages installed."""

from __future__ import annotations

import gzip
import importlib.util
import json
import random
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

import pytest

from rescap.text.tokens import (
    CLIP_MERGES,
    T5_SPIECE,
    ClipBpeCounter,
    HFTokenCounter,
    T5Counter,
    clip_clean,
    counter_for,
    data_file,
    read_sentencepiece,
)

CORPUS_FILE = Path(__file__).with_name("corpus_multilingual.txt")
SCRIPTS = {"english", "english-long", "greek", "japanese", "chinese", "cyrillic", "arabic", "hebrew", "hindi",
           "korean", "thai-vietnamese", "emoji", "accented-latin", "mixed-scripts", "odd-whitespace", "html",
           "unicode-edge"}  # fmt: skip
T5_SPECIALS = ("</s>", "<pad>", "<unk>", "<extra_id_")


def has_surrogates(text: str) -> bool:
    """Text no UTF-8 tokenizer takes (the references raise); rescap reads pairs as the character
    they stand for and a lone one as U+FFFD, as ftfy does."""
    return any(0xD800 <= ord(c) < 0xE000 for c in text)


def _corpus() -> dict[str, list[str]]:
    """The corpus by group ("## name" headers), plus a "built" group: lines joined by newlines,
    CRs, tabs and odd separators, control characters, empty and very long texts."""
    groups: dict[str, list[str]] = defaultdict(list)
    group = ""
    for line in CORPUS_FILE.read_bytes().decode("utf-8").split("\n"):  # not splitlines: U+2028 stays inside
        if line.startswith("## "):
            group = line[3:].strip()
        elif line.strip() and not line.startswith("#"):
            groups[group].append(line)
    lines = [text for texts in groups.values() for text in texts]
    rng = random.Random(0)
    separators = ["\n", "\r\n", "\r", "\t", "  ", "\n\n", " \u2028 ", "", " \x85 "]
    built = [rng.choice(separators).join(rng.sample(lines, rng.randint(2, 5))) for _ in range(80)]
    built += ["", " ", "\n\t\n", "a", "A", "1", "'s", "&amp;", "\u3000", "🦊",
              "\x00a\x01b\x7fc \x1b[31mred\x1b[0m \x93quoted\x94 \x81 \x9d \x0b\x0c\x1c\x1f end",
              "a fox \ud83e\udd8a as a surrogate pair, a lone \udc00 one",
              "line one &rsquo;\nline <two> &rsquo;\nline three &rsquo;",  # ftfy: no entities after a "<"
              " ".join(lines), "\n".join(lines)]  # fmt: skip
    built += ["\n".join(texts) for texts in groups.values()]
    groups["built"] = built
    return dict(groups)


CORPUS = _corpus()


def mismatches(count, reference, skip=lambda text: False) -> dict[str, list[tuple[str, int, int]]]:
    """Per group, the texts where ``count`` and ``reference`` disagree, as (text, ours, theirs)."""
    found = {}
    for group, texts in CORPUS.items():
        bad = [(text[:120], count(text), reference(text)) for text in texts if not skip(text)]
        bad = [b for b in bad if b[1] != b[2]]
        if bad:
            found[group] = bad
    return found


def test_the_corpus_covers_the_scripts():
    assert SCRIPTS <= set(CORPUS)
    assert all(CORPUS[group] for group in SCRIPTS)
    assert sum(len(texts) for texts in CORPUS.values()) >= 200


# --- CLIP ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def open_clip_tokenizer():
    """open_clip's SimpleTokenizer, loaded from its module file: the package's ``__init__`` imports
    the model code and torchvision, which the tokenizer does not use."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("open_clip is not installed (the reference tokenizer for CLIP)")
    pytest.importorskip("ftfy")
    pytest.importorskip("regex")
    path = Path(spec.submodule_search_locations[0]) / "tokenizer.py"
    module_spec = importlib.util.spec_from_file_location("_open_clip_tokenizer", path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except ImportError as error:  # torch or numpy missing
        pytest.skip(f"open_clip's tokenizer does not import: {error}")
    return module.SimpleTokenizer()


def test_clip_counts_match_open_clip(open_clip_tokenizer):
    counter = ClipBpeCounter()
    assert mismatches(counter.count, lambda text: len(open_clip_tokenizer.encode(text))) == {}


def test_clip_cleaning_matches_open_clip(open_clip_tokenizer):
    """The text the BPE sees is the one open_clip's cleaning (ftfy, HTML, whitespace, lower case) makes."""
    clean = open_clip_tokenizer.clean_fn
    assert mismatches(lambda t: hash(clip_clean(t)), lambda t: hash(clean(t))) == {}


def test_clip_counts_match_open_clip_on_single_code_points(open_clip_tokenizer):
    """A sample of all assigned code points, each in letter, digit and space contexts. Code points
    that Python's Unicode database does not know are left out: the ``regex`` module and the
    tokenizers library may class characters from newer Unicode versions differently."""
    import unicodedata

    counter, bad = ClipBpeCounter(), []
    codes = [*range(0x3000), *range(0x3000, 0x30000, 7)]
    for code in codes:
        char = chr(code)
        if 0xD800 <= code < 0xE000 or unicodedata.category(char) == "Cn":
            continue
        text = f"x{char}y {char}{char} 1{char} {char}"
        if counter.count(text) != len(open_clip_tokenizer.encode(text)):
            bad.append(hex(code))
    assert bad == []


def test_clip_leaves_start_and_end_tokens_out(open_clip_tokenizer):
    counter = ClipBpeCounter()
    assert counter.count("") == 0 and counter.count("   ") == 0
    for text in ["a", "a red fox, 2 cubs", CORPUS["greek"][0]]:
        with_ends = int((open_clip_tokenizer([text])[0] != 0).sum())  # start + text + end, zero-padded to 77
        assert counter.count(text) == with_ends - 2


def test_clip_counts_known_values():
    counter = counter_for("clip")
    assert (counter.name, counter.exact) == ("clip-bpe", True)
    assert counter.count("A red fox, 2 cubs") == 6  # a, red, fox, ",", 2, cubs
    assert counter.count("It’s a fox") == counter.count("it's a fox") == 4  # curly apostrophe made straight
    assert counter.count("Tom &amp; Jerry") == counter.count("tom & jerry") == 3
    assert counter.count("ＡＢＣ，１２３") == counter.count("abc,123") == 5  # full-width forms
    assert counter.count("<start_of_text>") == 1 and counter.count("x!<start_of_text>") > 3


# --- T5 --------------------------------------------------------------------------------------


def _t5_model_bytes() -> bytes:
    return gzip.decompress(data_file(T5_SPIECE).read_bytes())


@pytest.fixture(scope="module")
def sentencepiece_t5():
    spm = pytest.importorskip("sentencepiece")
    return spm.SentencePieceProcessor(model_proto=_t5_model_bytes())


@pytest.fixture(scope="module")
def transformers_t5(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("t5-tokenizer")
    (folder / "spiece.model").write_bytes(_t5_model_bytes())
    try:
        return transformers.T5Tokenizer.from_pretrained(str(folder))
    except ImportError as error:  # a converter dependency (sentencepiece, protobuf) is missing
        pytest.skip(f"transformers cannot read spiece.model here: {error}")


def test_t5_counts_match_sentencepiece(sentencepiece_t5):
    """SentencePiece itself. It does not know the special tokens as text (it spells "</s>" out
    letter by letter), the encoders' tokenizers do: texts that contain them are compared below."""
    skip = lambda text: has_surrogates(text) or any(s in text for s in T5_SPECIALS)
    assert mismatches(T5Counter().count, lambda text: len(sentencepiece_t5.encode(text)), skip) == {}


def test_t5_counts_match_transformers(transformers_t5):
    """transformers' own conversion of the same model file, special tokens spelled out included.
    Texts with U+0085 (NEL) are left out: SentencePiece's character map keeps NEL as a character,
    and transformers 5 splits words at it; the model's own tokenizer.json (as FLUX ships it) and
    SentencePiece agree with rescap there."""
    count = lambda text: len(transformers_t5(text, add_special_tokens=False)["input_ids"])
    assert (
        mismatches(T5Counter().count, count, skip=lambda text: "\x85" in text or has_surrogates(text)) == {}
    )


def test_t5_leaves_the_end_token_out(sentencepiece_t5, transformers_t5):
    counter = T5Counter()
    assert counter.count("") == 0 and counter.count("  ") == 0
    for text in ["a", "A red fox, 2 cubs", CORPUS["japanese"][0]]:
        assert counter.count(text) == len(
            sentencepiece_t5.encode(text)
        )  # SentencePiece adds no </s> by default
        assert (
            counter.count(text) == len(transformers_t5(text)["input_ids"]) - 1
        )  # the encoders' tokenizer adds </s>


def test_t5_counts_known_values():
    counter = counter_for("t5")
    assert (counter.name, counter.exact) == ("t5-spm", True)
    assert counter.count("A red fox, 2 cubs") == 9
    assert counter.count("a</s>b<extra_id_0>") == counter.count("a") + 1 + counter.count("b") + 1


def test_sentencepiece_model_reader():
    model = read_sentencepiece(_t5_model_bytes())
    assert len(model["pieces"]) == 32000 and model["unk_id"] == 2 and model["model_type"] == 1
    assert model["pieces"][:3] == [("<pad>", 0.0, 3), ("</s>", 0.0, 3), ("<unk>", 0.0, 2)]
    assert model["pieces"][3][0] == "▁" and model["charsmap"] and model["add_dummy_prefix"]
    sentencepiece = pytest.importorskip("sentencepiece")
    processor = sentencepiece.SentencePieceProcessor(model_proto=_t5_model_bytes())
    assert [piece for piece, _, _ in model["pieces"]] == [processor.id_to_piece(i) for i in range(32000)]
    assert [score for _, score, _ in model["pieces"]] == [processor.get_score(i) for i in range(32000)]


# --- shipping, loading, fallbacks --------------------------------------------------------------


def test_vocabularies_ship_as_package_data():
    from importlib import resources

    folder = resources.files("rescap.text").joinpath("data")
    for name in (CLIP_MERGES, T5_SPIECE, "LICENSES.md"):
        assert folder.joinpath(name).is_file(), name
    merges = gzip.decompress(folder.joinpath(CLIP_MERGES).read_bytes()).decode("utf-8").split("\n")
    assert merges[0].startswith('"bpe_simple_vocab_16e6.txt#version: 0.2') and len(merges) >= 48895
    notices = folder.joinpath("LICENSES.md").read_text(encoding="utf-8")
    assert "Copyright (c) 2021 OpenAI" in notices and "Apache License" in notices and "Version 2.0" in notices


# Runs in a fresh interpreter where the optional packages cannot be found at all.
_WITHOUT_EXTRAS = r"""
import importlib.util, json, sys

HIDDEN = {"open_clip", "clip", "ftfy", "regex", "sentencepiece", "transformers", "torch", "google"}

class Hide:
    def __init__(self, finder):
        self.finder = finder
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            return None
        find = getattr(self.finder, "find_spec", None)
        return find(name, path, target) if find else None
    def __getattr__(self, attr):
        return getattr(self.finder, attr)

sys.meta_path[:] = [Hide(finder) for finder in sys.meta_path]
assert all(importlib.util.find_spec(name) is None for name in HIDDEN)
from rescap.text.tokens import counter_for
texts = json.loads(sys.stdin.read())
out = {kind: {"name": counter_for(kind).name, "exact": counter_for(kind).exact,
              "counts": [counter_for(kind).count(t) for t in texts]} for kind in ("clip", "t5")}
out["loaded"] = sorted(name for name in sys.modules if name.split(".")[0] in HIDDEN)
print(json.dumps(out))
"""


def test_exact_without_any_optional_package():
    texts = [t for group in ("english", "greek", "japanese", "html", "unicode-edge") for t in CORPUS[group]]
    command = [sys.executable, "-c", _WITHOUT_EXTRAS]
    run = subprocess.run(
        command, input=json.dumps(texts), capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["loaded"] == []
    assert (out["clip"]["name"], out["clip"]["exact"]) == ("clip-bpe", True)
    assert (out["t5"]["name"], out["t5"]["exact"]) == ("t5-spm", True)
    clip, t5 = counter_for("clip"), counter_for("t5")
    assert out["clip"]["counts"] == [clip.count(t) for t in texts]
    assert out["t5"]["counts"] == [t5.count(t) for t in texts]


def test_counter_for_caches_and_checks_its_kind():
    assert counter_for("clip") is counter_for("clip") and counter_for("t5") is counter_for("t5")
    assert isinstance(counter_for("clip"), ClipBpeCounter) and isinstance(counter_for("t5"), T5Counter)
    with pytest.raises(ValueError, match="unknown text encoder kind"):
        counter_for("bert")


def test_a_tokenizer_folder_takes_precedence(tmp_path):
    """``counter_for(kind, folder)`` counts with the restorer's own tokenizer.json."""
    t5 = counter_for("t5")
    t5._tokenizer.get().save(str(tmp_path / "tokenizer.json"))
    counter = counter_for("clip", str(tmp_path))
    assert isinstance(counter, HFTokenCounter) and counter.exact and counter.name == f"tokenizer:{tmp_path}"
    for text in CORPUS["cyrillic"] + CORPUS["emoji"]:
        assert counter.count(text) == t5.count(text)


def test_counters_build_once_on_first_use_from_many_threads():
    counter, texts = T5Counter(), CORPUS["english"]
    assert counter._tokenizer._value is None  # constructing reads nothing
    results: list[list[int]] = []
    threads = [
        threading.Thread(target=lambda: results.append([counter.count(t) for t in texts])) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and all(r == results[0] for r in results)


def test_merges_and_model_files_can_be_given(tmp_path):
    merges = tmp_path / "bpe.txt.gz"
    merges.write_bytes(data_file(CLIP_MERGES).read_bytes())
    model = tmp_path / "spiece.model"
    model.write_bytes(_t5_model_bytes())
    text = CORPUS["english-long"][0]
    assert ClipBpeCounter(merges).count(text) == counter_for("clip").count(text)
    assert T5Counter(model).count(text) == counter_for("t5").count(text)
