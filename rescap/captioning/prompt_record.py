"""The final strings a restorer gets, as one record: what ``rescap prompt``, ``POST /v1/prompt``,
the ComfyUI nodes and ``rescap ui`` show (one place names the fields and writes the token report).

Example:
    >>> from rescap.adapters import get_adapter
    >>> record = prompt_record(get_adapter("supir"), "A red fox in the snow")
    >>> record["caption"], record["check"]["window"]
    ('A red fox in the snow. ', 77)
    >>> token_report(record).splitlines()[0]
    'supir: prompt 60/75 tokens (CLIP ViT-L/14, OpenCLIP ViT-bigG/14)'
"""

from __future__ import annotations

from typing import Any


def prompt_fields(adapter, final) -> dict:
    """A ``FinalPrompts`` under the record names every command uses (those of ``rescap caption --json``)."""
    fields = final.model_dump()  # "slots" stays: each slot's text with its encoders, tokens and window
    return {
        "caption": fields.pop("caption"), "positive_prompt": fields.pop("positive"), "negative_prompt": fields.pop("negative"),
        "slot_prompts": {slot.argument: slot.text for slot in adapter.slot_texts(final)}, **fields,
    }  # fmt: skip


def prompt_record(
    adapter, caption: str, negative: str | None = None, restoration: str = "", user_prompt: str | None = None, user_negative: str | None = None
) -> dict[str, Any]:
    """The strings ``adapter``'s restorer gets for ``caption`` (the user's prompt and negative merged
    as ``--prompt`` / ``--negative`` are), with the token check. ``negative``: the degradation-aware
    negative of a bundle; default the restorer's own."""
    from .bundle import PromptBundle

    negative = adapter.negative_prompt if negative is None else negative
    bundle = PromptBundle.model_construct(caption=caption, negative_prompt=negative, restoration_prompt=restoration)
    final = adapter.final_prompts(bundle, user_prompt, user_negative)
    check = adapter.check(final)
    return {"restorer": adapter.name, **prompt_fields(adapter, final), "restoration_prompt": restoration, "check": check.model_dump()}


def token_report(record: dict[str, Any]) -> str:
    """A few lines a person reads: per text slot its tokens against the window and encoders, the
    quality prompt's share, the caption phrases cut to fit, and the check's warnings."""
    lines = []
    for slot in record.get("slots", []):
        encoders = ", ".join(slot.get("encoders", []))
        lines.append(f"{record['restorer']}: {slot['argument']} {slot['tokens']}/{slot['usable']} tokens" + (f" ({encoders})" if encoders else ""))
    if record.get("quality"):
        lines.append(f"quality prompt kept: {record['quality']}")
    if record.get("dropped"):
        lines.append("cut to fit: " + "; ".join(record["dropped"]))
    lines += [f"warning: {w}" for w in record.get("check", {}).get("warnings", [])]
    return "\n".join(lines)
