"""Remove words that describe the degradation itself ("blurry", "noisy", "JPEG artifacts") from a
caption, keep every word that describes content.

What goes (why): a restorer reads a caption as a description of the image it should produce, so
words about image quality steer it towards producing that quality. Content and photographic style
stay:

- removed: quality adjectives and phrases about the picture (blurry, blurred, out of focus, noisy,
  grainy, pixelated, low resolution/quality, JPEG, compression/digital artifacts, blocky, aliasing,
  motion blur, soft focus, a hazy-looking image, ...), with the degree words that only qualify
  them ("heavy", "some", "a high level of") and where they are ("around the edges"), and whole
  clauses that only talk about quality ("the image is noisy and low resolution");
- rewritten, not dropped: depth of field is content, so "blurred/blurry/out-of-focus background"
  becomes "bokeh background" and "the background is blurred" becomes "the background has bokeh"
  (the shallow focus stays, the degradation word goes, the clause keeps its verb);
- kept: words whose other sense is content - "wood grain", "ancient artifacts", "pixel art",
  "grain field", "bokeh", "noise barrier", "noise-free" - because only the degradation phrases
  above match, and a word glued by a hyphen to another word ("JPEG-Artefakte") is left whole.

How (grammar): the spans to remove are found on the original string, then only their
neighbourhoods are edited; every other character of the caption stays byte-identical (a caption
is never "tidied" as a whole: "an hour", "a European", "a una ventana" are not this filter's
business). Next to a removed span, and only there:

- an article directly before it agrees with the new next word ("an unsharp photo" -> "a photo",
  "a blurry 8-year-old" -> "an 8-year-old"; hour/honest/heir take "an", one/uni-/use/euro- take
  "a", numbers by how they are read); before an acronym the article is left as written, since
  "a NASA photo" and "an FBI agent" cannot be told apart from the letters;
- a word left with nothing after it goes: an article or determiner, a preposition or
  conjunction ("with", "showing", "of", "and", "or"), a verb whose predicate was removed ("is",
  "has", with "there"/"it" before it); "A dog with blurry fur" keeps its "with" ("A dog with fur"),
  "A dog with heavy noise." loses it ("A dog.");
- the conjunction joining the removed word to its neighbour goes ("dark and blurry" -> "dark",
  "a blurry and dark photo" -> "a dark photo");
- punctuation doubled by the removal collapses (no ", ," ",." " ." or double spaces, no leading
  comma, no empty brackets, quotes or dashes; a relative clause ", which is blurry," goes with its
  commas), a sentence left empty is dropped, and when a sentence's first word goes the capital
  moves to the new first word.

The rule is for English; degradation words of the other languages VLMs answer in (German,
French, Spanish, Italian, Portuguese, Russian, Chinese, Japanese) are removed by
``degradation_words_multilingual`` with a simpler per-phrase rule.

Examples:
    >>> from rescap.text.degradation_words import remove_degradation_words
    >>> remove_degradation_words("A blurry, low-resolution photo of a cat on a wooden table.").text
    'A photo of a cat on a wooden table.'
    >>> remove_degradation_words("A portrait with a blurred background.").text
    'A portrait with a bokeh background.'
    >>> remove_degradation_words("A dog with blurry fur next to an hour glass.").text
    'A dog with fur next to an hour glass.'
    >>> remove_degradation_words("An unsharp photo of a cat, with heavy JPEG artifacts.").text
    'A photo of a cat.'
    >>> remove_degradation_words("A grainy 80-year-old man. The image is noisy and low resolution.").text
    'An 80-year-old man.'
    >>> remove_degradation_words("Blurry and noisy, a cat sleeps on a sofa.").text
    'A cat sleeps on a sofa.'

Generation-time bans (``banned_words``) keep most captions from containing these words at all;
this filter is the safety net for what gets through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .degradation_words_multilingual import find_multilingual_terms, remove_multilingual_terms

_ADVERB = (
    r"(?:(?:very|slightly|somewhat|quite|extremely|heavily|highly|rather|a\s+bit|a\s+little|visibly|noticeably"
    r"|overly|too|mildly|severely|badly|fairly|significantly|strongly|generally|noticeably|still)\s+)*"
)
_H = r"[\s-]+"  # between the words of a term: a space or a hyphen

# Degradation terms, always removed; each is a regex fragment.
DEGRADATION_TERMS = [
    rf"(?:low|poor|reduced|limited){_H}resolution", rf"lo{_H}res", r"low-?res", rf"low{_H}res", r"lowres", rf"low{_H}quality", rf"poor{_H}quality",
    rf"bad{_H}quality", rf"low{_H}definition", rf"worst{_H}quality",
    rf"(?:(?:low|poor|bad|good|high|great|excellent|decent|average|mediocre|reduced|degraded|subpar|overall){_H})?image{_H}quality",
    rf"(?:out|not){_H}(?:of|in){_H}focus", rf"soft{_H}focus", rf"(?:gaussian|defocus|lens|focus){_H}blur(?:red)?", rf"motion{_H}blur(?:red)?", rf"camera{_H}shake",
    rf"(?:jpe?g|compression|digital|blocking|blocky|ringing|encoding|pixel|chromatic|image|noise|halo|sharpening|upscaling){_H}artifacts?",
    rf"(?:jpe?g|compression|digital|blocking|image|noise){_H}artefacts?",
    rf"jpe?g{_H}compression", rf"(?:jpe?g|over|heavily|highly|strongly){_H}compressed", r"jpe?g",
    rf"compression{_H}noise", rf"heavy{_H}compression", r"compression",
    rf"film{_H}grain", rf"(?:digital|sensor|image|color|colour|luminance|chroma|gaussian|iso|random|visual){_H}noise",
    rf"noise{_H}reduction", r"denoised", r"noisier", r"noisiest", r"noisy", r"noise", r"grainier", r"grainiest",
    r"grainy", r"graininess", r"artifacting", r"artefacting",
    r"blurrier", r"blurriest", r"blurry", r"blurred", r"blurring", r"blurriness", r"blur", r"unfocused", r"defocused", r"unsharp",
    r"unclear", r"indistinct", r"pixelated", r"pixelation", r"pixellated", r"pixelized", r"aliasing", r"aliased",
    r"jaggies", r"blocky", r"blockiness", rf"colou?r{_H}banding", r"posterized", r"posterization", r"dithered",
    r"dithering", r"over-?smoothed", r"oversmoothed", r"over-?sharpened", r"degraded", r"upscaled",
]  # fmt: skip

# Adjectives that are degradation only when they qualify the picture itself ("a hazy photo"),
# content otherwise ("hazy mountains", "compressed snow", "a fuzzy blanket").
IMAGE_ONLY_ADJECTIVES = [
    r"compressed", r"distorted", r"soft", rf"washed{_H}out", r"hazy", r"dull", r"murky", r"muddy", r"smeared",
    r"smudged", r"fuzzy", r"speckled", r"grainy-looking", r"noisy-looking", r"low-detail",
]  # fmt: skip

# Words of the same families that are content in other senses and must survive.
_CONTENT_GUARDS = [
    r"wood\s+grain", r"grain\s+(?:field|silo|elevator|of\s+sand|of\s+rice)", r"pixel\s+art",
    r"(?:ancient|archaeological|historical|cultural|museum|religious|stone|bronze)\s+artifacts?",
    r"noise[\s-]+(?:barrier|cancell?ing|wall|pollution)",
    r"compression\s+(?:socks?|stockings?|garments?|sleeves?|shirts?|fracture|spring|fitting)",
]  # fmt: skip

_IMAGE_NOUNS = r"(?:image|photo|photograph|picture|shot|snapshot|frame|scan|footage|capture|render|view|scene)"
_BACKGROUND = r"(?:background|backdrop|surroundings|distance|foreground)"
_TERM = "(?:" + "|".join(DEGRADATION_TERMS) + ")"

# degree and amount words that only qualify the degradation noun after them ("heavy noise")
_DEGREE = (
    r"(?:(?:some|heavy|heavier|strong|visible|noticeable|significant|slight|mild|severe|considerable|excessive"
    r"|obvious|apparent|minor|subtle|prominent|faint|moderate|extreme|intense|high|general|overall|no|little"
    r"|minimal|almost\s+no|barely\s+any|hardly\s+any|lots\s+of|a\s+lot\s+of|a\s+bit\s+of|a\s+touch\s+of"
    r"|(?:(?:a|some)\s+)?(?:(?:high|low|certain|significant|noticeable|considerable|moderate|small|large|slight)\s+)?"
    r"(?:level|amount|degree)s?\s+of|signs?\s+of|traces?\s+of|hints?\s+of)\s+)+"
)
_NOMINAL_END = re.compile(
    r"(?:noise|blur|artifacts?|artefacts?|grain|graininess|blurriness|blurring|pixelation|pixellation|aliasing"
    r"|jaggies|blockiness|banding|posterization|dithering|compression|shake|resolution|quality|definition"
    r"|reduction)\Z",
    re.IGNORECASE,
)

_TERM_RES = [re.compile(rf"\b{_ADVERB}(?:{t})\b", re.IGNORECASE) for t in DEGRADATION_TERMS]
_IMAGE_ADJ_RE = re.compile(
    rf"\b{_ADVERB}(?:{'|'.join(IMAGE_ONLY_ADJECTIVES)})\b(?=(?:\s*,\s*|\s+and\s+|\s+)(?:[\w-]+\s+){{0,2}}{_IMAGE_NOUNS}\b)",
    re.IGNORECASE,
)
_GUARD_RE = re.compile("|".join(rf"\b{g}\b" for g in _CONTENT_GUARDS), re.IGNORECASE)
_DEGREE_BEFORE = re.compile(rf"\b{_DEGREE}\Z", re.IGNORECASE)

# "blurred background" / "out-of-focus background" / "background is blurred" / "background blur"
_DOF_BEFORE = re.compile(
    rf"\b{_ADVERB}(?:blurry|blurred|out{_H}of{_H}focus|unfocused|defocused)\s+({_BACKGROUND})\b", re.IGNORECASE
)
_DOF_AFTER = re.compile(
    rf"\b(the\s+)?({_BACKGROUND})\s+(is|are|appears|looks|seems)\s+{_ADVERB}(?:blurry|blurred|out{_H}of{_H}focus|softly\s+blurred)\b",
    re.IGNORECASE,
)
_DOF_NOUN = re.compile(r"\b(background)\s+blur\b", re.IGNORECASE)

# clauses that only talk about quality: "the image is blurry and noisy", "the image quality is low"
_SUBJECT = (
    rf"(?:(?:overall|in\s+general|generally),?\s+)?(?:(?:the|this|a|an)\s+)?(?:overall\s+|entire\s+|whole\s+)?"
    rf"{_IMAGE_NOUNS}(?:\s+itself)?"
)
_ADJECTIVE = "(?:" + "|".join(IMAGE_ONLY_ADJECTIVES) + ")"
_ITEM = rf"(?:{_DEGREE})?{_ADVERB}(?:{_TERM}|{_ADJECTIVE})"
_CHAIN = (
    rf"(?:an?\s+)?{_ITEM}(?:(?:\s*,\s*|\s*,?\s+(?:and|or|with)\s+){_ITEM})*"
    r"(?:\s+(?:texture|look|appearance|feel|finish|effect|quality))?"
)
_CLAUSE_END = (
    r"(?=\s*(?:[,.;:!?)\]]|$)|\s+(?:and|but|or|yet|while|with|though|although|which|making|so|as|because|due|in|on"
    r"|at|around|along|across|throughout|near|over|within|towards?|from|overall)\b)"
)
_QUALITY_CLAUSES = [
    re.compile(
        rf"\b{_SUBJECT}\s+(?:is|looks|appears|seems|was|has|shows|exhibits|contains|displays|suffers\s+from)"
        rf"(?:\s+to\s+(?:be|have))?(?:\s+(?:also|quite|rather|generally|overall|somewhat))*\s+{_CHAIN}\b(?![\w-]){_CLAUSE_END}",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:(?:overall|in\s+general),?\s+)?(?:(?:the|this)\s+)?(?:overall\s+)?(?:image|photo|picture|video)\s+quality\s+"
        r"(?:is|looks|appears|seems|was)\s+(?:[\w-]+\s+){0,2}[\w-]+(?=\s*(?:[,.;:!?]|\band\b|\bbut\b|$))",
        re.IGNORECASE,
    ),
]

# where the degradation is: "noise in the shadows", "blurry around the edges", "artifacts visible"
_LOCATION = (
    r"(?:edges?|corners?|borders?|periphery|shadows?|highlights?|dark(?:er)?\s+(?:areas?|regions?|parts?)|background"
    r"|foreground|sky|image|picture|photo(?:graph)?|frame|shot|details?|textures?|areas?|regions?|parts?|surfaces?"
    r"|sides?|center|centre|whole\s+image|entire\s+image)"
)
_WHERE = re.compile(
    r"(?:\s+(?:is\s+|are\s+)?(?:visible|present|noticeable|apparent|evident|throughout)(?=\s*(?:[,.;:!?)]|$))"
    r"|\s+(?:(?:that|which)\s+(?:is|are)\s+)?(?:(?:visible|present|noticeable|apparent|evident)\s+)?"
    r"(?:in|on|at|around|along|across|throughout|near|over|within|towards?|all\s+over)\s+"
    r"(?:(?:the|its|this|that|some|all|most|many|several|certain|much\s+of\s+the|parts\s+of\s+the)\s+)?"
    rf"(?:[\w-]+\s+){{0,2}}?{_LOCATION}\b(?:\s+of\s+(?:the\s+|this\s+|its\s+)?(?:image|picture|photo(?:graph)?|frame|shot|scene)\b)?)",
    re.IGNORECASE,
)

# a prepositional phrase after a degradation noun says where it is: "motion blur on the passersby"
_AFTER_NOUN = re.compile(
    r"\s+(?:in|on|at|around|along|across|throughout|near|over|within|towards?|all\s+over|from)\s+"
    r"(?:[\w'’-]+\s+){0,3}?[\w'’-]+(?=\s*(?:[,.;:!?)]|$)|\s+(?:and|but|or|while|with)\b)",
    re.IGNORECASE,
)

# removed spans separated only by these are one region: "blurry, noisy and grainy"
_GAP = re.compile(r"(?:[\s,/&]|\b(?:and|or|as\s+well\s+as|plus|with|but\s+also)\b)*\Z", re.IGNORECASE)

_CONJ_TAIL = re.compile(r"(?:,\s*)?(?:\b(?:and|or|but|yet|nor|plus|as\s+well\s+as)|&)\s*\Z", re.IGNORECASE)
_CONJ_HEAD = re.compile(r"\s*,?\s*(?:and|or|but|yet|plus|as\s+well\s+as|&)\s+(?=([\w'’-]+))", re.IGNORECASE)
_DET_TAIL = re.compile(
    r"(?<![\w'’-])(?:a|an|the|this|that|these|those|its|their|his|her|my|our|your|some|any|each|every|no)\s*\Z",
    re.IGNORECASE,
)
_INTRO_TAIL = re.compile(
    r"(?<![\w'’-])(?:with|without|showing|exhibiting|displaying|featuring|having|containing|including|suffering\s+from"
    r"|affected\s+by|marred\s+by|plagued\s+by|degraded\s+by|due\s+to|because\s+of|caused\s+by|of|in|on|at|by|from"
    r"|for|into|to|through|under|plus|although|though|while|whereas|which|who|as|despite|like|and|or|but|nor|yet|so"
    r"|captured|taken|shot|photographed|rendered|recorded|filmed)"
    r"\s*\Z",
    re.IGNORECASE,
)
_VERB_TAIL = re.compile(
    r"(?:(?<![\w'’-])(?:(?:there|it|this|that|they)\s+)?(?:is|are|was|were|be|been|looks?|appears?|seems?|became"
    r"|becomes?|remains?|gets?|got|has|have|had|shows?|showed|contains?|exhibits?|displays?|suffers?\s+from)"
    r"(?:\s+(?:to\s+(?:be|have)|like))?|(?<![\w'’-])(?:there|it|this|that)['’]s)"
    r"(?:\s+(?:also|still|quite|rather|somewhat|very|too|slightly|generally|overall|clearly|visibly|noticeably"
    r"|a\s+bit|a\s+little))*\s*\Z",
    re.IGNORECASE,
)
_PREPOSITIONS = {"of", "around", "in", "on", "at", "near", "over", "under", "across", "throughout", "behind", "along"}
_WITH_TAIL = re.compile(r"(?<![\w'’-])(?:with|without|featuring|showing)\s*\Z", re.IGNORECASE)
_INDEF_TAIL = re.compile(r"(?<![\w'’-])(a|an)(\s+)\Z", re.IGNORECASE)
_WORD = re.compile(r"[\w][\w'’-]*")

_CONJUNCTIONS = {"and", "or", "but", "nor", "yet", "plus", "&"}
_CLAUSE_OPENERS = {
    "the", "a", "an", "this", "that", "these", "those", "it", "its", "there", "they", "he", "she", "his", "her",
    "their", "i", "we", "you", "some", "one", "two", "three", "several", "many",
}  # fmt: skip
_IMAGE_NOUN_WORDS = {
    "image", "images", "photo", "photos", "photograph", "photographs", "picture", "pictures", "shot", "shots",
    "snapshot", "frame", "scan", "footage", "capture", "render", "view", "scene", "close-up", "closeup", "portrait",
    "selfie", "video", "still",
}  # fmt: skip
# adjectives often listed before a degradation word with a comma ("a dark, blurry figure")
_LIST_ADJECTIVES = {
    "dark", "bright", "light", "dim", "small", "large", "big", "tiny", "huge", "old", "young", "new", "little",
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray", "grey",
    "golden", "silver", "colorful", "colourful", "pale", "faded", "vivid", "muted", "warm", "cool", "cold", "wet",
    "dry", "distant", "tall", "short", "wide", "narrow", "thin", "thick", "round", "square", "shiny", "glossy",
    "matte", "vintage", "retro", "modern", "ancient", "close", "candid", "indoor", "outdoor", "aerial", "low-light",
    "overexposed", "underexposed", "monochrome", "sepia", "dramatic", "moody", "grey-blue",
}  # fmt: skip


@dataclass
class FilterResult:
    text: str
    removed: list[str] = field(default_factory=list)
    rewritten: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.rewritten)


@dataclass
class _Span:
    start: int
    end: int
    replacement: str | None = None  # None: removed


# -- finding ---------------------------------------------------------------------------------------
def _masked(text: str, pattern: re.Pattern) -> str:
    """``text`` with the matches of ``pattern`` blanked out (same length, no word characters)."""
    return pattern.sub(lambda m: "#" * len(m.group(0)), text)


def _glued(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span widened over an allowed hyphen prefix/suffix ("semi-blurry", "blurry-looking"), or
    None when a hyphen glues it to another word ("noise-free", "JPEG-Artefakte")."""
    if start >= 2 and text[start - 1] == "-" and text[start - 2].isalnum():
        before = re.search(r"([\w]+)-\Z", text[:start])
        if not before or before.group(1).lower() not in ("semi", "ultra", "super", "hyper", "slightly", "very"):
            return None
        start = before.start()
    if end + 1 < len(text) and text[end] == "-" and text[end + 1].isalnum():
        after = re.match(r"-(looking|like|ish)\b", text[end:])
        if not after:
            return None
        end += after.end()
    return start, end


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and s < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def _term_spans(masked: str) -> list[tuple[int, int]]:
    """Degradation terms and picture-only adjectives, with the degree words before a noun."""
    found: list[tuple[int, int]] = []
    for rx in _TERM_RES:
        for m in rx.finditer(masked):
            span = _glued(masked, m.start(), m.end())
            if span is None:
                continue
            s, e = span
            if _NOMINAL_END.search(masked, s, e):
                degree = _DEGREE_BEFORE.search(masked, 0, s)
                if degree:
                    s = degree.start()
            found.append((s, e))
    for m in _IMAGE_ADJ_RE.finditer(masked):
        span = _glued(masked, m.start(), m.end())
        if span is not None:
            found.append(span)
    return _union(found)


_ADJECTIVE_RE = re.compile(rf"\b{_ADVERB}{_ADJECTIVE}\b", re.IGNORECASE)


def _clause_spans(masked: str) -> list[tuple[int, int]]:
    return [
        (m.start(), m.end())
        for rx in _QUALITY_CLAUSES
        for m in rx.finditer(masked)
        if _glued(masked, m.start(), m.end()) == (m.start(), m.end())
    ]


def find_degradation_words(text: str) -> list[str]:
    """Degradation terms present in ``text`` (content senses such as "wood grain" excluded): the
    words ``remove_degradation_words`` takes out."""
    masked = _masked(text, _GUARD_RE)
    spans = _term_spans(masked)
    for s, e in _clause_spans(masked):  # "the photo is soft": picture-only adjectives of a quality clause
        spans += [(m.start(), m.end()) for m in _ADJECTIVE_RE.finditer(masked, s, e)]
    return [text[s:e].strip() for s, e in _union(spans)] + find_multilingual_terms(text)


def _find_spans(text: str) -> list[_Span]:
    """Every edit to make, on the original string: rewrites first, then removals."""
    masked = _masked(text, _GUARD_RE)
    spans: list[_Span] = []
    for rx in (_DOF_AFTER, _DOF_BEFORE, _DOF_NOUN):
        for m in rx.finditer(masked):
            if _glued(masked, m.start(), m.end()) != (m.start(), m.end()):
                continue
            if any(m.start() < sp.end and sp.start < m.end() for sp in spans):
                continue
            if rx is _DOF_AFTER:  # "the background is blurred" -> "the background has bokeh"
                verb = "have" if m.group(3).lower() == "are" else "has"
                new = f"{m.group(1) or ''}{m.group(2)} {verb} bokeh"
            elif rx is _DOF_BEFORE:
                new = f"bokeh {m.group(1)}"
            else:
                new = f"{m.group(1)} bokeh"
            spans.append(_Span(m.start(), m.end(), new))
    for sp in spans:
        masked = masked[: sp.start] + "#" * (sp.end - sp.start) + masked[sp.end :]
    removals = _clause_spans(masked) + _term_spans(masked)
    spans += [_Span(s, e) for s, e in _union(removals)]
    return sorted(spans, key=lambda sp: sp.start)


def _regions(text: str, spans: list[_Span]) -> list[_Span]:
    """Removals separated only by commas, spaces and conjunctions become one region."""
    out: list[_Span] = []
    for sp in spans:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.replacement is None
            and sp.replacement is None
            and _GAP.match(text, prev.end, sp.start)
        ):
            prev.end = sp.end
        else:
            out.append(_Span(sp.start, sp.end, sp.replacement))
    return out


# -- articles --------------------------------------------------------------------------------------
_AN_H = ("hour", "honest", "honor", "honour", "heir")
_UNI_YOO = re.compile(r"uni(?:corn|form|que|t|vers|cycl|son|lateral|f|sex|on)")
_YOO = re.compile(r"(?:us(?:e|u|ab|ag)|ut(?:i|e|o)|ur(?:a|i|e(?!n))|ubiq|uk|ewe|eu)")


def indefinite_article(word: str) -> str | None:
    """"a" or "an" for the word that follows, by how it is read; None when that cannot be told
    from the letters (acronyms: "a NASA photo" but "an FBI agent").

    >>> [indefinite_article(w) for w in ["hour", "one-eyed", "unicorn", "umbrella", "European", "8-year-old", "11th", "1"]]
    ['an', 'a', 'a', 'an', 'a', 'an', 'an', 'a']
    """
    word = word.lstrip("\"'“‘([")
    if not word:
        return None
    number = re.match(r"\d[\d,]*", word)
    if number:
        digits = number.group(0).rstrip(",")
        whole = digits.replace(",", "")
        if whole.startswith("8"):
            return "an"
        if whole[:2] in ("11", "18"):
            n = len(whole)
            if n == 2 or (n == 4 and "," not in digits) or n % 3 == 2:
                return "an"
        return "a"
    head = re.match(r"[^\W\d_]+", word)
    if not head:
        return None
    letters = head.group(0)
    single = len(letters) == 1 and (len(word) == 1 or not word[1].isalpha())
    if single:
        return "an" if letters.lower() in "aefhilmnorsx" else "a"
    if len(letters) >= 2 and letters.isupper():
        return None
    low = word.lower()
    if low.startswith(_AN_H):
        return "an"
    if re.match(r"one(?![a-z])|once\b", low) or _UNI_YOO.match(low) or _YOO.match(low):
        return "a"
    if low.startswith("uni"):
        return "an"
    return "an" if low[0] in "aeiou" else "a"


def _styled(article: str, like: str) -> str:
    if len(like) > 1 and like.isupper():
        return article.upper()
    return article.capitalize() if like[0].isupper() else article


# -- editing ---------------------------------------------------------------------------------------
@dataclass
class _Next:
    kind: str  # "word", "conj", "punct", "end"
    word: str = ""


def _next(text: str, start: int, limit: int) -> _Next:
    rest = text[start:limit].lstrip(" \t")
    if not rest:
        return _Next("end")
    m = _WORD.match(rest)
    if m:
        word = m.group(0)
        return _Next("conj" if word.lower() in _CONJUNCTIONS else "word", word)
    if rest.startswith("&"):
        return _Next("conj", "&")
    return _Next("punct")


def _at_sentence_start(left: str) -> bool:
    stripped = left.rstrip(" \t")
    return not stripped or stripped[-1] in ".!?\n"


def _remove(text: str, spans: list[_Span]) -> str:
    out = ""
    pos = 0
    for i, sp in enumerate(spans):
        limit = spans[i + 1].start if i + 1 < len(spans) else len(text)
        s, e = max(sp.start, pos), sp.end
        if e <= s:
            continue
        out += text[pos:s]
        if sp.replacement is not None:
            new = sp.replacement
            if _at_sentence_start(out) and text[s].isupper():
                new = new[0].upper() + new[1:]
            m = _INDEF_TAIL.search(out)
            right = indefinite_article(new)
            if m and right:
                out = out[: m.start()] + _styled(right, m.group(1)) + m.group(2)
            out += new
            pos = e
            continue
        cut_from = len(out)  # what is removed from the left, for the capital
        original_left = out

        # where the degradation is
        where = _WHERE.match(text, e, limit)
        if not where and _NOMINAL_END.search(text, s, e):
            where = _AFTER_NOUN.match(text, e, limit)
        if where:
            e = where.end()
        nxt = _next(text, e, limit)
        if nxt.kind == "punct" and _DET_TAIL.search(out):  # "A blurry, old photo": the article goes to "old"
            comma = re.match(r"[ \t]*,[ \t]*(?=[\w'’-])", text[e:limit])
            if comma:
                e += comma.end()
                nxt = _next(text, e, limit)

        # the conjunction joining the removed words to their neighbour
        conj = _CONJ_TAIL.search(out)
        if conj and (nxt.kind != "word" or nxt.word.lower() in _IMAGE_NOUN_WORDS):
            out = out[: conj.start()]
        elif not conj:
            head = _CONJ_HEAD.match(text, e, limit)
            if head and head.group(1).lower() not in _CLAUSE_OPENERS:
                e = head.end()
                nxt = _next(text, e, limit)

        # a comma left between an adjective and its noun: "a dark, blurry figure"
        if nxt.kind == "word" and re.search(r",\s*\Z", out) and not _at_sentence_start(out):
            before = re.search(r"([\w'’-]+),\s*\Z", out)
            if before and (before.group(1).lower() in _LIST_ADJECTIVES or nxt.word.lower() in _IMAGE_NOUN_WORDS):
                out = out[: before.end(1)] + " "

        # words left with nothing after them
        if nxt.kind != "word":
            while True:
                for rx in (_DET_TAIL, _VERB_TAIL, _INTRO_TAIL, _CONJ_TAIL):
                    m = rx.search(out)
                    if m:
                        out = out[: m.start()]
                        break
                else:
                    break
        elif nxt.kind == "word":
            if nxt.word.lower() in _PREPOSITIONS:  # "a photo with noise of a car": "with" has lost its object
                m = _WITH_TAIL.search(out)
                if m:
                    out = out[: m.start()]
            m = _INDEF_TAIL.search(out)
            right = indefinite_article(nxt.word)
            if m and right:
                out = out[: m.start()] + _styled(right, m.group(1)) + m.group(2)

        cut_from = min(cut_from, len(out))
        removed_first = (original_left[cut_from:] + text[s:e]).lstrip(" \t,;:")
        if re.match(r"(?:which|who|that)\b", removed_first, re.IGNORECASE) and re.search(r",\s*\Z", out):
            after = re.match(r"\s*,", text[e:limit])
            if after:  # the relative clause between two commas is gone, and its commas with it
                out, e = out[: out.rstrip(" \t").rfind(",")] + " ", e + after.end()
        out, pos = _join(out, text, e, limit, removed_first)
    return out + text[pos:]


_PAIRS = [("(", ")"), ("[", "]"), ('"', '"'), ("“", "”"), ("‘", "’"), ("«", "»"), ("„", "“"), ("「", "」"),
          ("—", "—"), ("–", "–"), (" -", "-")]  # fmt: skip


def _join(left: str, text: str, pos: int, limit: int, removed: str) -> tuple[str, int]:
    """Join the text left of a removal to the text right of it; return the new left and where the
    untouched text resumes."""
    ws_before = len(left) - len(left.rstrip(" \t"))
    spaced = ws_before > 0 or (pos < len(text) and text[pos] in " \t")
    left = left.rstrip(" \t")
    while pos < limit and text[pos] in " \t":
        pos += 1
    start = _at_sentence_start(left)
    # empty brackets, quotes or dashes: "a (blurry) cat", 'a "blurry" cat', "a cat - blurry - on a mat"
    pair = next((p for p in _PAIRS if left.endswith(p[0]) and text.startswith(p[1], pos)), None)
    if pair and pos < limit:
        inner = left[: -len(pair[0])]
        left = inner.rstrip(" \t")
        pos += len(pair[1])
        spaced = len(inner) > len(left) or (pos < len(text) and text[pos] in " \t") or pair[1] in "—–-"
        while pos < limit and text[pos] in " \t":
            pos += 1
        start = _at_sentence_start(left)
    nxt = text[pos] if pos < len(text) else ""
    if nxt in (",", ";", ":"):
        if start or left.endswith((",", ";", ":")):
            pos += 1
            while pos < limit and text[pos] in " \t":
                pos += 1
    elif nxt in (".", "!", "?", ")", "]"):
        while left.endswith((",", ";", ":")):
            left = left[:-1].rstrip(" \t")
        if nxt in ".!?" and _at_sentence_start(left):  # the sentence is empty: drop it
            while pos < len(text) and text[pos] in ".!?":
                pos += 1
            while pos < limit and text[pos] in " \t":
                pos += 1
            if (not left or left.endswith("\n")) and text.startswith("\n", pos):
                pos += 1
    elif not nxt:
        while left.endswith((",", ";", ":")):
            left = left[:-1].rstrip(" \t")
    start = _at_sentence_start(left)
    if start or left.endswith((";", ":")):  # a clause removed from the start takes its connective along
        lead = re.match(
            r"(?:,\s*)?(?:and|or|but|so|yet|showing|depicting|featuring|capturing)\b\s*,?\s*(?=\w)",
            text[pos:limit],
            re.IGNORECASE,
        )
        if lead:
            pos += lead.end()
    if start and removed[:1].isupper():
        word = _WORD.match(text, pos)
        if word and word.group(0).islower():
            left = left + ("" if not left or left.endswith("\n") else " ")
            return left + word.group(0)[0].upper(), pos + 1
    nxt = text[pos] if pos < len(text) else ""
    if not left or not nxt or left.endswith(("\n", "(", "[")) or nxt in ",.;:!?)]\n":
        return left, pos
    return left + (" " if spaced or start else ""), pos


def remove_degradation_words(text: str) -> FilterResult:
    """Drop degradation descriptions from ``text``; see the module docstring for the rule."""
    result = FilterResult(text)
    current = text
    for _ in range(3):  # a removal can join two words into a new term: "low blurry resolution"
        spans = _find_spans(current)
        if not spans:
            break
        for sp in spans:
            if sp.replacement is None:
                result.removed.append(current[sp.start : sp.end].strip(" ,"))
            else:
                result.rewritten.append((current[sp.start : sp.end], sp.replacement))
        current = _remove(current, _regions(current, spans))
    current, other = remove_multilingual_terms(current)  # German, French, ... (their own, simpler rule)
    result.removed += other
    if result.changed:  # the caption's own leading and trailing whitespace stays
        body = text.strip()
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :] if body else ""
        result.text = lead + current.strip() + trail if current.strip() else ""
    return result


# -- generation-time bans --------------------------------------------------------------------------
BANNED_WORDS = (
    "blurry", "blurred", "blur", "blurriness", "noisy", "noise", "grainy", "graininess", "pixelated",
    "pixelation", "pixellated", "JPEG", "JPG", "compression", "low-resolution", "low resolution", "lowres",
    "low-res", "low-quality", "low quality", "out of focus", "out-of-focus", "unfocused", "defocused", "unsharp",
)  # fmt: skip


def banned_words() -> list[str]:
    """Words a VLM is kept from writing at generation time (``GenerationParams.banned_words``).

    A ban works on token sequences, in every context: banning "artifacts" would also forbid
    "ancient artifacts". So the list holds only words whose sense in an image caption is the
    degradation (blurry, noisy, grainy, pixelated, JPEG, compression, low resolution, out of
    focus, ...). "noise" and "compression" are banned too: they are the commonest ways VLMs name
    the degradation, while "noise barrier" or "compression socks" are rare in photos and have other
    words ("sound barrier"); the filter keeps them when they do get through. Not banned, for their
    content senses: grain (wood grain, a grain field), artifacts (museum artifacts), pixel (pixel
    art), soft/hazy/fuzzy/compressed (a soft pillow, hazy mountains, compressed snow), focus,
    resolution and quality on their own ("the focus is on the cat", "high resolution").

    Backends ban each word in the casings a model writes it (lowercase, Capitalised, and UPPER
    for acronyms), with and without a leading space. The list stays short on purpose: vLLM allows
    128 banned token sequences per request.

    >>> "blurry" in banned_words() and "grain" not in banned_words() and "artifacts" not in banned_words()
    True
    """
    return list(BANNED_WORDS)


def ban_variants(words: list[str] | tuple[str, ...], *, upper: bool = False) -> list[str]:
    """``words`` in the casings a model writes them: as given, lowercase, Capitalised (and UPPER
    for single words when ``upper``); duplicates dropped, order kept.

    >>> ban_variants(["blurry", "JPEG", "low resolution"])
    ['blurry', 'Blurry', 'JPEG', 'jpeg', 'Jpeg', 'low resolution', 'Low resolution']
    """
    out: dict[str, None] = {}
    for word in words:
        word = word.strip()
        if not word:
            continue
        forms = [word, word.lower(), word[0].upper() + word[1:].lower()]
        if upper and " " not in word:
            forms.append(word.upper())
        for form in forms:
            out.setdefault(form, None)
    return list(out)
