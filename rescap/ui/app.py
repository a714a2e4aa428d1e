"""The ``rescap ui`` web app (Gradio): one page to see what rescap gives a restorer and why.

Tabs: **Caption** (upload images; the degradation report, each chain-of-thought step's answer,
the caption with a richness slider, per restorer the final strings with a token bar against each
text window; the caption is editable and re-checked as you type), **Tiles** (a caption per tile,
the grid drawn over the image), **Restore** (a diffusers pipeline, before and after) and
**Batch** (``rescap recaption`` on a folder, with progress).

Example:
    >>> from rescap.serve.settings import ServeSettings  # doctest: +SKIP
    >>> from rescap.ui.work import UiWork  # doctest: +SKIP
    >>> demo = build_app(UiWork.start(ServeSettings(vlm=None, estimate_workers=0)))  # doctest: +SKIP
    >>> launch(demo, "127.0.0.1", 7860)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from . import views
from .work import UiError, UiWork

TITLE = "rescap: captions that wake a restorer's prior"
# the theme's fonts from the machine, not a font host: the page makes no request off this server
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "monospace"]
RESTORERS_SHOWN = 4  # restorers whose strings are shown at first: the default one and the next ones


def _empty_state() -> dict[str, Any]:
    return {"order": [], "paths": {}, "items": {}, "errors": {}, "bundles": {}, "shown_caption": {}}


def _unique(name: str, taken: dict) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def build_app(work: UiWork):
    """The Gradio Blocks app on ``work``; ``launch`` serves it."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    restorers = work.restorers()
    default = work.default_restorer
    shown = [default] + [r for r in restorers if r != default][: RESTORERS_SHOWN - 1]
    budget = work.budget(default)

    def adapters_for(names):
        return {n: work.adapter(n) for n in names}

    def strings_of(caption: str, report, names) -> str:
        names = [n for n in (names or []) if n in restorers] or [default]
        try:
            return views.strings_html(work.strings(caption, report, names), adapters_for(names))
        except UiError as exc:
            return f'<div class="rescap warn">{views.escape(str(exc))}</div>'

    def caption_line(bundle, restorer: str, richness: int) -> str:
        if not bundle.captioned:
            return f"no caption: {bundle.uncaptioned_reason}"
        target = bundle.richness.target_tokens if bundle.richness else 0
        how = f"richness {int(richness)} tokens" if richness else f"auto richness for severity {bundle.degradation.overall_severity:.2f}"
        removed = f"; filtered out: {'; '.join(bundle.removed)}" if bundle.removed else ""
        return f"caption: {bundle.token_counts.caption} tokens for {restorer} (target {target}, {how}; budget {work.budget(restorer)}){removed}"

    def bundle_for(state, name: str, restorer: str, richness: int):
        key = (name, restorer, int(richness or 0))
        if key not in state["bundles"]:
            state["bundles"][key] = work.caption([state["items"][name]], restorer, int(richness or 0))[0]
        if isinstance(state["bundles"][key], UiError):
            raise state["bundles"].pop(key)
        return state["bundles"][key]

    def view_of(state, name: str | None, restorer: str, richness: int, names):
        """(status, report, steps, caption, strings) for one image."""
        if not name or name not in state["paths"]:
            return "Upload one or more photos to begin.", "", "", "", ""
        if name in state["errors"]:
            return f"**{views.escape(name)}**: {state['errors'][name]}", "", "", "", ""
        item = state["items"][name]
        try:
            bundle = bundle_for(state, name, restorer, richness)
        except UiError as exc:
            return f"**{name}**: {exc}", views.report_html(item.report), views.steps_html(item.trace, work.captions), "", ""
        state["shown_caption"][name] = bundle.caption
        return (
            caption_line(bundle, restorer, richness), views.report_html(bundle.degradation), views.steps_html(bundle.trace, work.captions),
            bundle.caption, strings_of(bundle.caption, bundle.degradation, names),
        )  # fmt: skip

    # -- handlers ------------------------------------------------------------------------------
    def on_upload(files, restorer, richness, names):
        state = _empty_state()
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if not paths:
            yield gr.update(choices=[], value=None), None, *view_of(state, None, restorer, richness, names), state
            return
        for n, path in enumerate(paths, 1):
            name = _unique(Path(path).name, state["paths"])
            state["paths"][name] = path
            state["order"].append(name)
            try:
                state["items"][name] = work.measure(path, name)
            except UiError as exc:
                state["errors"][name] = str(exc)
            first = state["order"][0]
            report = views.report_html(state["items"][first].report) if first in state["items"] else ""
            yield (
                gr.update(choices=state["order"], value=first), state["paths"][first], f"measuring the degradation: {n}/{len(paths)} images",
                report, views.steps_html([], work.captions), "", "", state,
            )  # fmt: skip
        first = state["order"][0]
        live = [state["items"][n] for n in state["order"] if n in state["items"]]
        if work.captions and live:
            yield gr.update(), gr.update(), f"the model is analysing {len(live)} image(s): degradation and content steps", gr.update(), gr.update(), "", "", state
            try:
                work.analyse(live, restorer)
            except UiError as exc:
                for name in state["items"]:
                    state["errors"][name] = str(exc)
            if first in state["items"]:
                yield gr.update(), gr.update(), "the model is writing the caption", gr.update(), views.steps_html(state["items"][first].trace), "", "", state
        if work.captions and len(live) > 1:  # the caption step of every image as one batch
            try:
                for name, bundle in zip([n for n in state["order"] if n in state["items"]], work.caption(live, restorer, int(richness or 0))):
                    if isinstance(bundle, UiError):
                        state["errors"][name] = str(bundle)
                    else:
                        state["bundles"][(name, restorer, int(richness or 0))] = bundle
            except UiError:
                pass  # each image is tried again alone when shown
        yield gr.update(), gr.update(), *view_of(state, first, restorer, richness, names), state

    def on_choose(name, restorer, richness, names, state):
        path = state["paths"].get(name) if name else None
        return path, *view_of(state, name, restorer, richness, names), state

    def on_richness(name, restorer, richness, names, state):
        return (*view_of(state, name, restorer, richness, names), state)

    def on_restorer(name, restorer, richness, names, state):
        top = work.budget(restorer)
        richness = min(int(richness or 0), top)
        names = list(dict.fromkeys([restorer, *(names or [])]))
        return gr.update(maximum=top, value=richness), gr.update(value=names), *view_of(state, name, restorer, richness, names), state

    def on_edit(caption, name, names, state):
        item = state["items"].get(name) if name else None
        return strings_of(caption or "", item.report if item is not None else None, names)

    def on_shown(caption, name, names, state):
        return on_edit(caption, name, names, state)

    def on_tiles(name, restorer, richness, size, stride, state):
        if not name or name not in state["paths"]:
            return None, [], "Upload a photo on the Caption tab first."
        spec = f"{int(size)}:{int(stride)}" if stride else f"{int(size)}"
        try:
            tiled = work.tiles(state["paths"][name], restorer, int(richness or 0), spec)
        except UiError as exc:
            return None, [], f"**{name}**: {exc}"
        note = (f"{len(tiled.tiles)} tiles of {tiled.tile_size} px, stride {tiled.tile_stride} px, in {restorer}'s tile order "
                f"(see rescap.captioning.tiles); whole image: {tiled.bundle.caption or '(no caption)'}")  # fmt: skip
        return views.tile_overlay(state["paths"][name], tiled), views.tile_rows(tiled), note

    def on_restore(name, caption, seed, steps, state):
        if not name or name not in state["items"]:
            return None, "Upload a photo on the Caption tab first."
        item = state["items"][name]
        start = time.perf_counter()
        try:
            restored = work.restore(state["paths"][name], caption or "", item.report, int(seed or 0), int(steps) if steps else None)
        except UiError as exc:
            return None, str(exc)
        from ..images import open_rgb

        before = open_rgb(state["paths"][name]).resize(restored.size)
        return (before, restored), f"restored in {time.perf_counter() - start:.1f} s with the caption shown on the Caption tab"

    def on_batch(source, output, restorer, richness):
        progress: dict[str, Any] = {"done": 0, "total": None}
        outcome: dict[str, Any] = {}

        def run():
            try:
                outcome["summary"] = work.recaption(source, output, restorer, int(richness or 0),
                                                    on_progress=lambda d, t: progress.update(done=d, total=t))  # fmt: skip
            except UiError as exc:
                outcome["error"] = str(exc)
            except Exception as exc:  # the thread must report, not die silently
                from ..errors import one_line

                outcome["error"] = one_line(exc)

        thread = threading.Thread(target=run, name="rescap-ui-batch", daemon=True)
        start = time.perf_counter()
        thread.start()
        while thread.is_alive():
            thread.join(0.4)
            yield _progress_html(progress["done"], progress["total"], time.perf_counter() - start)
        if "error" in outcome:
            yield f'<div class="rescap warn" id="rescap-batch" data-state="error">{views.escape(outcome["error"])}</div>'
            return
        s = outcome["summary"]
        lines = [f"done {s.done}, skipped {s.skipped} (already recorded), failed {s.failed} in {s.seconds:.1f} s -> {views.escape(str(output))}"]
        lines += [f'<div class="warn">failed: {views.escape(e)}</div>' for e in s.errors]
        yield (f'<div class="rescap" id="rescap-batch" data-state="done" data-done="{s.done}" data-failed="{s.failed}" data-skipped="{s.skipped}">'
               + _progress_bar(s.done + s.failed, s.done + s.failed) + "<br>".join(lines) + "</div>")  # fmt: skip

    # -- layout --------------------------------------------------------------------------------
    with gr.Blocks(title="rescap", analytics_enabled=False) as demo:
        state = gr.State(_empty_state())
        gr.Markdown(
            f"## {TITLE}\nVLM: **{views.escape(_vlm_name(work))}**. Upload photos: rescap measures their degradation, asks the "
            "model step by step, fits the caption's richness to the degradation and each restorer's text window, and shows "
            "the exact strings each restorer gets."
        )  # fmt: skip
        with gr.Tab("Caption"):
            with gr.Row():
                with gr.Column(scale=2):
                    files = gr.File(label="Photos", file_count="multiple", file_types=["image"], type="filepath", elem_id="rescap-upload")
                    chosen = gr.Dropdown(label="Photo shown", choices=[], elem_id="rescap-chosen")
                    preview = gr.Image(label="Photo", type="filepath", interactive=False, height=320, elem_id="rescap-preview")
                    restorer = gr.Dropdown(label="Caption for (its window sets the budget)", choices=restorers, value=default, elem_id="rescap-restorer")
                    richness = gr.Slider(0, budget, value=0, step=1, label="Richness: caption tokens (0 = auto, from the degradation and content)",
                                         elem_id="rescap-richness")  # fmt: skip
                    shown_restorers = gr.CheckboxGroup(restorers, value=shown, label="Restorers shown", elem_id="rescap-shown")
                with gr.Column(scale=3):
                    status = gr.Markdown("Upload one or more photos to begin.", elem_id="rescap-status")
                    caption = gr.Textbox(label="Caption (edit it: the strings below are re-checked as you type)", lines=4, elem_id="rescap-caption")
                    strings = gr.HTML(elem_id="rescap-strings-box")
                    with gr.Accordion("Degradation report", open=True):
                        report = gr.HTML(elem_id="rescap-report-box")
                    with gr.Accordion("Chain of thought: each step's answer", open=True):
                        steps = gr.HTML(elem_id="rescap-steps-box")
        with gr.Tab("Tiles"):
            gr.Markdown("A caption per tile, for restorers that restore tile by tile (sizes in the image's pixels).")
            with gr.Row():
                tile_size = gr.Number(512, label="Tile size", precision=0, minimum=32, elem_id="rescap-tile-size")
                tile_stride = gr.Number(256, label="Stride", precision=0, minimum=1, elem_id="rescap-tile-stride")
                tile_button = gr.Button("Caption the tiles", elem_id="rescap-tile-button")
            tile_note = gr.Markdown(elem_id="rescap-tile-note")
            with gr.Row():
                tile_image = gr.Image(label="Tiles", type="pil", interactive=False, elem_id="rescap-tile-image")
                tile_table = gr.Dataframe(headers=views.TILE_HEADERS, interactive=False, wrap=True, elem_id="rescap-tile-table")
        with gr.Tab("Restore"):
            if work.can_restore:
                gr.Markdown(f"Restores the photo shown with **{views.escape(str(work.restorer_model))}** and the caption on the Caption tab.")
                with gr.Row():
                    seed = gr.Number(0, label="Seed", precision=0)
                    restore_steps = gr.Number(None, label="Steps (empty or 0: the pipeline's default)", precision=0, minimum=0, elem_id="rescap-restore-steps")
                    restore_button = gr.Button("Restore", elem_id="rescap-restore-button")
                restore_note = gr.Markdown(elem_id="rescap-restore-note")
                compare = gr.ImageSlider(label="Before / after", type="pil", elem_id="rescap-compare")
                restore_button.click(on_restore, [chosen, caption, seed, restore_steps, state], [compare, restore_note])
            else:
                gr.Markdown("No restorer: start `rescap ui --restorer-model <diffusers pipeline>` to restore here.")
        with gr.Tab("Batch"):
            gr.Markdown("Re-caption a folder on this machine (`rescap recaption`): resumable, one JSONL record per image.")
            with gr.Row():
                batch_source = gr.Textbox(label="Folder (or manifest) on this machine", elem_id="rescap-batch-source")
                batch_output = gr.Textbox(label="Output JSONL file", elem_id="rescap-batch-output")
                batch_button = gr.Button("Re-caption", elem_id="rescap-batch-button")
            batch_progress = gr.HTML(elem_id="rescap-batch-box")

        view = [status, report, steps, caption, strings]
        files.change(on_upload, [files, restorer, richness, shown_restorers], [chosen, preview, *view, state])
        chosen.input(on_choose, [chosen, restorer, richness, shown_restorers, state], [preview, *view, state])
        richness.release(on_richness, [chosen, restorer, richness, shown_restorers, state], [*view, state])
        restorer.input(on_restorer, [chosen, restorer, richness, shown_restorers, state], [richness, shown_restorers, *view, state])
        caption.input(on_edit, [caption, chosen, shown_restorers, state], [strings], trigger_mode="always_last", show_progress="hidden")
        shown_restorers.input(on_shown, [caption, chosen, shown_restorers, state], [strings])
        tile_button.click(on_tiles, [chosen, restorer, richness, tile_size, tile_stride, state], [tile_image, tile_table, tile_note])
        batch_button.click(on_batch, [batch_source, batch_output, restorer, richness], [batch_progress])
    return demo


def _vlm_name(work: UiWork) -> str:
    backend = work.service.backend
    return getattr(backend, "model_string", None) or "none (degradation-only prompts)"


def _progress_bar(done: int, total: int | None) -> str:
    total_text = "?" if total is None else str(total)
    value = f' value="{done}" max="{max(total, 1)}"' if total is not None else ""
    return f'<progress{value} style="width:100%"></progress><div>{done}/{total_text} images</div>'


def _progress_html(done: int, total: int | None, seconds: float) -> str:
    rate = f", {done / seconds:.2f} img/s" if seconds > 0 and done else ""
    return (f'<div class="rescap" id="rescap-batch" data-state="running" data-done="{done}" data-total="{total if total is not None else ""}">'
            + _progress_bar(done, total) + f"<small>{seconds:.0f} s{rate}</small></div>")  # fmt: skip


def launch(demo, host: str, port: int, quiet: bool = False) -> None:
    """Serve the app until Ctrl-C (blocks)."""
    import gradio as gr

    theme = gr.themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS)
    demo.queue(default_concurrency_limit=1).launch(
        server_name=host, server_port=port, share=False, inbrowser=False, quiet=quiet, theme=theme, css=views.CSS,
        footer_links=[], show_error=True, ssr_mode=False,
    )  # fmt: skip
