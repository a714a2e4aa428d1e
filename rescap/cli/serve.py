"""``rescap serve``: rescap's captions as an OpenAI-compatible HTTP service with dynamic batching."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from . import options


def serve(
    vlm: Optional[str] = options.VLM,
    base_url: Optional[str] = options.BASE_URL,
    no_vlm: bool = options.NO_VLM,
    restorer: str = options.RESTORER_OR_SD,
    richness: str = options.RICHNESS,
    mode: str = options.MODE,
    relevance: str = typer.Option("off", "--relevance", help="CLIP relevance filter: off (default for the service), auto, or a CLIP hub id/folder."),
    host: str = options.HOST,
    port: int = options.PORT,
    max_batch: int = options.MAX_BATCH,
    max_wait_ms: float = options.MAX_WAIT_MS,
    max_gather_ms: float = options.MAX_GATHER_MS,
    max_queue: int = options.MAX_QUEUE,
    timeout: float = options.REQUEST_TIMEOUT,
    api_key_env: Optional[str] = options.SERVE_API_KEY_ENV,
    vlm_api_key_env: Optional[str] = options.VLM_API_KEY_ENV,
    images_dir: Optional[Path] = options.IMAGES_DIR,
    max_pixels: int = options.MAX_PIXELS,
    max_body_mb: float = options.MAX_BODY_MB,
    backend_option: Optional[List[str]] = options.BACKEND_OPTION,
) -> None:
    """Serve rescap's captions over HTTP: OpenAI-compatible chat completions, plus caption, estimate and prompt.

    A chat request carrying an image gets, as the assistant's message, the caption rescap gives the
    restorer its model names (rescap-supir, rescap-hypir...; GET /v1/models lists them). Concurrent
    requests are captioned together in batched VLM calls. Ctrl-C or SIGTERM stops taking requests,
    finishes those in flight, and exits 0.

    Examples:

    \b
        rescap serve --vlm transformers:/models/smolvlm --restorer hypir
        rescap serve --vlm openai:Qwen/Qwen2.5-VL-7B-Instruct --base-url http://gpu-box:8000/v1 --port 9000
        GPT_BASE_URL=http://127.0.0.1:8000/v1 GPT_MODEL=rescap-hypir python app.py   # HYPIR's demo
    """
    from ..errors import one_line
    from ..extras import MissingExtraError, require

    try:
        for module in ("fastapi", "uvicorn", "prometheus_client", "python_multipart"):
            require(module, "serve")
    except MissingExtraError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    import uvicorn

    from ..serve.app import create_app, wrap_body_limit
    from ..serve.settings import ServeSettings
    from .console import stderr_console

    if images_dir is not None and not images_dir.is_dir():
        typer.echo(f"error: --images-dir {images_dir}: not a folder", err=True)
        raise typer.Exit(2)
    backend_options = options.parse_backend_options(backend_option, vlm_api_key_env)
    settings = ServeSettings(
        vlm=None if no_vlm else options.vlm_of(vlm, None), base_url=base_url, backend_options=backend_options, restorer=restorer,
        mode=mode, richness=richness, relevance=relevance, max_batch=max_batch, max_wait_ms=max_wait_ms, max_gather_ms=max_gather_ms, max_queue=max_queue,
        timeout_s=timeout, max_body_bytes=int(max_body_mb * 1024 * 1024), max_pixels=max_pixels, api_key_env=api_key_env,
        images_dir=images_dir,
    )  # fmt: skip
    console = stderr_console()
    try:
        app = create_app(settings)
    except Exception as exc:  # the model, the restorer, the key: everything a start needs
        typer.echo(f"error: {one_line(exc)}", err=True)
        raise typer.Exit(2)
    if host not in ("127.0.0.1", "localhost", "::1") and not api_key_env:
        console.print(f"[bold yellow]warning:[/] serving on {host} without --api-key-env: anyone who can reach it may use it", highlight=False)
    console.print(
        f"rescap serve: http://{host}:{port}/v1 - VLM {settings.vlm or 'none (degradation-only prompts)'}, "
        f"default restorer {restorer}, batches of up to {max_batch}",
        highlight=False, soft_wrap=True,
    )  # fmt: skip
    config = uvicorn.Config(
        wrap_body_limit(app, settings), host=host, port=port, log_level="info", timeout_graceful_shutdown=int(timeout) + 1,
        server_header=False,
    )  # fmt: skip
    server = _draining_server(config)
    server.run()
    if not server.started:  # the port was taken, or the app failed to start: uvicorn said why
        raise typer.Exit(1)


def _draining_server(config):
    """uvicorn's server, except that a stop on SIGTERM or Ctrl-C, once every request in flight has
    its reply, exits 0: a clean shutdown, not a crash (uvicorn re-raises the signal, so the
    process would die of it, status -15)."""
    import contextlib

    import uvicorn

    class DrainingServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            with super().capture_signals():
                yield
                captured = getattr(self, "_captured_signals", None)
                if isinstance(captured, list):
                    captured.clear()

    return DrainingServer(config)
