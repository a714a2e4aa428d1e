"""``rescap backends list``: the registered VLM backends (found without importing them)."""

from __future__ import annotations

import typer

app = typer.Typer(help="VLM backends: list what is registered.", no_args_is_help=True)

# what each built-in needs installed, and its default model
_BUILTIN_NEEDS = {"transformers": "transformers", "vllm": "vllm", "openai": "openai"}


@app.command("list")
def list_backends(json_output: bool = typer.Option(False, "--json", help="One JSON object per backend.")) -> None:
    """List the backends registered in the ``rescap.backends`` entry-point group.

    Use one with --model NAME:MODEL, e.g. transformers:HuggingFaceTB/SmolVLM-500M-Instruct,
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
