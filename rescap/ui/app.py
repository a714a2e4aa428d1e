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

from ..errors import one_line
from . import views
from .work import UiError, UiWork, failed

TITLE = "rescap: captions that wake a restorer's prior"
# the theme's fonts from the machine, not a font host: the page makes no request off this server
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "monospace"]
RESTORERS_SHOWN = 4  # restorers whose strings are shown at first: the default one and the next ones


def _empty_state() -> dict[str, Any]:
    # measured: each photo as read and estimated; analysed: its copy after the steps before the
    # caption (absent until they succeed, so a failure is asked again); bundles: by (photo,
    # restorer, richness); errors: photos that could not be read
    return {"order": [], "paths": {}, "measured": {}, "analysed": {}, "errors": {}, "bundles": {}}


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

    def caption_line(bundle, name: str, restorer: str, richness: int) -> str:
        photo = f" - {views.escape(name)}"
        if not bundle.captioned:  # said for the app (the bundle's own reason speaks of a server)
            return f"no caption: rescap ui runs without a captioning model (start it with --vlm): degradation-only prompts{photo}"
        target = bundle.richness.target_tokens if bundle.richness else 0
        how = f"richness {int(richness)} tokens" if richness else f"auto richness for severity {bundle.degradation.overall_severity:.2f}"
        removed = f"; filtered out: {views.escape('; '.join(bundle.removed))}" if bundle.removed else ""
        return f"caption: {bundle.token_counts.caption} tokens for {restorer} (target {target}, {how}; budget {work.budget(restorer)}){removed}{photo}"

    def bundle_for(state, name: str, restorer: str, richness: int):
        """The photo's bundle at this restorer and richness: cached once made; the analysis is made
        (again) first when it is missing, so a failure that has passed is not kept."""
        if name in state["errors"]:
            raise UiError(state["errors"][name])
        key = (name, restorer, int(richness or 0))
        if key in state["bundles"]:
            return state["bundles"][key]
        item = state["analysed"].get(name)
        if item is None:
            item = work.analyse([state["measured"][name]], restorer)[0] if work.captions else state["measured"][name]
            if item.failure is not None:
                raise failed(item.failure)
            state["analysed"][name] = item
        result = work.caption([item], restorer, int(richness or 0))[0]
        if isinstance(result, UiError):
            raise result
        state["bundles"][key] = result
        return result

    def view_of(state, name: str | None, restorer: str, richness: int, names):
        """(status, report, steps, caption, strings) for one photo."""
        if not name or name not in state["paths"]:
            return "Upload one or more photos to begin.", "", "", "", ""
        if name in state["errors"]:
            return f"**{views.escape(name)}** could not be read: {views.escape(state['errors'][name])}", "", "", "", ""
        try:
            bundle = bundle_for(state, name, restorer, richness)
        except Exception as exc:  # UiError, or anything unforeseen: one line on the page, never a raw popup
            item = state["analysed"].get(name) or state["measured"][name]
            steps = views.steps_html(item.trace, work.captions) if item.trace else ""
            text = str(exc) if isinstance(exc, UiError) else one_line(exc, with_type=True)
            return f"**{views.escape(name)}**: {views.escape(text)} (move the slider or pick the photo again to retry)", views.report_html(item.report), steps, "", ""
        return (
            caption_line(bundle, name, restorer, richness), views.report_html(bundle.degradation), views.steps_html(bundle.trace, work.captions),
            bundle.caption, strings_of(bundle.caption, bundle.degradation, names),
        )  # fmt: skip

    # -- handlers ------------------------------------------------------------------------------
    def controls(enabled: bool):
        """The photo, restorer and richness pickers: off while an upload is being worked on, so
        that what the page shows is always the photo picked."""
        return gr.update(interactive=enabled), gr.update(interactive=enabled)

    def on_upload(files, restorer, richness, names):
        state = _empty_state()
        try:
            yield from _upload(state, files, restorer, richness, names)
        except Exception as exc:  # whatever went wrong: said on the page, and the pickers back on
            yield (gr.update(interactive=True), gr.update(), *controls(True), f"the upload stopped: {views.escape(one_line(exc, with_type=True))}",
                   gr.update(), gr.update(), gr.update(), gr.update(), state)  # fmt: skip

    def _upload(state, files, restorer, richness, names):
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if not paths:
            yield gr.update(choices=[], value=None, interactive=True), None, *controls(True), *view_of(state, None, restorer, richness, names), state
            return
        richness = int(richness or 0)
        yield (gr.update(interactive=False), gr.update(), *controls(False), f"measuring the degradation: 0/{len(paths)} photos",
               "", views.steps_html([], work.captions), "", "", state)  # fmt: skip
        for n, path in enumerate(paths, 1):
            name = _unique(Path(path).name, state["paths"])
            state["paths"][name] = path
            state["order"].append(name)
            try:
                state["measured"][name] = work.measure(path, name)
            except UiError as exc:
                state["errors"][name] = str(exc)
            first = state["order"][0]
            report = views.report_html(state["measured"][first].report) if first in state["measured"] else ""
            yield (
                gr.update(choices=state["order"], value=first, interactive=False), state["paths"][first], *controls(False),
                f"measuring the degradation: {n}/{len(paths)} photos", report, views.steps_html([], work.captions), "", "", state,
            )  # fmt: skip
        first = state["order"][0]
        live = [n for n in state["order"] if n in state["measured"]]
        keep = (gr.update(), gr.update(), gr.update(), gr.update())
        if work.captions and live:
            yield *keep, f"the model is analysing {len(live)} photo(s): the steps before the caption", gr.update(), gr.update(), "", "", state
            try:
                for name, item in zip(live, work.analyse([state["measured"][n] for n in live], restorer)):
                    if item.failure is None:
                        state["analysed"][name] = item
            except UiError:
                pass  # each photo is analysed again alone when shown
            if first in state["analysed"]:
                yield *keep, "the model is writing the captions", gr.update(), views.steps_html(state["analysed"][first].trace), "", "", state
        elif live:
            state["analysed"].update({n: state["measured"][n] for n in live})
        ready = [n for n in live if n in state["analysed"]]
        if len(ready) > 1:  # the caption step of every photo as one batch
            try:
                for name, bundle in zip(ready, work.caption([state["analysed"][n] for n in ready], restorer, richness)):
                    if not isinstance(bundle, UiError):
                        state["bundles"][(name, restorer, richness)] = bundle
            except UiError:
                pass  # each photo is captioned again alone when shown
        yield gr.update(interactive=True), gr.update(), *controls(True), *view_of(state, first, restorer, richness, names), state

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
        item = state["measured"].get(name) if name else None
        return strings_of(caption or "", item.report if item is not None else None, names)

    def on_tiles(name, restorer, richness, caption, size, stride, state):
        if not name or name not in state["paths"]:
            return None, [], "Upload a photo on the Caption tab first."
        try:
            whole = bundle_for(state, name, restorer, richness)
            if caption is not None and caption.strip() and caption != whole.caption:  # the caption as edited is the context
                whole = whole.model_copy(update={"caption": caption})
            tiled = work.tiles(state["paths"][name], whole, restorer, int(richness or 0), size, stride)
        except Exception as exc:
            return None, [], f"**{views.escape(name)}**: {views.escape(str(exc) if isinstance(exc, UiError) else one_line(exc, with_type=True))}"
        count = len(tiled.tiles)
        whole_tile = count == 1 and tiled.tile_size >= max(tiled.width, tiled.height)
        note = (f"{views.escape(name)}: {count} tile{'s' if count != 1 else ''} of {tiled.tile_size} px, stride {tiled.tile_stride} px, in {views.escape(restorer)}'s tile order"
                + (f" (the photo, {tiled.width}x{tiled.height}, fits in one tile)" if whole_tile else "")
                + f"; each written with the caption shown as context: {views.escape(whole.caption or '(no caption)')}")  # fmt: skip
        return views.tile_overlay(state["paths"][name], tiled), views.tile_rows(tiled), note

    def on_restore(name, caption, seed, steps, state):
        if not name or name not in state["paths"]:
            return None, "Upload a photo on the Caption tab first."
        if name in state["errors"]:
            return None, f"**{views.escape(name)}** could not be read: {views.escape(state['errors'][name])}"
        item = state["measured"][name]
        start = time.perf_counter()
        try:
            restored, record = work.restore(state["paths"][name], caption or "", item.report, int(seed or 0), int(steps) if steps else None)
        except Exception as exc:
            return None, views.escape(str(exc) if isinstance(exc, UiError) else one_line(exc, with_type=True))
        from ..images import open_rgb

        before = open_rgb(state["paths"][name]).resize(restored.size)
        sent = "; ".join(f"{views.escape(k)}: `{views.escape(v)}`" for k, v in record["slot_prompts"].items())
        return (before, restored), (f"restored in {time.perf_counter() - start:.1f} s; the pipeline got {sent}; "
                                    f"negative: `{views.escape(record['negative_prompt'] or '(none)')}`")  # fmt: skip

    def on_batch(source, output, restorer, richness):
        progress: dict[str, Any] = {"done": 0, "total": None}
        outcome: dict[str, Any] = {}

        def run():
            try:
                outcome["summary"], outcome["target"] = work.recaption(
                    source, output, restorer, int(richness or 0), on_progress=lambda d, t: progress.update(done=d, total=t)
                )  # fmt: skip
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
        state = "incomplete" if s.unreachable else "done"
        lines = [
            f'<div class="{"warn" if kind in ("failed", "unreachable") else ""}" data-kind="{kind}">{"failed: " if kind == "failed" else ""}{views.escape(text)}</div>'
            for kind, text in s.messages(outcome["target"], again="press Re-caption again")
        ]  # fmt: skip
        yield (f'<div class="rescap" id="rescap-batch" data-state="{state}" data-done="{s.done}" data-failed="{s.failed}" '
               f'data-skipped="{s.skipped}" data-unreachable="{s.unreachable}">'
               + _progress_bar(s.done + s.failed + s.skipped, s.done + s.failed + s.skipped + s.unreachable + s.left) + "".join(lines) + "</div>")  # fmt: skip

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
                tile_table = gr.Dataframe(headers=views.TILE_HEADERS, interactive=False, wrap=True, elem_id="rescap-tile-table",
                                          column_widths=["9%", "20%", "9%", "11%", "51%"])  # fmt: skip
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
            if work.batch_root is not None:
                gr.Markdown(f"Re-caption a folder (`rescap recaption`) into a JSONL file, both inside **{views.escape(str(work.batch_root))}** "
                            "(paths relative to it, or absolute inside it): resumable, one record per image.")  # fmt: skip
                with gr.Row():
                    batch_source = gr.Textbox(label="Folder", elem_id="rescap-batch-source")
                    batch_output = gr.Textbox(label="Output JSONL file (or a folder/ for records.jsonl in it)", elem_id="rescap-batch-output")
                    batch_button = gr.Button("Re-caption", elem_id="rescap-batch-button")
                batch_progress = gr.HTML(elem_id="rescap-batch-box")
                batch_button.click(on_batch, [batch_source, batch_output, restorer, richness], [batch_progress])
            else:
                gr.Markdown("The Batch tab is off: start `rescap ui --batch-root FOLDER` to re-caption folders inside FOLDER here.")
        view = [status, report, steps, caption, strings]
        # the events that write the Caption tab's results run one after another (one concurrency
        # group): a slow caption for one photo can never land after, and over, another's
        one = {"concurrency_id": "rescap-caption", "concurrency_limit": 1}
        files.change(on_upload, [files, restorer, richness, shown_restorers], [chosen, preview, restorer, richness, *view, state], **one)
        chosen.input(on_choose, [chosen, restorer, richness, shown_restorers, state], [preview, *view, state], **one)
        # change, not release: the keyboard and a typed number move it too; always_last: a drag asks
        # for the caption at the value it stops on, not at every value it passes
        richness.change(on_richness, [chosen, restorer, richness, shown_restorers, state], [*view, state], trigger_mode="always_last", **one)
        restorer.input(on_restorer, [chosen, restorer, richness, shown_restorers, state], [richness, shown_restorers, *view, state], **one)
        caption.input(on_edit, [caption, chosen, shown_restorers, state], [strings], trigger_mode="always_last", show_progress="hidden")
        shown_restorers.input(on_edit, [caption, chosen, shown_restorers, state], [strings])
        tile_button.click(on_tiles, [chosen, restorer, richness, caption, tile_size, tile_stride, state], [tile_image, tile_table, tile_note], **one)
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
