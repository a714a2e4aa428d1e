"""Phrases of a caption, and fitting a caption to a token limit at phrase boundaries.

A caption is split into phrases: sentences, then clauses at commas and semicolons (also the CJK
marks 。！？、，；). Separators inside numbers ("1,000 years", "3.5 m"), abbreviations ("St. Mary's",
"Mr. Smith", "e.g.", "U.S.") and ellipses are not boundaries. A short piece that opens with an
article and is followed by more description ("a large, fluffy cat") belongs to the next piece:
cutting after "a large" would leave a dangling adjective.

Fitting (why): real VLMs ignore the length they are asked for, and a restorer's text encoder
silently truncates what runs over its window, often mid-word. rescap shortens instead, dropping
whole phrases from the end (captions put the main subject first, so the least important text goes
first); only when the first phrase alone is too long is it cut inside, and then before a
preposition, conjunction or relative word ("A woman standing | in tall grass"), never after one.
A cut never leaves a dangling preposition, article, conjunction, determiner or adjective.

Example:
    >>> from rescap.text.phrases import split_phrases, fit_to_tokens
    >>> split_phrases("A 1,000-year-old church, St. Mary's, at dusk. Trees behind.")
    ['A 1,000-year-old church', "St. Mary's", 'at dusk', 'Trees behind']
    >>> words = type("Words", (), {"count": staticmethod(lambda t: len(t.split()))})()
    >>> fit_to_tokens("A red fox in tall grass, at dusk, with snow falling.", 8, words).text
    'A red fox in tall grass, at dusk.'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol, Sequence


class _Counter(Protocol):
    def count(self, text: str) -> int: ...


# words that must not end a cut text (English and the European languages VLMs answer in most)
FUNCTION_WORDS = frozenset(
    """
    a an the this that these those some any each every no another its his her their our my your whose
    of in on at to for from by with without into onto over under above below behind beside between among
    through across along around near beyond against toward towards upon within during before after about
    like as via per than and or but nor yet so while whereas although though because if when where which
    who whom what whose plus including featuring wearing holding showing is are was were be being been
    has have had its very quite rather more most less least such both either neither
    der die das den dem des ein eine einen einem einer eines und oder mit ohne im in am an auf aus bei
    von vom zu zum zur für über unter vor hinter neben zwischen durch um
    le la les un une des du de d' l' et ou avec sans dans sur sous au aux par pour entre vers chez
    el los las unos unas y o con sin en sobre bajo del al por para entre hacia
    il lo gli uno di da con su per tra fra nel nella sul sulla e o
    o os as um uma e ou com sem em no na nos nas do da dos das por para
    и или а но с со без в во на под над за из от до у к о об при через между для по про
    """.split()
)
# adjectives captions use most: left at the end of a cut they dangle ("standing in tall")
DANGLING_ADJECTIVES = frozenset(
    """
    tall short long small large big huge tiny little old young new ancient modern wide narrow thick thin
    dark light bright pale deep shallow high low heavy soft hard smooth rough wet dry warm cold hot cool
    red orange yellow green blue purple violet pink brown black white gray grey golden silver beige
    colorful colourful vibrant lush dense sparse fluffy furry wooden stone metal rusty shiny glossy matte
    beautiful pretty elegant ornate intricate detailed textured weathered worn lush leafy snowy sandy rocky
    grassy cloudy sunny misty foggy distant nearby open closed empty full round square striped spotted
    several many few various numerous two three four five six seven eight nine ten
    """.split()
)
_ABBREVIATIONS = frozenset(
    "st mr mrs ms dr prof jr sr mt ft vs etc e.g i.e u.s u.k no approx ca fig inc ltd co ave rd blvd jan feb "
    "mar apr jun jul aug sep sept oct nov dec".split()
)
_CUT_BEFORE = FUNCTION_WORDS - {"a", "an", "the", "this", "these", "those", "its", "his", "her", "their", "our", "my",
                                "your", "very", "quite", "rather", "more", "most", "less", "least", "such"}  # fmt: skip
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s|$)|[。！？]+")
_CLAUSE_SEP = re.compile(r"[,;]|[、，；]")
_WORD = re.compile(r"[^\W\d_][\w'’-]*|\d[\d.,]*", re.UNICODE)


@dataclass(frozen=True)
class Phrase:
    """One phrase: its text and where it sits in the caption (``start``/``end``, separator excluded)."""

    text: str
    start: int
    end: int
    sentence: int  # index of the sentence it belongs to
    separator: str = ""  # what follows it inside its sentence (", "), empty for a sentence's last phrase
    mark: str = ""  # the punctuation that ends its sentence (".", "!", "。"), possibly empty


def _is_boundary_comma(text: str, i: int) -> bool:
    """A comma/semicolon at ``i`` separates phrases unless it sits inside a number (1,000) or inside
    brackets ("an old man (a fisherman, in a raincoat)": a cut there would leave "(" open)."""
    if text[i] == "," and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
        return False
    before = text[:i]
    if before.count("(") > before.count(")") or before.count("[") > before.count("]"):
        return False
    return True


def split_at_commas(text: str) -> list[str]:
    """``text`` split at its phrase-separating commas only (not "1,000", not inside brackets).

    >>> split_at_commas("oak tree, 1,000-year-old trunk, meadow (green, wet)")
    ['oak tree', ' 1,000-year-old trunk', ' meadow (green, wet)']
    """
    pieces, start = [], 0
    for i, ch in enumerate(text):
        if ch == "," and _is_boundary_comma(text, i):
            pieces.append(text[start:i])
            start = i + 1
    return [*pieces, text[start:]]


def _sentence_ends(text: str) -> list[int]:
    """End offsets (exclusive, punctuation included) of the sentences of ``text``."""
    ends = []
    for m in _SENTENCE_END.finditer(text):
        i = m.start()
        if text[i] == "." and m.group(0) == ".":
            before = re.search(r"([\w.]+)$", text[:i])
            word = before.group(1).lower() if before else ""
            after = text[m.end() :].lstrip()
            if word.rstrip(".") in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)*[a-z]", word):
                continue  # "St. Mary's", "e.g.", "U.S."
            if i + 1 < len(text) and text[i + 1].isdigit():
                continue  # "3.5"
            if after and after[0].islower():
                continue  # not a sentence start: an abbreviation we do not know
        ends.append(m.end())
    if not ends or ends[-1] < len(text.rstrip()):
        ends.append(len(text.rstrip()))
    return ends


def phrases_of(text: str) -> list[Phrase]:
    """The phrases of ``text`` with their offsets (see the module docstring for the rules)."""
    out: list[Phrase] = []
    start = 0
    for s_index, end in enumerate(_sentence_ends(text)):
        sentence = text[start:end]
        body_end = len(sentence.rstrip().rstrip(".!?…。！？\"')]"))
        pieces, piece_start = [], 0
        for m in _CLAUSE_SEP.finditer(sentence[:body_end]):
            if _is_boundary_comma(sentence, m.start()):
                pieces.append((piece_start, m.start()))
                piece_start = m.end()
        pieces.append((piece_start, body_end))
        merged: list[tuple[int, int]] = []
        carry: int | None = None
        for k, (a, b) in enumerate(pieces):
            a = carry if carry is not None else a
            carry = None
            words = sentence[a:b].split()
            if k + 1 < len(pieces) and words and words[-1].lower() in DANGLING_ADJECTIVES:
                nxt = sentence[pieces[k + 1][0] : pieces[k + 1][1]].split()
                if nxt and nxt[0].lower() not in FUNCTION_WORDS:
                    carry = a  # "a large, fluffy cat": coordinate adjectives, one phrase
                    continue
            merged.append((a, b))
        mark = sentence[body_end:].strip()
        found: list[Phrase] = []
        for k, (a, b) in enumerate(merged):
            piece = sentence[a:b]
            lead = len(piece) - len(piece.lstrip())
            piece = piece.strip()
            if not re.search(r"\w", piece):
                continue
            separator = ""
            if k + 1 < len(merged):
                gap = sentence[a + lead + len(piece) : merged[k + 1][0]]
                separator = gap.strip() + " " if gap.strip() not in ("、", "，", "；") else gap.strip()
            found.append(Phrase(piece, start + a + lead, start + a + lead + len(piece), s_index, separator, mark))
        if found:
            found[-1] = Phrase(found[-1].text, found[-1].start, found[-1].end, s_index, "", mark)
        out.extend(found)
        start = end
    return out


def split_phrases(text: str) -> list[str]:
    """The phrases of ``text`` as strings."""
    return [p.text for p in phrases_of(text)]


def keep_phrases(phrases: Sequence[Phrase], keep: Sequence[bool]) -> str:
    """The caption rebuilt from the kept phrases: each phrase byte-identical, followed by its own
    separator; a sentence that lost its last phrases still ends with its own mark."""
    kept = [p for p, k in zip(phrases, keep) if k]
    pieces = []
    for i, p in enumerate(kept):
        nxt = kept[i + 1] if i + 1 < len(kept) else None
        if nxt is not None and nxt.sentence == p.sentence:
            pieces.append(p.text + (p.separator or ", "))
        else:
            space = "" if not p.mark or p.mark[-1] in "。！？" else " "
            mark = "" if p.text.endswith(p.mark) else p.mark  # "B.C." already ends the sentence
            pieces.append(p.text + mark + (space if nxt is not None else ""))
    return "".join(pieces).strip()


@dataclass
class Fitted:
    """A caption cut to a limit: the text kept and what was dropped, in order."""

    text: str
    dropped: list[str] = field(default_factory=list)


END_MARKS = ".!?…。！？"


def strip_end_mark(text: str) -> str:
    """``text`` without its final sentence mark (Latin or CJK), for joins that add a comma after it."""
    return text.strip().rstrip(END_MARKS + " ").strip()


def ends_sentence(text: str) -> bool:
    return bool(text.strip()) and text.strip()[-1] in END_MARKS


def strip_dangling(text: str) -> str:
    """Drop function words and adjectives left at the end of a cut text ("standing in tall" -> "standing")."""
    text = text.rstrip(" ,;:-–—")
    while True:
        m = re.search(r"(?:^|\s)([^\s]+)$", text)
        if not m:
            return text
        word = m.group(1).strip(",;:.-").lower()
        if word in FUNCTION_WORDS or word in DANGLING_ADJECTIVES:
            text = text[: m.start()].rstrip(" ,;:-–—")
            continue
        return text


def _cut_points(phrase: str) -> list[int]:
    """Offsets inside ``phrase`` where it may be cut: before a preposition/conjunction/relative word."""
    points = []
    for m in re.finditer(r"\s+(\S+)", phrase):
        if m.group(1).lower().strip(",;:") in _CUT_BEFORE and m.start() > 0:
            points.append(m.start())
    return points


def _unspaced_script(word: str) -> bool:
    """Whether ``word`` is written in a script without spaces between words (Chinese, Japanese),
    so that a cut between its characters is a cut between words."""
    return any("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in word)


def fit_to_tokens(text: str, limit: int, counter: _Counter, wrap=None) -> Fitted:
    """The longest phrase-boundary prefix of ``text`` with ``counter.count(wrap(prefix)) <= limit``.

    ``wrap`` turns a candidate into the string that is counted (e.g. the restorer's join with its
    quality prompt); by default the candidate itself.
    """
    measure = (lambda t: counter.count(wrap(t))) if wrap else counter.count
    if limit <= 0 or not text.strip():
        return Fitted("", [text.strip()] if text.strip() else [])
    if measure(text) <= limit:
        return Fitted(text)
    phrases = phrases_of(text)
    n = len(phrases)
    while n > 1:
        n -= 1
        candidate = keep_phrases(phrases, [i < n for i in range(len(phrases))])
        if measure(candidate) <= limit:
            return Fitted(candidate, [p.text for p in phrases[n:]])
    first = phrases[0].text if phrases else text.strip()
    dropped = [p.text for p in phrases[1:]]
    mark = phrases[0].mark if phrases else ""
    for point in reversed(_cut_points(first)):  # cut before a preposition/conjunction
        candidate = strip_dangling(first[:point])
        if candidate and measure(candidate + mark) <= limit:
            return Fitted(candidate + mark, [first[point:].strip(), *dropped])
    words = first.split()
    for k in range(len(words) - 1, 0, -1):  # last resort: whole words, dangling ones stripped
        candidate = strip_dangling(" ".join(words[:k]))
        if candidate and measure(candidate) <= limit:
            return Fitted(candidate, [first[len(candidate) :].strip(), *dropped])
    if words and (" " not in first.strip() or _unspaced_script(words[0])):  # one long word, or CJK: characters
        word = words[0]
        lo, hi = 0, len(word)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if measure(word[:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        if lo:
            return Fitted(word[:lo], [word[lo:], *dropped])
    return Fitted("", [text.strip()])
