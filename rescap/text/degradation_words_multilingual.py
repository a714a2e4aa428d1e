"""Degradation words in the languages VLMs answer in besides English: German, French, Spanish,
Italian, Portuguese, Russian, Chinese and Japanese ("verschwommen", "floue", "borrosa", "размытым",
"模糊", "ぼやけた").

Rule (why): a VLM asked in, or prompted by an image from, another language often answers in it,
and "leicht verschwommen und verrauscht" steers a restorer exactly as "slightly blurry and noisy"
does. The English filter (``degradation_words``) knows English grammar; here the rule is simpler
and works per phrase (``rescap.text.phrases``):

- a phrase that only talks about quality - its words are degradation terms, degree adverbs,
  image nouns, copulas, articles and conjunctions of that language ("una imagen algo borrosa",
  "photo floue et bruitée", "画面有些模糊") - goes whole, with its separator;
- otherwise each term goes with the degree adverb before it and a conjunction that joined it to
  another term ("mit unscharfem Fell" -> "mit Fell"), and nothing else changes;
- depth of field is content, as in English: a blurred background becomes a bokeh one
  ("с размытым фоном" -> "с фоном боке", "fondo desenfocado" -> "fondo bokeh").

Example:
    >>> from rescap.text.degradation_words_multilingual import remove_multilingual_terms
    >>> remove_multilingual_terms("Un mercado en Oaxaca con flores, una imagen algo borrosa.")[0]
    'Un mercado en Oaxaca con flores.'
    >>> remove_multilingual_terms("Eine Katze mit unscharfem Fell sitzt auf einem Zaun.")[0]
    'Eine Katze mit Fell sitzt auf einem Zaun.'
"""

from __future__ import annotations

import re

from .phrases import keep_phrases, phrases_of

# degradation terms per language (inflected forms by regex)
TERMS = {
    "de": r"unscharf\w*|verschwommen\w*|verwackelt\w*|verrauscht\w*|körnig\w*|verpixelt\w*|pixelig\w*|Unschärfe|Bildrauschen"
          r"|(?:niedrig|gering)\w*\s+Auflösung|JPEG-Artefakt\w*|Kompressionsartefakt\w*|Rauschen",
    "fr": r"flou(?:e|s|es)?(?:\s+de\s+(?:mouvement|bougé))?|bruitée?s?|bruit(?:\s+numérique)?|granuleu(?:x|se|ses)"
          r"|pixell?isée?s?|(?:basse|faible)\s+résolution|artefacts?\s+(?:de\s+compression|JPEG)",
    "es": r"borros[oa]s?|desenfocad[oa]s?|ruidos[oa]s?|ruido|granulad[oa]s?|pixelad[oa]s?|(?:de\s+)?baja\s+resolución"
          r"|artefactos\s+de\s+compresión",
    "it": r"sfocat[oaie]|rumoros[oaie]|rumore|sgranat[oaie]|pixelat[oaie]|(?:a\s+)?bassa\s+risoluzione",
    "pt": r"desfocad[oa]s?|borrad[oa]s?|ruído|ruidos[oa]s?|granulad[oa]s?|pixelizad[oa]s?|(?:de\s+)?baixa\s+resolução",
    "ru": r"размыт\w*|шум(?:ом|а|ы|ов|ами)?|шумн\w*|нечётк\w*|нечетк\w*|зашумл[её]н\w*|зернист\w*|пикселизирован\w*|размытость\w*"
          r"|низк\w+\s+разрешени\w+|JPEG-артефакт\w*|артефакт\w*\s+(?:сжатия|JPEG)",
    "zh": r"模糊(?:不清)?|噪点|噪声|像素化|低分辨率|压缩痕迹|不清晰",
    "ja": r"ぼやけ(?:た|て|る)?|ピンぼけ|ノイズ|低解像度|画質が低い",
}
_LATIN_TERMS = "|".join(TERMS[k] for k in ("de", "fr", "es", "it", "pt", "ru"))
_CJK_TERMS = "|".join(TERMS[k] for k in ("zh", "ja"))
TERM_RE = re.compile(rf"(?<![\w-])(?:{_LATIN_TERMS})(?![\w-])|(?:{_CJK_TERMS})", re.IGNORECASE)

# words that carry no content in a quality-only phrase
_ADVERBS = (
    "leicht leichte leichten leichtem etwas stark starke starken starkem starker sehr ziemlich deutlich deutliche deutlichen "
    "sichtbare sichtbaren insgesamt légèrement léger légère peu très assez fortement plutôt fort forte algo poco muy "
    "ligeramente ligero ligera bastante leggermente po molto alquanto ligeiramente pouco muito bastante слегка немного "
    "очень сильно довольно лёгкий легкий mucho mucha muchos muchas tanto molto molta tanta muito muita tanto viel viele "
    "beaucoup trop много"
).split()
# where the degradation is ("in den dunklen Bereichen", "dans les zones sombres"): part of a quality tail
_WHERE = (
    "in im an am den dem der die dunklen hellen bereichen ecken kanten schatten hintergrund dans les zones sombres coins "
    "bords ombres en las los zonas oscuras sombras esquinas bordes nelle zone scure angoli nas zonas escuras cantos "
    "в на тенях углах краях"
).split()
_PREPOSITIONS = {"mit", "avec", "con", "com", "с", "со", "in", "im", "в", "во", "en", "di", "de", "da", "do", "du"}
_FILLER = set(
    (
        "und oder das bild foto aufnahme ist wirkt erscheint insgesamt ein eine leicht et ou la le les une un photo image "
        "cliché est semble paraît y e o una imagen foto fotografía es está parece el immagine è sembra il lo uma um imagem "
        "parece a и или изображение фото снимок кажется выглядит немного du des de d del della di do da"
    ).split()
) | set(_ADVERBS) | set(_WHERE) | _PREPOSITIONS
_CJK_FILLER = re.compile(r"JPEG|jpeg|ている|ています|います|いる|です|[画面图像照片整体有些有点比较很略微稍的了是和与及がはややと少し全体的に画像写真圧縮压缩存在ありあるの。，、；！？\s]")
_CONJ = r"(?:und|oder|et|ou|y|e|o|и|или)"
_ADVERB_RE = "|".join(re.escape(a) for a in sorted(_ADVERBS, key=len, reverse=True))
_TERM_WITH_NEIGHBOURS = re.compile(  # CJK first: with its particle (模糊的, ノイズの多い) wherever it stands
    rf"(?:(?:{_CJK_TERMS})(?:的|の多い|が多い|の)?(?:[和与及、と](?=(?:{_CJK_TERMS})))?)+"
    rf"|(?:(?<=\s)|^)(?:(?:{_ADVERB_RE})\s+)?(?:{TERM_RE.pattern})(?:\s+{_CONJ}\s+(?:(?:{_ADVERB_RE})\s+)?(?:{TERM_RE.pattern}))*",
    re.IGNORECASE,
)
# a conjunction left alone between commas ("Sevilla, y, con naranjos")
_ORPHAN_CONJUNCTION = re.compile(r"(?<=[,;])\s*(?:y|e|o|und|oder|et|ou|и|или)\s*(?=[,;.!?])", re.IGNORECASE)
# a preposition the removal left with nothing, or right before another one ("in.", "de d'un chien")
_ORPHAN_PREPOSITION = re.compile(
    r"(?<![\w'’-])(?:in|im|mit|avec|con|com|с|со|в|во|en|di|de|da)\s*(?=[.!?;,]|$)"
    r"|(?<![\w'’-])(?:de|di|da|en|in|im|в|во)\s+(?=(?:d['’]|de\s|du\s|des\s|di\s|del\s|della\s|von\s|vom\s))",
    re.IGNORECASE,
)


# "blurred background" in each language -> the background kept, with "bokeh"
_DOF = [
    (re.compile(r"(?<![\w-])размыт\w*\s+(фон\w*)", re.IGNORECASE), r"\1 боке"),
    (re.compile(r"(?<![\w-])(?:unscharf|verschwommen)\w*\s+(Hintergrund\w*)", re.IGNORECASE), r"Bokeh-\1"),
    (re.compile(r"(?<![\w-])(arrière-plan|fond)\s+flou\w*", re.IGNORECASE), r"\1 bokeh"),
    (re.compile(r"(?<![\w-])(fondo|sfondo|fundo)\s+(?:borros|desenfocad|sfocat|desfocad|borrad)\w*", re.IGNORECASE), r"\1 bokeh"),
    (re.compile(r"背景(?:が)?(?:ぼやけ(?:た|て)?|模糊)"), "ボケ背景"),
]


def find_multilingual_terms(text: str) -> list[str]:
    """Degradation terms of the other languages found in ``text``."""
    return [m.group(0) for m in TERM_RE.finditer(text)]


def _quality_only(phrase: str) -> bool:
    rest = TERM_RE.sub(" ", phrase)
    if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", phrase):
        return not _CJK_FILLER.sub("", rest).strip(" ,.;:")
    words = [w.lower() for w in re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)?", rest)]
    return all(w in _FILLER for w in words)


def _quality_tail(phrase: str) -> int | None:
    """Where a tail of ``phrase`` that only talks about quality starts ("... mit starken
    JPEG-Artefakten", "... avec du bruit numérique"), at a preposition; ``None`` when there is none."""
    for m in re.finditer(r"(?<=\s)(\S+)", phrase):
        if m.group(1).lower() in _PREPOSITIONS:
            tail = phrase[m.start() :]
            if TERM_RE.search(tail) and _quality_only(tail):
                return m.start()
    return None


def remove_multilingual_terms(text: str) -> tuple[str, list[str]]:
    """``text`` without other-language degradation terms; returns (text, removed pieces)."""
    if not TERM_RE.search(text):
        return text, []
    removed: list[str] = []
    for pattern, replacement in _DOF:
        text, n = pattern.subn(replacement, text)
        if n:
            removed.append(f"{n} blurred background(s) -> bokeh")
    cuts = []
    for p in phrases_of(text):  # first a quality tail ("... mit starken JPEG-Artefakten"), at a preposition
        tail = _quality_tail(p.text) if TERM_RE.search(p.text) else None
        if tail is not None:
            cuts.append((p.start + tail, p.end))
    for start, end in sorted(cuts, reverse=True):  # right to left, so the offsets hold
        removed.append(text[start:end].strip())
        text = text[:start].rstrip() + text[end:]
    phrases = phrases_of(text)  # then phrases that only talk about quality ("una imagen algo borrosa")
    keep = [not (TERM_RE.search(p.text) and _quality_only(p.text)) for p in phrases]
    removed += [p.text for p, k in zip(phrases, keep) if not k]
    if not all(keep):
        text = keep_phrases(phrases, keep) if any(keep) else ""

    def drop(m: re.Match) -> str:
        removed.append(m.group(0).strip())
        before = text[: m.start()]
        if m.group(0)[:1].isupper() and (not before.strip() or re.search(r"[.!?]\s*$", before)):
            return "\x00"  # the capital moves to the new first word
        return ""

    text = _TERM_WITH_NEIGHBOURS.sub(drop, text)
    text = re.sub(r"\x00\s*(\w)", lambda m: m.group(1).upper(), text).replace("\x00", "")
    text = _ORPHAN_PREPOSITION.sub("", text)
    text = _ORPHAN_CONJUNCTION.sub("", text)
    # only what the removal doubled: spaces, a space before punctuation, a comma left before an end mark
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\s+([,.;:!?，。、])", r"\1", text)
    text = re.sub(r"([,;，、])\s*([.!?。])", r"\2", text)
    text = re.sub(r"([,;，、])\s*\1", r"\1", text)
    return text.strip(), removed
