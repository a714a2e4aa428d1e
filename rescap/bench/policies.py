"""Caption policies compared by ``rescap bench``: where each restoration's text comes from.

- ``none``: no caption (the restorer's own quality prompt only).
- ``plain``: one sentence from the VLM, asked plainly, used as is (what users do without rescap).
- ``rescap-short`` / ``-medium`` / ``-long`` / ``-auto`` / ``-<tokens>``: rescap at that richness;
  ``rescap`` alone means every richness mode.
- ``sidecar``: the user's own captions, ``<captions dir>/<relative path>.txt`` (or ``<image>.txt``).

Example:
    >>> from rescap.bench.policies import parse_policies
    >>> [p.name for p in parse_policies("none,plain,rescap")]
    ['none', 'plain', 'rescap-short', 'rescap-medium', 'rescap-long', 'rescap-auto']
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel

from ..control.richness import parse_richness
from ..files import sidecar_caption  # noqa: F401  (the sidecar policy's captions)

DEFAULT_POLICIES = "none,plain,rescap"
RICHNESS_MODES = ("short", "medium", "long", "auto")
PLAIN_MAX_TOKENS = 60


class PolicyError(ValueError):
    """A policy list that cannot be used (unknown name, sidecar without captions...)."""


class Policy(BaseModel):
    name: str
    kind: Literal["none", "plain", "rescap", "sidecar"]
    richness: str | int | None = None

    @property
    def needs_vlm(self) -> bool:
        return self.kind in ("plain", "rescap")


def parse_policies(text: str | None) -> list[Policy]:
    """Policy names, comma-separated, in order, without duplicates."""
    out: dict[str, Policy] = {}
    for raw in (text or DEFAULT_POLICIES).split(","):
        name = raw.strip().lower()
        if not name:
            continue
        if name in ("none", "plain", "sidecar"):
            found = [Policy(name=name, kind=name)]  # type: ignore[arg-type]
        elif name in ("rescap", "rescap-all"):
            found = [Policy(name=f"rescap-{m}", kind="rescap", richness=m) for m in RICHNESS_MODES]
        elif name.startswith("rescap-"):
            try:
                richness = parse_richness(name.removeprefix("rescap-"))
            except ValueError as exc:
                raise PolicyError(f"policy {name!r}: {exc}") from exc
            found = [Policy(name=name, kind="rescap", richness=richness)]
        else:
            raise PolicyError(
                f"unknown policy {name!r}: use none, plain, rescap (every richness), rescap-short, rescap-medium, "
                "rescap-long, rescap-auto, rescap-<tokens>, sidecar"
            )
        for policy in found:
            out.setdefault(policy.name, policy)
    if not out:
        raise PolicyError("no policies given")
    return list(out.values())


def first_sentence(text: str) -> str:
    """The first sentence of a free-text answer, without quotes or a leading label."""
    text = re.sub(r"^\s*(caption|description)\s*:\s*", "", text.strip(), flags=re.IGNORECASE).strip().strip('"').strip()
    match = re.search(r"(?<=[.!?])\s", text)
    sentence = text[: match.start()] if match else text
    return " ".join(sentence.split())


def plain_captions(backend: Any, pictures: list[Any], prompt: str, seed: int | None = 0) -> list[str | Exception]:
    """One plain sentence per picture, in one batched call; a failed item gets its exception."""
    from ..backends.base import BatchGenerationError, GenerationParams, text_message

    conversations = [[text_message("user", prompt, [picture])] for picture in pictures]
    params = GenerationParams(max_new_tokens=PLAIN_MAX_TOKENS, seed=seed, stop=["\n"])
    try:
        results = backend.generate(conversations, params)
    except BatchGenerationError as exc:
        results = exc.results
    except Exception as exc:  # the backend as a whole failed
        return [exc for _ in pictures]
    return [first_sentence(r.text or "") if r.ok else RuntimeError(r.error or "no output") for r in results]
