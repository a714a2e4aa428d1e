"""``rescap backends list``: the registered VLM backends (found without importing them)."""

from __future__ import annotations

import typer

from . import options

app = typer.Typer(help="VLM backends: list what is registered.", no_args_is_help=True)

# what each built-in needs installed, and its default model
_BUILTIN_NEEDS = {"transformers": "transformers", "vllm": "vllm", "openai": "openai"}


@app.command("list")
def list_backends(json_output: bool = typer.Option(False, "--json", help="One JSON object per backend.")) -> None:
    """List the backends registered in the ``rescap.backends`` entry-point group.

    Use one with --vlm NAME:MODEL, e.g. transformers:HuggingFaceTB/SmolVLM-500M-Instruct,
    vllm:/models/qwen, openai:gpt-4o-mini --base-url http://127.0.0.1:8000/v1.
    """
    import json

    from ..backends.model_source import DEFAULT_CPU_MODEL, DEFAULT_GPU_MODEL
    from ..backends.registry import available_backends
    from ..extras import EXTRAS, is_available

    defaults = {"transformers": DEFAULT_CPU_MODEL, "vllm": DEFAULT_GPU_MODEL}
    rows = []
    for spec in available_backends().values():
        extra = _BUILTIN_NEEDS.get(spec.name)
        if extra:
            missing = [m for m in EXTRAS[extra].modules if not is_available(m)]
            status = "installed" if not missing else f"needs {EXTRAS[extra].install_hint}"
        else:
            module = spec.target.split(":", 1)[0].split(".", 1)[0]
            status = "installed" if is_available(module) else f"module {module} not importable"
        default = defaults.get(spec.name)
        rows.append(
            {
                "name": spec.name,
                "target": spec.target,
                "package": spec.distribution,
                "status": status,
                "default_model": f"{default.repo_id}@{default.revision[:12]}" if default else None,
            }
        )
    if json_output:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    from rich.markup import escape
    from rich.table import Table

    from .console import stdout_console

    table = Table(header_style="bold")
    for name in ("name", "package", "status", "default model", "class"):
        table.add_column(name, overflow="fold")
    for row in rows:
        cells = (row["name"], row["package"], row["status"], row["default_model"] or "-", row["target"])
        table.add_row(*(escape(c) for c in cells))
    stdout_console().print(table)


@app.command("check")
def check(
    model: str = typer.Argument(..., help="Model string, e.g. transformers:/models/smolvlm or openai:NAME."),
    base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1."),
    image: str = typer.Option(None, "--image", help="Image to send (default: a generated test card)."),
    max_image_pixels: int = typer.Option(448 * 448, help="Pixel budget images are fitted to."),
    api_key_env: str = options.API_KEY_ENV,
) -> None:
    """Load a backend, caption one image with JSON-constrained output, and report how long it took.

    Example: rescap backends check transformers:HuggingFaceTB/SmolVLM-500M-Instruct
    """
    import json
    import time

    from ..backends import BackendError, GenerationParams, create_backend, text_message
    from ..backends.structured import token_budget

    settings = {"max_image_pixels": max_image_pixels, **options.parse_backend_options(None, api_key_env)}
    if base_url:
        settings["base_url"] = base_url
    if image is None:
        from PIL import Image, ImageDraw

        picture = Image.new("RGB", (256, 256), (70, 130, 180))
        ImageDraw.Draw(picture).ellipse((64, 64, 192, 192), fill=(250, 200, 40))
    else:
        picture = image
    schema = {
        "type": "object",
        "properties": {"caption": {"type": "string", "maxLength": 120}},
        "required": ["caption"],
        "additionalProperties": False,
    }
    backend = None
    start = time.perf_counter()
    try:
        backend = create_backend(model, **settings)
    except (BackendError, ImportError, ValueError, OSError, KeyError) as exc:  # set-up: exit 2, as every command
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    loaded = time.perf_counter() - start
    try:
        start = time.perf_counter()
        result = backend.generate(
            [[text_message("user", "Describe this image in one sentence.", [picture])]],
            GenerationParams(max_new_tokens=token_budget(schema), json_schema=schema),
        )[0]
        generated = time.perf_counter() - start
    except (BackendError, ImportError, ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    finally:
        if backend is not None:
            backend.close()
    typer.echo(f"backend   {backend.model_string}")
    typer.echo(f"loaded    {loaded:.1f} s")
    typer.echo(f"generated {generated:.2f} s, {result.completion_tokens} tokens, finish: {result.finish_reason}")
    typer.echo(f"output    {json.dumps(json.loads(result.text), ensure_ascii=False)}")
