"""How ``rescap ui`` shows its results: small HTML fragments (every text escaped: captions come
from a model) and the tile grid drawn over the image.

Values carry ``data-`` attributes (tokens, window, level...) so a page can be read back exactly.

Example:
    >>> from rescap.adapters import get_adapter
    >>> from rescap.captioning.prompt_record import prompt_record
    >>> html = strings_html([prompt_record(get_adapter("supir"), "A red fox in the snow")], {"supir": get_adapter("supir")})
    >>> 'data-restorer="supir"' in html
    True
"""

from __future__ import annotations

import json
from html import escape
from typing import Any, Sequence

CSS = """
.rescap table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
.rescap th, .rescap td { border-bottom: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
.rescap .level-none { color: #2e7d32; } .rescap .level-mild { color: #9e7c00; }
.rescap .level-moderate { color: #e65100; } .rescap .level-severe { color: #c62828; font-weight: bold; }
.rescap .uncertain { color: #888; font-style: italic; }
.rescap .conf { display: inline-block; height: 8px; background: #5c6bc0; vertical-align: middle; }
.rescap .bar { display: flex; width: 100%; height: 14px; background: #eee; border: 1px solid #bbb; margin: 2px 0 4px; }
.rescap .bar .cap { background: #1e88e5; } .rescap .bar .qual { background: #8e24aa; } .rescap .bar .over { background: #e53935; }
.rescap .restorer { border: 1px solid #ccc; border-radius: 6px; padding: 6px 8px; margin: 6px 0; }
.rescap .warn { color: #c62828; } .rescap .ok { color: #2e7d32; }
.rescap .text { font-family: monospace; font-size: 0.88em; white-space: pre-wrap; word-break: break-word; }
.rescap .dropped { color: #888; text-decoration: line-through; }
"""


def report_html(report: Any) -> str:
    """The degradation report: per quantity its value, level and the estimator's confidence; a
    quantity the image gave too little to measure is marked ``?`` and left out of the prompts."""
    from ..cli.degradation_view import UNCERTAIN_NOTE, readings

    rows = []
    for r in readings(report):
        conf = "" if r.confidence is None else f'<span class="conf" style="width:{60 * r.confidence:.0f}px"></span> {r.confidence:.2f}'
        cls = "uncertain" if r.uncertain else f"level-{escape(r.level)}"
        rows.append(
            f'<tr data-quantity="{escape(r.name)}" data-level="{escape(r.level)}" data-uncertain="{str(r.uncertain).lower()}">'
            f'<td>{escape(r.name)}</td><td class="{cls}">{escape(r.text())}</td><td class="{cls}">{escape(r.level)}</td><td>{conf}</td></tr>'
        )
    return (
        '<div class="rescap" id="rescap-report"><table><tr><th>quantity</th><th>value</th><th>level</th><th>confidence</th></tr>'
        + "".join(rows) + f'</table><small class="uncertain">{escape(UNCERTAIN_NOTE)}</small></div>'
    )  # fmt: skip


def steps_html(trace: Sequence[Any], captions: bool = True) -> str:
    """Each chain-of-thought step as it ran: its answer (the parsed fields, else the raw text), its
    error, its time."""
    if not captions:
        return '<div class="rescap" id="rescap-steps"><i>no captioning model: degradation-only prompts (start with --vlm to caption)</i></div>'
    if not trace:
        return '<div class="rescap" id="rescap-steps"><i>waiting for the model...</i></div>'
    rows = []
    for step in trace:
        answer = json.dumps(step.parsed, ensure_ascii=False, indent=1) if step.parsed else (step.output or "")
        error = f'<div class="warn">{escape(step.error)}</div>' if step.error else ""
        seconds = f"{step.seconds:.2f} s" if step.seconds is not None else ""
        rows.append(f'<tr data-step="{escape(step.step)}"><td><b>{escape(step.step)}</b><br><small>{seconds}</small></td>'
                    f'<td><div class="text">{escape(answer)}</div>{error}</td></tr>')  # fmt: skip
    return '<div class="rescap" id="rescap-steps"><table>' + "".join(rows) + "</table></div>"


def _bar(caption_tokens: int, tokens: int, usable: int) -> str:
    """The slot's tokens in order against its window: the caption's (blue), then the rest, the
    quality prompt (purple); what falls past the window, which the encoder never reads, in red."""
    scale = max(tokens, usable, 1)
    caption = min(caption_tokens, tokens, usable)
    rest = min(tokens, usable) - caption
    over = max(tokens - usable, 0)
    parts = [("cap", caption), ("qual", rest), ("over", over)]
    return '<div class="bar">' + "".join(f'<div class="{c}" style="width:{100 * n / scale:.2f}%"></div>' for c, n in parts if n > 0) + "</div>"


def strings_html(records: Sequence[dict[str, Any]], adapters: dict[str, Any]) -> str:
    """Per restorer: each text argument's token bar against its window (caption blue, quality prompt
    purple, what its encoder cannot read red), the exact strings, what the quality prompt kept and
    lost, the caption phrases cut to fit, and the warnings."""
    blocks = []
    for record in records:
        adapter = adapters[record["restorer"]]
        specs = {s.argument: s for s in adapter.slots}
        rows = []
        for slot in record.get("slots", []):
            spec = specs.get(slot["argument"])
            caption_tokens = adapter.counter_of(spec).count(slot.get("caption", "")) if spec is not None else 0
            encoders = ", ".join(slot.get("encoders", []))
            state = "ok" if slot["tokens"] <= slot["usable"] else "warn"
            rows.append(
                f'<div data-slot="{escape(slot["argument"])}"><b>{escape(slot["argument"])}</b> '
                f'<span class="tokens {state}" data-restorer="{escape(record["restorer"])}" data-slot="{escape(slot["argument"])}" '
                f'data-tokens="{slot["tokens"]}" data-usable="{slot["usable"]}" data-caption-tokens="{caption_tokens}">'
                f'{slot["tokens"]}/{slot["usable"]} tokens</span> <small>({escape(encoders)})</small>'
                f'{_bar(caption_tokens, slot["tokens"], slot["usable"])}<div class="text">{escape(slot["text"])}</div></div>'
            )
        full_quality = (getattr(adapter, "quality_prompt", "") or "").strip()
        kept = (record.get("quality") or "").strip()
        if full_quality:
            lost = full_quality[len(kept):].strip(" ,.") if full_quality.startswith(kept) else ""
            quality = f'quality prompt kept: <span class="text">{escape(kept) or "(none)"}</span>'
            if lost:
                quality += f' - trimmed: <span class="text dropped">{escape(lost)}</span>'
            rows.append(f'<div class="quality" data-quality-kept="{escape(kept)}" data-quality-trimmed="{escape(lost)}">{quality}</div>')
        if record.get("dropped"):
            rows.append(f'<div class="warn" data-cut="{len(record["dropped"])}">cut to fit the window: '
                        + "; ".join(f'<span class="text dropped">{escape(d)}</span>' for d in record["dropped"]) + "</div>")  # fmt: skip
        rows.append(f'<div><b>negative</b> <div class="text">{escape(record.get("negative_prompt") or "(none)")}</div></div>')
        if record.get("restoration_prompt"):
            rows.append(f'<div><b>restoration prompt</b> <div class="text">{escape(record["restoration_prompt"])}</div></div>')
        warnings = record.get("check", {}).get("warnings", [])
        rows += [f'<div class="warn" data-warning="{escape(w)}">warning: {escape(w)}</div>' for w in warnings]
        if not warnings:
            rows.append('<div class="ok">no warnings</div>')
        blocks.append(f'<div class="restorer" data-restorer="{escape(record["restorer"])}" data-warnings="{len(warnings)}"><h4>{escape(record["restorer"])}</h4>{"".join(rows)}</div>')
    return '<div class="rescap" id="rescap-strings">' + "".join(blocks) + "</div>"


def tile_overlay(image: Any, tiled: Any):
    """The image with the tiles drawn over it: each tile's outline and number (its index in the
    restorer's order), so the table's rows can be found on the picture."""
    from PIL import ImageDraw

    from ..images import open_rgb

    picture = open_rgb(image) if not hasattr(image, "convert") else image.convert("RGB")
    picture = picture.copy()
    draw = ImageDraw.Draw(picture, "RGBA")
    colours = [(229, 57, 53), (30, 136, 229), (67, 160, 71), (251, 140, 0), (142, 36, 170), (0, 172, 193)]
    width = max(2, round(min(picture.size) / 200))
    for tile in tiled.tiles:
        box, colour = tile.box, colours[tile.box.index % len(colours)]
        inset = (tile.box.index % 3) * width  # overlapping tiles stay apart
        draw.rectangle((box.left + inset, box.top + inset, box.right - 1 - inset, box.bottom - 1 - inset), outline=colour + (255,), width=width)
        label = str(box.index)
        x, y = box.left + inset + 2 * width, box.top + inset + 2 * width
        left, top, right, bottom = draw.textbbox((x, y), label)
        draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=(0, 0, 0, 170))
        draw.text((x, y), label, fill=colour + (255,))
    return picture


def tile_rows(tiled: Any) -> list[list[Any]]:
    """One row per tile: index, box, flat, tokens, caption (or its error)."""
    return [
        [t.box.index, f"{t.box.left},{t.box.top} {t.box.right - t.box.left}x{t.box.bottom - t.box.top}", "yes" if t.flat else "",
         t.caption_tokens, t.caption if not t.error else f"error: {t.error}"]
        for t in tiled.tiles
    ]  # fmt: skip


TILE_HEADERS = ["tile", "box (left,top size)", "flat", "tokens", "caption"]
