"""The text each bench policy gives a restorer: none, sidecar files, a plain one-sentence caption
from the same VLM, or rescap at each richness (all richnesses from one shared analysis)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..captioning.captioner import CaptionError
from .items import ImageItem
from .policies import Policy, plain_captions, sidecar_caption


@dataclass
class PolicyPrompts:
    """Final prompts per (image, policy), through the restorer's adapter."""

    adapter: Any
    policies: list[Policy]
    captioners: dict[str, Any] = field(default_factory=dict)
    backend: Any = None
    captions_dir: Path | None = None
    plain_prompt: str | None = None  # default: the ``plain`` prompt template

    def for_items(self, items: list[ImageItem], pending: dict[str, list[Policy]]) -> dict[tuple[str, str], Any]:
        """(image, policy) -> (FinalPrompts or the exception that stopped its caption, seconds)."""
        out: dict[tuple[str, str], Any] = {}
        rescap = [p for p in self.policies if p.kind == "rescap"]
        if rescap:
            out.update(self._rescap_all(rescap, items, pending))
        for policy in self.policies:
            todo = [it for it in items if it.error is None and policy in pending[it.key]]
            if not todo or policy.kind == "rescap":
                continue
            start = time.perf_counter()
            if policy.kind == "none":
                results: list[Any] = [self.adapter.final_prompts_for("") for _ in todo]
            elif policy.kind == "sidecar":
                results = []
                for it in todo:
                    try:
                        results.append(self.adapter.final_prompts_for(sidecar_caption(it.file, it.relative, self.captions_dir)))
                    except Exception as exc:
                        results.append(exc)
            else:
                results = self._plain(todo)
            share = (time.perf_counter() - start) / len(todo)
            for it, result in zip(todo, results):
                out[(it.key, policy.name)] = (result, share)
        return out

    def _rescap_all(self, policies: list[Policy], items: list[ImageItem], pending: dict[str, list[Policy]]) -> dict[tuple[str, str], Any]:
        """Every rescap richness from one analysis: the degradation and content steps do not depend
        on richness, so they run once per image and only the caption step runs per richness."""
        from ..captioning.bundle import CaptionFailure

        wanted = [it for it in items if it.error is None and any(p in pending[it.key] for p in policies)]
        if not wanted:
            return {}
        first = self.captioners[policies[0].name]
        start = time.perf_counter()
        prepared = {it.key: first.prepare(str(it.file)) for it in wanted}
        first.analyze(list(prepared.values()))
        # the shared work is split over every caption it served, so per-record times add up
        served = sum(policy in pending[it.key] for it in wanted for policy in policies)
        shared = (time.perf_counter() - start) / served
        out: dict[tuple[str, str], Any] = {}
        for policy in policies:
            todo = [it for it in wanted if policy in pending[it.key]]
            if not todo:
                continue
            start = time.perf_counter()
            bundles = self.captioners[policy.name].finish(first.fork([prepared[it.key] for it in todo]))
            share = shared + (time.perf_counter() - start) / len(todo)
            for it, bundle in zip(todo, bundles):
                if isinstance(bundle, CaptionFailure):
                    result: Any = CaptionError(bundle, with_name=False)
                else:
                    result = self.adapter.final_prompts(bundle)
                out[(it.key, policy.name)] = (result, share)
        return out

    def _plain(self, items: list[ImageItem]) -> list[Any]:
        from ..images import load_picture

        pictures, results = [], []
        for it in items:
            try:
                pictures.append(load_picture(it.file, 448 * 448))
            except Exception as exc:
                pictures.append(exc)
        ok = [p for p in pictures if not isinstance(p, Exception)]
        if self.plain_prompt is None:
            from ..captioning.templates import PromptTemplates

            self.plain_prompt = PromptTemplates.load().render("plain")
        answers = iter(plain_captions(self.backend, ok, self.plain_prompt) if ok else [])
        for picture in pictures:
            if isinstance(picture, Exception):
                results.append(picture)
                continue
            answer = next(answers)
            results.append(answer if isinstance(answer, Exception) else self.adapter.final_prompts_for(answer))
        return results

