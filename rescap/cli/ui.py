"""``rescap ui``: the local web app (Gradio) on one VLM."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from . import options


def ui(
    vlm: Optional[str] = options.VLM,
    base_url: Optional[str] = options.BASE_URL,
    no_vlm: bool = options.NO_VLM,
    restorer: str = options.RESTORER_OR_SD,
    mode: str = options.MODE,
    relevance: str = typer.Option("off", "--relevance", help="CLIP relevance filter: off (default for the app), auto, or a CLIP hub id/folder."),
    restorer_model: Optional[str] = typer.Option(
        None, "--restorer-model", help="A diffusers pipeline (hub id or saved folder) for the Restore tab; none: no restoration."
    ),
    device: str = options.DEVICE,
    batch_root: Optional[Path] = typer.Option(
        None, "--batch-root", help="The folder the Batch tab reads and writes in. Default: the current folder, "
        "on 127.0.0.1; served wider (--host), the tab is off unless this is given.",
    ),  # fmt: skip
    host: str = options.HOST,
    port: int = options.UI_PORT,
    backend_option: Optional[List[str]] = options.BACKEND_OPTION,
    api_key_env: Optional[str] = options.API_KEY_ENV,
) -> None:
    """Open rescap in the browser: degradation report, each step's answer, the caption with a richness
    slider, and the exact strings each restorer gets, re-checked as you edit; tiles, restoration, batch.

    Binds 127.0.0.1 (this machine only) unless --host says otherwise; Ctrl-C or SIGTERM stops it (status 0).

    Examples:

    \b
        rescap ui --vlm transformers:/models/smolvlm --restorer supir
        rescap ui --vlm openai:Qwen/Qwen2.5-VL-7B-Instruct --base-url http://gpu-box:8000/v1 --port 7861
        rescap ui --no-vlm --restorer-model ./sd-x4-upscaler
    """
    from ..errors import one_line
    from ..extras import MissingExtraError, require
    from .console import stderr_console

    try:
        require("gradio", "ui")
    except MissingExtraError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    from ..serve.settings import ServeSettings
    from ..ui.app import build_app, launch
    from ..ui.work import UiWork

    console = stderr_console()
    local = host in ("127.0.0.1", "localhost", "::1")
    if batch_root is not None and not batch_root.is_dir():
        typer.echo(f"error: --batch-root {batch_root}: not a folder", err=True)
        raise typer.Exit(2)
    if batch_root is None and local:
        batch_root = Path.cwd()
    settings = ServeSettings(
        vlm=None if no_vlm else options.vlm_of(vlm, None), base_url=base_url, backend_options=options.parse_backend_options(backend_option, api_key_env),
        restorer=restorer, mode=mode, relevance=relevance, estimate_workers=0,
    )  # fmt: skip
    try:
        work = UiWork.start(settings, restorer_model=restorer_model, device=device, batch_root=batch_root)
        demo = build_app(work)
    except Exception as exc:  # the model, the restorer, the pipeline's tokenizers: everything a start needs
        typer.echo(f"error: {one_line(exc)}", err=True)
        raise typer.Exit(2)
    if not local:
        reach = f"and re-caption folders in {batch_root} (reading its images, writing files there)" if batch_root is not None else "(the Batch tab is off)"
        console.print(f"[bold yellow]warning:[/] serving on {host}: anyone who can reach it can use it, {reach}", highlight=False)
    console.print(f"rescap ui: http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port} - VLM {settings.vlm or 'none (degradation-only prompts)'}", highlight=False, soft_wrap=True)
    import signal

    def stop(*_):  # SIGTERM (a service manager, a container stop) closes the server as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        launch(demo, host, port, quiet=True)
    except OSError as exc:  # the port is taken
        typer.echo(f"error: cannot serve on {host}:{port}: {one_line(exc)}", err=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        pass
    work.close()
    # Gradio has closed its server; a handler may still be inside torch or the VLM in a worker
    # thread, and interpreter shutdown under a running torch thread aborts the process. Nothing is
    # left to save (a batch's records are written as each batch ends), so leave now, status 0.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
