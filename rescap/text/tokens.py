"""Counting text tokens the way a restorer's text encoder does.

Both vocabularies that the restorers' text encoders use ship with rescap (``rescap/text/data``, with
their licences in ``LICENSES.md`` there), so every count is exact on the default install:

- **CLIP** (``counter_for("clip")``, :class:`ClipBpeCounter`): CLIP's byte-pair encoding (OpenAI
  CLIP's merge list ``bpe_simple_vocab_16e6.txt.gz``), used by the CLIP text encoders of Stable
  Diffusion 1.x/2.x and SDXL (both) and by the restorers built on them. Counts are those of
  open_clip's tokenizer, cleaning included: ftfy's character fixes (curly quotes, full-width
  forms, ligatures, control characters, NFC), HTML entities, whitespace, lower case. ftfy itself
  is not needed; only its repair of mojibake (text decoded with the wrong codec, such as
  ``cafÃ©``) is not reproduced.
- **T5** (``counter_for("t5")``, :class:`T5Counter`): T5 v1.1's SentencePiece model (Google's
  ``cc_all.32000`` vocabulary: 32,000 pieces, plus the 100 ``<extra_id_N>`` tokens), used by
  DreamClear's T5-XXL (120-token window), SD3 (256) and FLUX (512). Counts are SentencePiece's,
  which the encoders' Hugging Face tokenizers give too.

A special token spelled out in the text (``<start_of_text>``, ``</s>``, ``<extra_id_0>``) counts
as one token where the encoder's tokenizer takes it as one. A restorer's own tokenizer folder
(``tokenizer.json``, or ``vocab.json`` + ``merges.txt``, e.g. the ``tokenizer/`` of a diffusers
checkpoint) can be given instead: ``counter_for(kind, folder)`` counts with it
(:class:`HFTokenCounter`).

Counts never include the start/end tokens the encoder adds (``TextEncoder.special_tokens`` in
``rescap.adapters.base``: CLIP 2, T5 1). A counter builds its tokenizer on first use, once (0.1 to 0.2 s), and
:func:`counter_for` keeps the counters it made.

Example:
    >>> from rescap.text.tokens import counter_for
    >>> clip = counter_for("clip")
    >>> clip.exact, clip.count("A red fox, 2 cubs"), clip.count("Ο γρήγορος αλεπού")
    (True, 6, 30)
    >>> counter_for("t5").count("A red fox, 2 cubs")
    9
"""

from __future__ import annotations

import gzip
import html
import re
import struct
import threading
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

CLIP_MERGES = "clip_bpe_simple_vocab_16e6.txt.gz"  # OpenAI CLIP's merge list, byte for byte
T5_SPIECE = "t5_spiece.model.gz"  # T5 v1.1's SentencePiece model (cc_all.32000), gzipped

# open_clip's split of cleaned text: its two special tokens, contractions, letter runs, single
# digits, runs of anything else (case-insensitive, as open_clip matches it)
_CLIP_SPECIALS = ("<start_of_text>", "<end_of_text>")
_CLIP_SPLIT = r"(?i)<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+"


class TokenCounter(Protocol):
    name: str
    exact: bool

    def count(self, text: str) -> int: ...


def truncate_to_tokens(counter: TokenCounter, text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` ending at a word boundary that fits in ``max_tokens``."""
    if max_tokens <= 0:
        return ""
    if counter.count(text) <= max_tokens:
        return text
    words = text.split()
    lo, hi = 0, len(words)
    while lo < hi:  # binary search on the number of words kept
        mid = (lo + hi + 1) // 2
        if counter.count(" ".join(words[:mid])) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:  # not even the first word fits: cut it by characters
        word, lo_c, hi_c = words[0], 0, len(words[0])
        while lo_c < hi_c:
            mid = (lo_c + hi_c + 1) // 2
            if counter.count(word[:mid]) <= max_tokens:
                lo_c = mid
            else:
                hi_c = mid - 1
        return word[:lo_c]
    return " ".join(words[:lo]).rstrip(" ,;:-")


def data_file(name: str) -> Any:
    """A vocabulary shipped in ``rescap/text/data`` (an ``importlib.resources`` traversable)."""
    return resources.files("rescap.text").joinpath("data", name)


def _read(source: Any) -> bytes:
    """The bytes of a file or shipped vocabulary, un-gzipped when its name ends in .gz."""
    raw = source.read_bytes()
    return gzip.decompress(raw) if source.name.endswith(".gz") else raw


class _Lazy:
    """Builds a tokenizer on first use, once, even from several threads."""

    def __init__(self, build: Callable[[], Any]):
        self._build, self._value, self._lock = build, None, threading.Lock()

    def get(self) -> Any:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


# --- CLIP ------------------------------------------------------------------------------------


def _byte_alphabet() -> list[str]:
    """GPT-2/CLIP byte-level alphabet, in vocabulary order: printable bytes stand for themselves,
    the other bytes for the characters from U+0100 on."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    others = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(others))]


@lru_cache(maxsize=1)
def _entities() -> dict[str, str]:
    """The HTML entities ftfy decodes: HTML5's named references that end in ';', and the
    upper-case spelling of the lower-case ones where that spelling is not an entity itself
    (``&EACUTE;`` is 'É')."""
    table = {}
    for name, char in html.entities.html5.items():
        if name.endswith(";"):
            table["&" + name] = char
            upper = "&" + name.upper()
            if name == name.lower() and html.unescape(upper) == upper:
                table[upper] = char.upper()
    return table


_ENTITY = re.compile(r"&#?[0-9A-Za-z]{1,24};")
_C1 = re.compile("[\x80-\x9f]")
_ANSI = re.compile("\x1b\\[((?:\\d|;)*)([a-zA-Z])")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_LIGATURES = str.maketrans({
    "Ĳ": "IJ", "ĳ": "ij", "ŉ": "ʼn", "Ǳ": "DZ", "ǲ": "Dz", "ǳ": "dz", "Ǆ": "DŽ", "ǅ": "Dž", "ǆ": "dž",
    "Ǉ": "LJ", "ǈ": "Lj", "ǉ": "lj", "Ǌ": "NJ", "ǋ": "Nj", "ǌ": "nj",
    "ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "ſt", "ﬆ": "st",
})  # fmt: skip
_QUOTES = str.maketrans(
    {**{c: "'" for c in "\u02bc\u2018\u2019\u201a\u201b"}, **{c: '"' for c in "\u201c\u201d\u201e\u201f"}}
)
_CONTROLS = dict.fromkeys(
    [*range(0x09), 0x0B, *range(0x0E, 0x20), 0x7F, *range(0x206A, 0x2070), 0xFEFF, *range(0xFFF9, 0xFFFD)]
)


@lru_cache(maxsize=1)
def _widths() -> dict[int, str]:
    """Full-width and half-width forms to their usual width (U+3000 to a space)."""
    table = {0x3000: " "}
    for code in range(0xFF01, 0xFFF0):
        plain = unicodedata.normalize("NFKC", chr(code))
        if plain != chr(code):
            table[code] = plain
    return table


def _entity(match: re.Match[str]) -> str:
    ref = match.group(0)
    if ref in _entities():
        return _entities()[ref]
    if ref.startswith("&#"):
        char = html.unescape(ref)
        return ref if ";" in char else char
    return ref


def _cp1252(match: re.Match[str]) -> str:
    """A C1 control character read as Windows-1252, as browsers do (undefined bytes stay)."""
    try:
        return match.group(0).encode("latin-1").decode("cp1252")
    except UnicodeDecodeError:
        return match.group(0)


def _surrogates(text: str) -> str:
    if _SURROGATE.search(text):
        pair = lambda m: chr(0x10000 + (ord(m.group(0)[0]) - 0xD800) * 0x400 + ord(m.group(0)[1]) - 0xDC00)
        text = _SURROGATE.sub("\ufffd", _SURROGATE_PAIR.sub(pair, text))
    return text


def _fix_segment(text: str, entities: bool) -> str:
    """ftfy's fixes of one line, in ftfy's order, until nothing changes."""
    while True:
        before = text
        if entities:
            text = _ENTITY.sub(_entity, text)
        text = _C1.sub(_cp1252, text)
        text = text.translate(_LIGATURES).translate(_widths()).translate(_QUOTES)
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
        text = _ANSI.sub("", _surrogates(text.replace("\x85", "\n"))).translate(_CONTROLS)
        text = unicodedata.normalize("NFC", text)
        if text == before:
            return text


def clip_clean(text: str) -> str:
    """``text`` as open_clip's tokenizer sees it (its ``lower`` cleaning): ftfy's ``fix_text``
    (line by line; HTML entities are decoded only until a line holds a '<'; its repair of
    mojibake is left out), HTML entities decoded twice, whitespace collapsed, lower case.

    >>> clip_clean("  It\u2019s a ﬁne ＲＥＤ fox &amp;amp; cub  ")
    "it's a fine red fox & cub"
    """
    out, entities, pos = [], True, 0
    while pos < len(text):
        end = text.find("\n", pos) + 1 or len(text)
        end = min(end, pos + 1_000_000)
        segment = text[pos:end]
        entities = entities and "<" not in segment
        out.append(_fix_segment(segment, entities))
        pos = end
    text = html.unescape(html.unescape("".join(out))).strip()
    return " ".join(text.split()).lower()


def _build_clip(merges_file: Any) -> tuple[Any, int]:
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    lines = _read(merges_file).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    alphabet = _byte_alphabet()
    vocab_list = (
        alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges] + list(_CLIP_SPECIALS)
    )
    vocab = {token: i for i, token in enumerate(vocab_list)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, end_of_word_suffix="</w>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_CLIP_SPLIT), "removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    # open_clip keeps a special token found in the text whole; BPE would cut it into pieces
    special_cost = len(tokenizer.encode(_CLIP_SPECIALS[0], add_special_tokens=False).ids)
    assert special_cost == len(tokenizer.encode(_CLIP_SPECIALS[1], add_special_tokens=False).ids)
    return tokenizer, special_cost


class ClipBpeCounter:
    """Exact CLIP token counts (open_clip's ``SimpleTokenizer().encode``, start/end tokens left out)
    from CLIP's merge list: the one shipped with rescap, or ``merges_file``."""

    name = "clip-bpe"
    exact = True

    def __init__(self, merges_file: str | Path | None = None):
        source = Path(merges_file).expanduser() if merges_file else data_file(CLIP_MERGES)
        self._tokenizer = _Lazy(lambda: _build_clip(source))

    def count(self, text: str) -> int:
        tokenizer, special_cost = self._tokenizer.get()
        text = clip_clean(text)
        total = len(tokenizer.encode(text, add_special_tokens=False).ids)
        if "of_text>" in text:  # a special token spelled out: one token where open_clip finds it
            pieces = tokenizer.pre_tokenizer.pre_tokenize_str(text)
            total -= (special_cost - 1) * sum(piece in _CLIP_SPECIALS for piece, _ in pieces)
        return total


# --- T5 --------------------------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    byte = buf[pos]
    if byte < 0x80:
        return byte, pos + 1
    value, shift = byte & 0x7F, 7
    while True:
        pos += 1
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos + 1
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, Any]]:
    """The fields of a protobuf message as (number, value): an int for varints, bytes otherwise."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        wire = key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield key >> 3, value


_FLOAT = struct.Struct("<f")


def read_sentencepiece(data: bytes) -> dict[str, Any]:
    """The parts of a SentencePiece model (``ModelProto``) a unigram tokenizer needs: ``pieces``
    as (piece, score, type), the normalizer's ``charsmap`` and flags, ``unk_id``, ``model_type``."""
    model: dict[str, Any] = {
        "pieces": [], "charsmap": b"", "add_dummy_prefix": True, "remove_extra_whitespaces": True,
        "escape_whitespaces": True, "unk_id": 0, "model_type": 1, "byte_fallback": False,
    }  # fmt: skip
    for number, value in _fields(data):
        if number == 1:  # SentencePiece: piece 1, score 2, type 3 (1 normal, 2 unknown, 3 control, ...)
            piece, score, kind = "", 0.0, 1
            for n, v in _fields(value):
                if n == 1:
                    piece = v.decode("utf-8")
                elif n == 2:
                    score = _FLOAT.unpack(v)[0]
                elif n == 3:
                    kind = v
            model["pieces"].append((piece, score, kind))
        elif number == 2:  # TrainerSpec
            for n, v in _fields(value):
                if n == 3:
                    model["model_type"] = v
                elif n == 35:
                    model["byte_fallback"] = bool(v)
                elif n == 40:
                    model["unk_id"] = v
        elif number == 3:  # NormalizerSpec
            for n, v in _fields(value):
                if n == 2:
                    model["charsmap"] = bytes(v)
                elif n in (3, 4, 5):
                    model[("add_dummy_prefix", "remove_extra_whitespaces", "escape_whitespaces")[n - 3]] = (
                        bool(v)
                    )
    return model


def _build_t5(model_file: Any, extra_ids: int) -> Any:
    from tokenizers import AddedToken, Regex, Tokenizer, models, normalizers, pre_tokenizers

    spm = read_sentencepiece(_read(model_file))
    if spm["model_type"] != 1 or spm["byte_fallback"]:
        raise ValueError(f"{model_file}: not a unigram SentencePiece model without byte fallback")
    vocab = [(piece, score) for piece, score, _ in spm["pieces"]]
    vocab += [(f"<extra_id_{i}>", 0.0) for i in reversed(range(extra_ids))]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=spm["unk_id"], byte_fallback=False))
    # SentencePiece's normalizer: the character map, then (spaces only) strip the ends and
    # squeeze runs, spaces to '▁', and a '▁' in front of the text, even one starting with '▁'
    steps = [normalizers.Precompiled(spm["charsmap"])] if spm["charsmap"] else []
    if spm["remove_extra_whitespaces"]:
        steps += [normalizers.Replace(Regex(r"\A +| +\z"), ""), normalizers.Replace(Regex(" {2,}"), " ")]
    if spm["escape_whitespaces"]:
        steps.append(normalizers.Replace(" ", "▁"))
    if spm["add_dummy_prefix"]:
        steps.append(normalizers.Replace(Regex(r"\A▁"), "▁▁"))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement="▁", prepend_scheme="always", split=False
        )
    tokenizer.normalizer = normalizers.Sequence(steps)
    # control pieces and extra ids spelled out in the text are one token each, as in the encoders' tokenizers
    specials = [piece for piece, _, kind in spm["pieces"] if kind in (2, 3)] + [
        v[0] for v in vocab[len(spm["pieces"]) :]
    ]
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tokenizer


class T5Counter:
    """Exact T5 token counts (T5 v1.1's SentencePiece vocabulary, the end token left out) from the
    model shipped with rescap, or from a SentencePiece ``model_file`` (``spiece.model``, or
    gzipped ``.gz``)."""

    name = "t5-spm"
    exact = True

    def __init__(self, model_file: str | Path | None = None, extra_ids: int = 100):
        source = Path(model_file).expanduser() if model_file else data_file(T5_SPIECE)
        self._tokenizer = _Lazy(lambda: _build_t5(source, extra_ids))

    def count(self, text: str) -> int:
        return len(self._tokenizer.get().encode(_surrogates(text), add_special_tokens=False).ids)


# --- a restorer's own tokenizer --------------------------------------------------------------


class HFTokenCounter:
    """Counts with a tokenizer saved in a folder (tokenizer.json, or vocab.json + merges.txt, ...)."""

    exact = True

    def __init__(self, path: str | Path):
        path = Path(path).expanduser()
        folder = path / "tokenizer" if (path / "tokenizer").is_dir() else path
        if not folder.is_dir():
            raise FileNotFoundError(f"no tokenizer folder at {path}")
        self.name = f"tokenizer:{folder}"
        if (folder / "tokenizer.json").exists():
            from tokenizers import Tokenizer

            fast = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self._encode = lambda text: fast.encode(text, add_special_tokens=False).ids
        else:
            from ..extras import require

            slow = require("transformers", "transformers").AutoTokenizer.from_pretrained(str(folder))
            self._encode = lambda text: slow(text, add_special_tokens=False)["input_ids"]

    def count(self, text: str) -> int:
        return len(self._encode(text))


@lru_cache(maxsize=8)
def counter_for(kind: str = "clip", tokenizer_path: str | None = None) -> TokenCounter:
    """The counter for an encoder ``kind`` ("clip" or "t5"): the restorer's own tokenizer when
    ``tokenizer_path`` names its folder, else the vocabulary shipped for ``kind``."""
    if tokenizer_path:
        return HFTokenCounter(tokenizer_path)
    if kind == "clip":
        return ClipBpeCounter()
    if kind == "t5":
        return T5Counter()
    raise ValueError(f"unknown text encoder kind {kind!r} (expected 'clip' or 't5')")
