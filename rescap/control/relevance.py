"""Relevance: score each phrase of a caption for agreement with the image (CLIP), drop the outliers.

Every phrase must be true of the image: a wrong phrase costs fidelity. A caption is split into
phrases (``rescap.text.phrases``: sentences, then clauses); each is scored with CLIP cosine
similarity against the image. CLIP's absolute similarities vary from image to image, so the rule is
relative: a phrase is dropped when it scores more than ``margin`` below the caption's best phrase.
The first phrase (the main subject) is always kept.

Example:
    >>> from rescap.control.relevance import select_phrases
    >>> [p.kept for p in select_phrases(["a red fox", "in snow", "a purple car"], [0.30, 0.29, 0.18])]
    [True, True, False]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from ..backends.model_source import ModelRef, is_missing_model_error, not_found_message, resolve_model

DEFAULT_CLIP = ModelRef("openai/clip-vit-base-patch32", "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268")
DEFAULT_MARGIN = 0.06  # in cosine similarity


class PhraseScorer(Protocol):
    def score(self, images: Sequence[Any], phrases: Sequence[Sequence[str]]) -> list[list[float]]: ...


@dataclass
class PhraseScore:
    phrase: str
    score: float
    kept: bool


def select_phrases(phrases: Sequence[str], scores: Sequence[float], margin: float = DEFAULT_MARGIN) -> list[PhraseScore]:
    """Keep phrases within ``margin`` of the best score; the first is always kept."""
    if not phrases:
        return []
    best = max(scores)
    return [PhraseScore(p, float(s), i == 0 or s >= best - margin) for i, (p, s) in enumerate(zip(phrases, scores))]


class ClipRelevanceScorer:
    """CLIP (transformers ``CLIPModel``) image-text cosine similarity, batched over images and phrases.

    ``model`` is a hub id (default ``openai/clip-vit-base-patch32`` at a pinned revision) or a folder
    holding a CLIP model with its tokenizer and image processor.
    """

    def __init__(self, model: str = DEFAULT_CLIP.repo_id, revision: str | None = None, device: str = "cpu"):
        from ..torch_compat import ensure_torchvision_importable
        from ..extras import require

        torch = require("torch", "transformers")
        transformers = require("transformers", "transformers")
        ensure_torchvision_importable()
        if revision is None and model == DEFAULT_CLIP.repo_id:
            revision = DEFAULT_CLIP.revision
        hint = "--relevance /path/to/clip (Python: Captioner(relevance='/path/to/clip')), or --relevance off"
        resolved = resolve_model(model, revision, "CLIP relevance scoring", hint)
        kwargs = {"revision": resolved.revision, "local_files_only": resolved.local_only}
        try:
            self.model = transformers.CLIPModel.from_pretrained(resolved.source, **kwargs).to(device).eval()
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(resolved.source, **kwargs)
            self.image_processor = transformers.AutoImageProcessor.from_pretrained(resolved.source, **kwargs)
        except Exception as exc:
            if is_missing_model_error(exc):
                from ..backends.base import ModelNotFoundError

                raise ModelNotFoundError(
                    not_found_message(model, resolved.revision, "CLIP relevance scoring", [resolved.source], str(exc).splitlines()[0], hint)
                ) from exc
            raise
        self.name = model
        self.device = device
        self._torch = torch
        self.max_length = min(int(getattr(self.tokenizer, "model_max_length", 77) or 77), 77)

    def _embed_images(self, images: Sequence[Any]):
        torch = self._torch
        from ..backends.media import fit_pixels

        pixels = self.image_processor(images=[fit_pixels(im, 336 * 336) for im in images], return_tensors="pt")
        with torch.inference_mode():
            feats = self.model.get_image_features(pixel_values=pixels["pixel_values"].to(self.device))
        feats = getattr(feats, "pooler_output", feats)
        return torch.nn.functional.normalize(feats.float(), dim=-1)

    def image_embeddings(self, images: Sequence[Any]) -> list[list[float]]:
        return self._embed_images(images).cpu().tolist()

    def score(self, images: Sequence[Any], phrases: Sequence[Sequence[str]]) -> list[list[float]]:
        """Cosine similarity of each image with each of its phrases."""
        torch = self._torch
        flat = [p for group in phrases for p in group]
        if not flat:
            return [[] for _ in images]
        image_feats = self._embed_images(images)
        tokens = self.tokenizer(flat, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with torch.inference_mode():
            text = self.model.get_text_features(**{k: v.to(self.device) for k, v in tokens.items() if k in ("input_ids", "attention_mask")})
        text = getattr(text, "pooler_output", text)
        text = torch.nn.functional.normalize(text.float(), dim=-1)
        out, start = [], 0
        for i, group in enumerate(phrases):
            block = text[start : start + len(group)]
            out.append((block @ image_feats[i]).cpu().tolist())
            start += len(group)
        return out
