"""``rescap prompt`` (the exact strings a restorer receives) and ``rescap restore`` (run it)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import List, Optional

import typer

from .._version import __version__
from ..captioning.prompt_record import prompt_fields
from ..errors import error_text
from . import options
from .adapters import load_adapter
from .console import ensure_output_folder, lock_output


def _prompt_source(vlm, base_url, no_vlm, richness, adapter, relevance, mode, backend_options=None):
    """A Captioner fitted to the adapter's restorer (budget and counter)."""
    from ..control.richness import RichnessPolicy, parse_richness
    from .caption import _make_captioner

    try:
        policy = RichnessPolicy(mode=parse_richness(richness))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    return _make_captioner(no_vlm, vlm, base_url, policy, adapter, relevance, mode, backend_options=backend_options)


def _bundle_from_caption(captioner, image: Path, caption: str):
    """A degradation-only bundle carrying a caption read from a file or given on the command line."""
    bundle = captioner.caption(str(image))
    final = captioner.adapter.final_prompts_for(caption, bundle.negative_prompt, bundle.restoration_prompt)
    counts = bundle.token_counts.model_copy(
        update={"caption": captioner.counter.count(caption), "positive": captioner.counter.count(final.positive)}
    )
    slots = {s.argument: s.text for s in captioner.adapter.slot_texts(final)}
    return bundle.model_copy(update={"caption": caption, "positive_prompt": final.positive, "slot_prompts": slots, "token_counts": counts})


def prompt(
    image: Path = typer.Argument(..., help="The image to make prompts for.", show_default=False),
    restorer: str = options.RESTORER,
    restorer_model: Optional[str] = options.RESTORER_MODEL,
    restorer_path: Optional[str] = options.RESTORER_MODEL_OLD,
    vlm: Optional[str] = options.VLM,
    base_url: Optional[str] = options.BASE_URL,
    no_vlm: bool = options.NO_VLM,
    caption_text: Optional[str] = typer.Option(None, "--caption", help="Use this caption instead of captioning."),
    richness: str = options.RICHNESS,
    relevance: str = options.RELEVANCE,
    tokenizer: Optional[str] = options.TOKENIZER,
    quality_prompt: str = options.QUALITY_PROMPT,
    user_prompt: Optional[str] = options.USER_PROMPT,
    user_negative: Optional[str] = options.USER_NEGATIVE,
    mode: str = options.MODE,
    backend_option: Optional[List[str]] = options.BACKEND_OPTION,
    api_key_env: Optional[str] = options.API_KEY_ENV,
    json_output: bool = options.JSON_OUTPUT,
) -> None:
    """Show the exact positive/negative strings a restorer will receive, their token counts, and warnings.

    Warnings flag truncation (a caption pushing the restorer's quality prompt out of its window), a
    literal "None", an empty caption, and words that describe the degradation.

    Example: rescap prompt photo.jpg --restorer supir --no-vlm
    """
    adapter = load_adapter(restorer, tokenizer, quality_prompt)
    restorer_path = options.restorer_model_of(restorer_model, restorer_path)
    vlm = options.vlm_of(vlm, None)
    if restorer_path and hasattr(adapter, "use_folder"):
        try:
            adapter.use_folder(restorer_path)
        except Exception as exc:
            typer.echo(f"error: {error_text(exc)}", err=True)
            raise typer.Exit(2)
    from .options import parse_backend_options

    captioner = _prompt_source(vlm, base_url, no_vlm or caption_text is not None, richness, adapter, relevance, mode, parse_backend_options(backend_option, api_key_env))
    try:
        bundle = _bundle_from_caption(captioner, image, caption_text) if caption_text is not None else captioner.caption(str(image))
    except Exception as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    final = adapter.final_prompts(bundle, user_prompt, user_negative)
    check = adapter.check(final)
    record = {"file": str(image), "restorer": adapter.name, **prompt_fields(adapter, final), "restoration_prompt": bundle.restoration_prompt, "check": check.model_dump()}
    if json_output:
        typer.echo(json.dumps(record, ensure_ascii=False))
        return
    from rich.markup import escape

    from .console import stdout_console

    console = stdout_console()
    console.print(f"[bold]{escape(adapter.name)}[/] <- {escape(str(image))}  ({check.counter}{'' if check.exact else ', approximate'})")
    texts = adapter.slot_texts(final)
    for slot, counted in zip(texts, check.slots):
        label = "positive" if slot.argument == adapter.slots[0].argument else slot.argument
        where = f"{slot.argument}, " if label == "positive" and len(texts) > 1 else ""
        console.print(f"[bold]{escape(label)}[/] ({escape(where)}{counted.tokens}/{counted.usable} tokens; {escape(', '.join(slot.encoders))}):\n{escape(slot.text)}")
    console.print(f"[bold]negative[/] ({check.negative_tokens} tokens):\n{escape(final.negative)}")
    for key, value in final.extra.items():
        if key not in {s.argument for s in texts}:
            console.print(f"[bold]{escape(key)}[/]:\n{escape(value)}")
    if final.dropped:
        console.print(f"[dim]cut to fit: {escape(' | '.join(final.dropped))}[/]")
    console.print(f"[bold]restoration prompt[/]: {escape(bundle.restoration_prompt)}")
    for warning in check.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")


def restore(
    inputs: List[Path] = typer.Argument(..., help="Images or folders (walked recursively).", show_default=False, metavar="INPUT"),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for restored images and their JSON records."),
    restorer: str = options.RESTORER,
    restorer_model: Optional[str] = options.RESTORER_MODEL,
    restorer_path: Optional[str] = options.RESTORER_MODEL_OLD,
    vlm: Optional[str] = options.VLM,
    base_url: Optional[str] = options.BASE_URL,
    no_vlm: bool = options.NO_VLM,
    captions: Optional[Path] = typer.Option(None, "--captions", help="Read captions from DIR/<relative path>.txt instead."),
    richness: str = options.RICHNESS,
    relevance: str = options.RELEVANCE,
    seed: int = options.SEED,
    steps: Optional[int] = options.STEPS,
    strength: Optional[float] = options.STRENGTH,
    guidance: Optional[float] = options.GUIDANCE,
    device: str = options.DEVICE,
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo images whose output already exists."),
    user_prompt: Optional[str] = options.USER_PROMPT,
    user_negative: Optional[str] = options.USER_NEGATIVE,
    quality_prompt: str = options.QUALITY_PROMPT,
    mode: str = options.MODE,
    batch_size: int = options.BATCH_SIZE,
    backend_option: Optional[List[str]] = options.BACKEND_OPTION,
    api_key_env: Optional[str] = options.API_KEY_ENV,
) -> None:
    """Caption each image (or read its caption file), build the restorer's exact prompts, restore it.

    Writes OUTPUT/<relative path>.png and a JSON record next to it (prompts used, degradation,
    warnings, timings). Existing outputs are skipped unless --overwrite; one failed image does not
    stop the others (exit 1 at the end). Restorers that cannot run here get their per-image prompt
    files written instead (the layout their own scripts read).

    Examples:

    \b
        rescap restore photos/ -o restored/ --restorer diffusers --restorer-model stabilityai/stable-diffusion-x4-upscaler
        rescap restore photos/ -o prompts/ --restorer supir --no-vlm
    """
    from rich.markup import escape

    from ..adapters import RestorerUnavailable
    from ..adapters.base import _relative
    from ..captioning.bundle import CaptionFailure
    from ..captioning.captioner import CaptionError
    from ..durable import atomic_write, save_image
    from ..files import NoImageFiles, input_root, iter_image_files, sidecar_caption
    from ..images import open_rgb
    from ..outputs import inside, same_stem_partners, unique_names
    from .console import progress_bar, report_retries, stderr_console

    adapter = load_adapter(restorer, None, quality_prompt)
    restorer_path = options.restorer_model_of(restorer_model, restorer_path)
    vlm = options.vlm_of(vlm, None)
    files = list(iter_image_files(inputs))
    if not files:
        typer.echo(f"error: {NoImageFiles(inputs)}", err=True)
        raise typer.Exit(1)
    root = input_root(inputs, files)
    console = stderr_console()
    ensure_output_folder(output)  # before anything loads
    lock_output(output)  # a second run on this folder is refused, not interleaved
    from .options import parse_backend_options

    # the captioning model first: a missing one stops the run before the (slower) restorer loads
    captioner = _prompt_source(vlm, base_url, no_vlm or captions is not None, richness, adapter, relevance, mode, parse_backend_options(backend_option, api_key_env))
    runner = None
    try:
        runner = adapter.load(restorer_path, device=device)
    except RestorerUnavailable as exc:
        if restorer_path:  # the user asked for this restorer to run: falling back would hide the mistake
            typer.echo(f"error: cannot run {adapter.name} from --restorer-model {restorer_path}: {exc}", err=True)
            raise typer.Exit(2)
        console.print(f"[yellow]{escape(str(exc))}[/]; writing per-image prompt files to {escape(str(output))} instead", highlight=False)
    except Exception as exc:
        typer.echo(f"error: cannot load the restorer: {error_text(exc)}", err=True)
        raise typer.Exit(2)
    if runner is not None:  # restored images are skipped on a rerun: they must have been made the same way
        from ..run_settings import check_run_settings

        uses_vlm = not no_vlm and captions is None
        refused = check_run_settings(output, {
            "restorer": adapter.name, "restorer_model": restorer_path, "vlm": vlm if uses_vlm else None,
            "captions": str(captions) if captions is not None else None, "richness": richness, "relevance": relevance if uses_vlm else None,
            "mode": mode if uses_vlm else None, "quality_prompt": quality_prompt, "prompt": user_prompt, "negative": user_negative,
            "seed": seed, "steps": steps, "strength": strength, "guidance": guidance, "rescap_version": __version__,
        }, overwrite)  # fmt: skip
        if refused:
            typer.echo(f"error: {refused}", err=True)
            raise typer.Exit(2)
    done = skipped = 0
    failures: list[str] = []
    relatives = {path: _relative(path, root) for path in files}
    names = unique_names(relatives.values())  # photo.jpg and photo.png restore to two files, never one
    shared_prompt_file = same_stem_partners(relatives) if runner is None else {}
    progress, task = progress_bar("restoring" if runner is not None else "writing prompts", len(files), enabled=len(files) > 3)
    with progress:
        pending = []
        for path in files:
            # done = the image and its record: a kill between the two leaves an image without its
            # record, which is redone rather than skipped for good
            name = names[relatives[path]]
            made = (inside(output, name, suffix, replace_suffix=False).exists() for suffix in (".png", ".json"))
            if runner is not None and not overwrite and all(made):
                skipped += 1
                progress.advance(task)
            else:
                pending.append(path)
        for start in range(0, len(pending), batch_size):
            chunk = pending[start : start + batch_size]
            t0 = time.perf_counter()
            captioned: list = [None] * len(chunk)
            if captions is None:  # one batched VLM call per step for the whole chunk
                captioned = captioner.caption_batch([str(p) for p in chunk])
            share = (time.perf_counter() - t0) / len(chunk)
            for path, result in zip(chunk, captioned):
                rel = relatives[path]
                target = inside(output, names[rel], ".png", replace_suffix=False)
                record: dict = {"file": str(path), "output": str(target) if runner is not None else None, "restorer": adapter.name, "rescap_version": __version__}
                try:
                    if path in shared_prompt_file:
                        raise ValueError(
                            f"{rel} and {shared_prompt_file[path]} need the same prompt file ({adapter.name} reads one per "
                            "file name without extension); rename one of them"
                        )
                    t1 = time.perf_counter()
                    if captions is not None:
                        bundle = _bundle_from_caption(captioner, path, sidecar_caption(path, rel, captions, beside_image=False))
                    elif isinstance(result, CaptionFailure):
                        raise CaptionError(result, with_name=False)
                    else:
                        bundle = result
                    final = adapter.final_prompts(bundle, user_prompt, user_negative)
                    record.update(**prompt_fields(adapter, final), restoration_prompt=bundle.restoration_prompt, check=adapter.check(final).model_dump(), degradation=bundle.degradation.model_dump(mode="json"))
                    t2 = time.perf_counter()
                    if runner is not None:
                        lq = open_rgb(path)  # the one decoder: EXIF, 16-bit scaled, bombs refused
                        restored = adapter.restore(runner, lq, final, seed=seed, steps=steps, strength=strength, guidance_scale=guidance)
                        save_image(restored, target)
                    else:
                        record["prompt_files"] = [str(p) for p in adapter.export(final, path, output, root)]
                    record["timings"] = {"prompts": share + t2 - t1, "restore": time.perf_counter() - t2, **bundle.timings}
                    done += 1
                except Exception as exc:  # one image must not stop the batch
                    record["error"] = error_text(exc)
                    failures.append(f"{path}: {record['error']}")
                atomic_write(inside(output, names[rel], ".json", replace_suffix=False), json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8"))
                progress.advance(task)
    failed = len(failures)
    for line in failures:
        console.print(f"[red]failed:[/] {escape(line)}", highlight=False)
    verb = "restored" if runner is not None else "prompted"
    console.print(f"{done} {verb}, {skipped} skipped (already done), {failed} failed -> {output}")
    if captioner.backend is not None:
        report_retries(captioner.backend)
        captioner.backend.close()
    if failed:
        raise typer.Exit(1)
