"""Remove words that describe the degradation itself ("blurry", "noisy", "JPEG artifacts") from a
caption, keep every word that describes content.

Rule (why): a restorer reads a caption as a description of the image it should produce, so words
about image quality steer it towards producing that quality. Content and photographic style stay:

- removed: quality adjectives and phrases about the picture (blurry, blurred, out of focus, noisy,
  grainy, pixelated, low resolution/quality, JPEG, compression/digital artifacts, blocky, aliasing,
  motion blur, soft focus, fuzzy, hazy-looking image, ...), and whole clauses that only talk about
  quality ("the image is noisy and low resolution");
- rewritten, not dropped: depth of field is content, so "blurred/blurry/out-of-focus background"
  becomes "bokeh background" (the shallow focus stays, the degradation word goes);
- kept: words whose other sense is content - "wood grain", "ancient artifacts", "pixel art",
  "grain field", "bokeh", "noise barrier" - because only the degradation phrases above match.

Example:
    >>> from rescap.text.degradation_words import remove_degradation_words
    >>> remove_degradation_words("A blurry, low-resolution photo of a cat on a wooden table.").text
    'A photo of a cat on a wooden table.'
    >>> remove_degradation_words("A portrait with a blurred background.").text
    'A portrait with a bokeh background.'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ADVERB = r"(?:(?:very|slightly|somewhat|quite|extremely|heavily|highly|rather|a\s+bit|a\s+little|visibly|noticeably|overly|too)\s+)?"
_HYPH = r"[\s-]+"

# Degradation terms, always removed; each is a regex fragment.
DEGRADATION_TERMS = [
    rf"low{_HYPH}resolution", r"low-?res", r"lowres", rf"low{_HYPH}quality", rf"poor{_HYPH}quality",
    rf"bad{_HYPH}quality", rf"low{_HYPH}definition", rf"worst{_HYPH}quality", rf"image{_HYPH}quality",
    rf"out{_HYPH}of{_HYPH}focus", rf"soft{_HYPH}focus", rf"motion{_HYPH}blur(?:red)?", rf"camera{_HYPH}shake",
    rf"(?:jpe?g|compression|digital|blocking|blocky|ringing|encoding|pixel|chromatic|image|noise){_HYPH}artifacts?",
    rf"jpe?g{_HYPH}compression", rf"(?:jpe?g|over|heavily|highly|strongly){_HYPH}compressed", r"jpe?g",
    rf"compression{_HYPH}noise", rf"heavy{_HYPH}compression",
    rf"film{_HYPH}grain", rf"(?:digital|sensor|image|color|colour|luminance|chroma|gaussian|iso|random|visual){_HYPH}noise",
    r"noisy", r"noise", r"grainy", r"graininess",
    r"blurry", r"blurred", r"blurring", r"blurriness", r"blur", r"unfocused", r"defocused", r"unsharp",
    r"unclear", r"indistinct", r"pixelated", r"pixelation", r"pixellated", r"pixelized", r"aliasing", r"aliased",
    r"jaggies", r"blocky", r"blockiness", rf"colou?r{_HYPH}banding", r"posterized", r"posterization", r"dithered",
    r"dithering", r"over-?smoothed", r"oversmoothed", r"degraded", r"upscaled",
]  # fmt: skip

# Adjectives that are degradation only when they qualify the picture itself ("a hazy photo"),
# content otherwise ("hazy mountains", "compressed snow", "a fuzzy blanket").
IMAGE_ONLY_ADJECTIVES = [
    r"compressed", r"distorted", r"soft", rf"washed{_HYPH}out", r"hazy", r"dull", r"murky", r"muddy", r"smeared",
    r"smudged", r"fuzzy", r"speckled", r"grainy-looking", r"noisy-looking", r"low-detail",
]  # fmt: skip

# Words of the same families that are content in other senses and must survive.
_CONTENT_GUARDS = [
    r"wood\s+grain", r"grain\s+(?:field|silo|elevator|of\s+sand|of\s+rice)", r"pixel\s+art",
    r"(?:ancient|archaeological|historical|cultural|museum|religious|stone|bronze)\s+artifacts?",
    r"noise[\s-]+(?:barrier|cancell?ing|wall|pollution)",
]  # fmt: skip


_IMAGE_NOUNS = r"(?:image|photo|photograph|picture|shot|snapshot|frame|scan|footage|capture|render|still|view|scene)"
_BACKGROUND = r"(?:background|backdrop|surroundings|distance|foreground)"
_TERM = "(?:" + "|".join(DEGRADATION_TERMS) + ")"
_TERM_RE = re.compile(rf"\b{_ADVERB}{_TERM}\b", re.IGNORECASE)
_IMAGE_ADJ_RE = re.compile(
    rf"\b{_ADVERB}(?:{'|'.join(IMAGE_ONLY_ADJECTIVES)})(?:\s*,\s*|\s+and\s+|\s+)(?=(?:[\w-]+\s+){{0,2}}{_IMAGE_NOUNS}\b)",
    re.IGNORECASE,
)
_GUARD_RE = re.compile("|".join(rf"\b{g}\b" for g in _CONTENT_GUARDS), re.IGNORECASE)

# "blurred background" / "out-of-focus background" / "background is blurred" -> bokeh background
_DOF_BEFORE = re.compile(
    rf"\b{_ADVERB}(?:blurry|blurred|out{_HYPH}of{_HYPH}focus|unfocused|defocused)\s+({_BACKGROUND})\b", re.IGNORECASE
)
_DOF_AFTER = re.compile(
    rf"\b(the\s+)?({_BACKGROUND})\s+(?:is|are|appears|looks|seems)\s+{_ADVERB}(?:blurry|blurred|out{_HYPH}of{_HYPH}focus|softly\s+blurred)\b",
    re.IGNORECASE,
)
# clauses that only talk about quality: "the image is blurry and noisy", "with heavy JPEG artifacts"
_QUALITY_CLAUSE = re.compile(
    rf"(?:,\s*|\s+)?\b(?:the\s+|this\s+|a\s+)?(?:overall\s+)?{_IMAGE_NOUNS}\s+(?:is|looks|appears|seems|was)\s+"
    rf"(?:{_ADVERB}{_TERM}(?:\s*(?:,|and|or|with)\s*)?)+",
    re.IGNORECASE,
)
_WITH_DEGRADATION = re.compile(
    rf"(?:,\s*|\s+)\b(?:with|showing|exhibiting|has|having|suffering\s+from|affected\s+by|due\s+to)\s+"
    rf"(?:(?:some|heavy|strong|visible|noticeable|significant|slight|mild|severe|lots\s+of|a\s+lot\s+of)\s+)?"
    rf"(?:{_TERM}(?:\s*(?:,|and|or)\s*)?)+",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"\b(a|an|A|An)\s+(\W*)(\w)")


@dataclass
class FilterResult:
    text: str
    removed: list[str] = field(default_factory=list)
    rewritten: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.rewritten)


def find_degradation_words(text: str) -> list[str]:
    """Degradation terms present in ``text`` (content senses such as "wood grain" excluded)."""
    guarded = _GUARD_RE.sub(lambda m: "#" * len(m.group(0)), text)
    found = [m.group(0).strip() for m in _TERM_RE.finditer(guarded)]
    return found + [m.group(0).strip(" ,") for m in _IMAGE_ADJ_RE.finditer(guarded)]


def _fix_articles(text: str) -> str:
    def agree(m: re.Match) -> str:
        article, gap, first = m.group(1), m.group(2), m.group(3)
        vowel = first.lower() in "aeiou" and not re.match(r"(?i)u(ni|se|su|ro)|one", text[m.start(3) : m.start(3) + 4])
        right = ("an" if vowel else "a") if article.islower() else ("An" if vowel else "A")
        return f"{right} {gap}{first}"

    return _ARTICLE.sub(agree, text)


_CLEANUPS = [
    (re.compile(r"\(\s*\)"), ""),
    (re.compile(r"\b(a|an|the)\s*[,;:]\s*", re.IGNORECASE), r"\1 "),
    (re.compile(r"\s+([,.;:!?])"), r"\1"),
    (re.compile(r"([,;:])(\s*[,;:])+"), r"\1"),
    (re.compile(r"\b(?:and|or|with)\s*([,.;:!?]|$)", re.IGNORECASE), r"\1"),
    (re.compile(r"(^|[.!?]\s*)[,;:]\s*"), r"\1"),
    (re.compile(r"[,;:]\s*([.!?])"), r"\1"),
    (re.compile(r"\b(and|or)\s+(?:and|or)\b", re.IGNORECASE), r"\1"),
    (re.compile(r"\b(a|an|the)\s+(?:and|or)\s+", re.IGNORECASE), r"\1 "),
    (re.compile(r"\s{2,}"), " "),
    (re.compile(r"^\s*(?:and|or|with)\s+", re.IGNORECASE), ""),
]


def _tidy(text: str, capitalise: bool) -> str:
    for _ in range(6):  # until nothing changes: one cleanup can expose another
        before = text
        for pattern, replacement in _CLEANUPS:
            text = pattern.sub(replacement, text)
        text = text.strip()
        if text == before:
            break
    # drop sentences left without words
    text = " ".join(s for s in re.split(r"(?<=[.!?])\s+", text) if re.search(r"\w", s))
    text = _fix_articles(text)
    if not capitalise:
        return text
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def remove_degradation_words(text: str) -> FilterResult:
    """Drop degradation descriptions from ``text``; see the module docstring for the rule."""
    result = FilterResult(text)
    guards: dict[str, str] = {}

    def protect(m: re.Match) -> str:
        key = f"\x00{len(guards)}\x00"
        guards[key] = m.group(0)
        return key

    out = _GUARD_RE.sub(protect, text)

    def dof(m: re.Match) -> str:
        new = f"bokeh {m.group(m.lastindex)}" if m.re is _DOF_BEFORE else f"{m.group(1) or ''}bokeh {m.group(2)}"
        result.rewritten.append((m.group(0), new))
        return new

    out = _DOF_BEFORE.sub(dof, out)
    out = _DOF_AFTER.sub(dof, out)
    for pattern in (_QUALITY_CLAUSE, _WITH_DEGRADATION):
        out = pattern.sub(lambda m: (result.removed.append(m.group(0).strip(" ,")) or ""), out)

    def drop(m: re.Match) -> str:
        result.removed.append(m.group(0).strip())
        return ""

    out = _IMAGE_ADJ_RE.sub(drop, out)
    out = _TERM_RE.sub(drop, out)
    for key, original in guards.items():
        out = out.replace(key, original)
    first = re.search(r"[A-Za-z]", text)
    result.text = _tidy(out, capitalise=bool(first and first.group(0).isupper())) if result.changed else text
    return result
