"""Every option more than one command takes, declared once: the same flag, default and help
everywhere. One name per concept: ``--vlm`` is the captioning model, ``--restorer`` the adapter and
``--restorer-model`` the restorer's own weights or pipeline. Old spellings (``--model``/``-m`` for
the VLM in caption/recaption, ``--restorer-path``/``--model`` for the restorer in prompt/restore/
bench) still work, hidden, with a note on stderr.
"""

from __future__ import annotations

import json
from typing import List, Optional

import typer

DEFAULT_VLM = "transformers:"

def one_of(flag: str, allowed: tuple[str, ...]):
    """A callback refusing any value but ``allowed``, naming the flag, the value and the choices."""

    def check(value):
        if value is not None and value not in allowed:
            raise typer.BadParameter(f"{value}: use {', '.join(allowed[:-1])} or {allowed[-1]}")
        return value

    return check


MODES = ("chain", "fused", "single")

# -- the restorer ------------------------------------------------------------------------------
RESTORER = typer.Option(..., "--restorer", help="Restorer adapter name (rescap adapters list).")
RESTORER_OR_SD = typer.Option("sd", "--restorer", help="Restorer whose text rules to fit: an adapter name (rescap adapters list).")
RESTORER_MODEL = typer.Option(
    None, "--restorer-model",
    help="The restorer itself: a checkout folder, or a diffusers hub id / saved pipeline folder "
    "(in rescap prompt: the pipeline whose tokenizers and windows set each text slot).",
)
RESTORER_MODEL_OLD = typer.Option(None, "--restorer-path", "--model", hidden=True, help="Old name of --restorer-model.")
QUALITY_PROMPT = typer.Option(
    "fit", "--quality-prompt",
    help="The restorer's quality prompt: fit (the caption first, the quality prompt trimmed at commas to what is left), "
    "keep (all of it, the caption budgeted around it), or drop.",
)  # fmt: skip
TOKENIZER = typer.Option(None, "--tokenizer", help="Folder of the restorer's own tokenizer (default: rescap's shipped CLIP/T5 vocabularies).")

# -- the captioning model ----------------------------------------------------------------------
VLM = typer.Option(
    None, "--vlm",
    help="Captioning model, source:model: transformers:<hub id or folder>, vllm:<...>, openai:<name> (with --base-url). "
    f"Default: {DEFAULT_VLM} (the default CPU model).",
)  # fmt: skip
VLM_OLD = typer.Option(None, "--model", "-m", hidden=True, help="Old name of --vlm.")
NO_VLM = typer.Option(False, "--no-vlm", help="No captioning model: degradation-only prompts (negative and restoration prompts).")
BASE_URL = typer.Option(None, "--base-url", help="OpenAI-compatible server for openai: models.")
API_KEY_ENV = typer.Option(
    None, "--api-key-env", metavar="VAR",
    help="Environment variable holding the API key for --base-url (openai backend). Without it a custom server "
    "gets no key: $OPENAI_API_KEY goes to api.openai.com only.",
)
BACKEND_OPTION = typer.Option(
    None, "--backend-option", "-O", help="Backend setting KEY=VALUE, repeatable (e.g. gpu_memory_utilization=0.5)."
)
MODE = typer.Option("chain", "--mode", callback=one_of("--mode", MODES), help="Chain of thought: chain (3 VLM calls), fused (2) or single (1).")
BATCH_SIZE = typer.Option(8, "--batch-size", "-b", min=1, help="Images per batched VLM call.")
RICHNESS = typer.Option("auto", "--richness", "-r", help="auto, short, medium, long, or a number of tokens (a cap).")
RELEVANCE = typer.Option("auto", "--relevance", help="CLIP relevance filter: auto, off, or a CLIP hub id/folder.")
USER_PROMPT = typer.Option(None, "--prompt", help="Your own text, merged with every caption (never dropped).")
USER_NEGATIVE = typer.Option(None, "--negative", help="Your own negative text, merged before the negative prompt.")
JSON_OUTPUT = typer.Option(False, "--json", help="JSON lines on stdout.")
TILES = typer.Option(
    None, "--tiles", metavar="SIZE[:STRIDE]",
    help="Also caption each tile, in SUPIR's tile order and geometry (pixels of the given image; stride: half the size).",
)  # fmt: skip

# -- running a restorer ------------------------------------------------------------------------
STEPS = typer.Option(None, "--steps", min=1, help="Sampling steps (restorers that take them).")
STRENGTH = typer.Option(None, "--strength", help="img2img strength (pipelines that take it).")
GUIDANCE = typer.Option(None, "--guidance", help="Classifier-free guidance scale.")
SEED = typer.Option(0, "--seed", help="Seed of the restorer's sampler (the same for every image and policy).")
DEVICE = typer.Option("cpu", "--device", help="Device for the restorer and the bench's metrics (cpu, cuda, cuda:1).")


def _note(text: str) -> None:
    typer.echo(f"note: {text}", err=True)


def chosen(new: Optional[str], old: Optional[str], new_flag: str, old_flag: str, default: Optional[str] = None) -> Optional[str]:
    """The value of an option that has an old spelling: the new flag wins; both with different values is an error."""
    if old is not None:
        if new is not None and new != old:
            typer.echo(f"error: {old_flag} (the old name of {new_flag}) and {new_flag} disagree; give {new_flag} only", err=True)
            raise typer.Exit(2)
        _note(f"{old_flag} is now {new_flag} (the old name still works)")
    return new if new is not None else old if old is not None else default


def vlm_of(vlm: Optional[str], old: Optional[str]) -> str:
    return chosen(vlm, old, "--vlm", "--model", DEFAULT_VLM) or DEFAULT_VLM


def restorer_model_of(new: Optional[str], old: Optional[str]) -> Optional[str]:
    return chosen(new, old, "--restorer-model", "--restorer-path/--model")


def parse_backend_options(pairs: Optional[List[str]], api_key_env: Optional[str] = None) -> dict:
    """``KEY=VALUE`` pairs for the backend (values read as JSON when they parse: 0.3, true, 2048),
    and ``--api-key-env`` as the openai backend's ``api_key_env``."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--backend-option")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    if api_key_env:
        options["api_key_env"] = api_key_env
    return options


# -- rescap serve ----------------------------------------------------------------------------
HOST = typer.Option("127.0.0.1", "--host", help="Address to bind; 127.0.0.1 (default) serves this machine only.")
PORT = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on.")
UI_PORT = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on (7860: Gradio's usual one).")
MAX_BATCH = typer.Option(8, "--max-batch", min=1, help="Most images captioned in one batched VLM call.")
MAX_WAIT_MS = typer.Option(10.0, "--max-wait-ms", min=0.0, help="How long the first image of a batch waits for others (ms).")
MAX_GATHER_MS = typer.Option(
    2000.0, "--max-gather-ms", min=0.0, help="How long a batch that is not full waits for images still being decoded and measured (ms)."
)
MAX_QUEUE = typer.Option(256, "--max-queue", min=1, help="Images that may wait for a batch; beyond it requests get 429.")
REQUEST_TIMEOUT = typer.Option(300.0, "--timeout", min=0.001, help="Seconds a request may take before it gets 504.")
SERVE_API_KEY_ENV = typer.Option(
    None, "--api-key-env", metavar="VAR",
    help="Environment variable holding the bearer token clients must send (Authorization: Bearer ...). Without it "
    "the API is open to whoever can reach it.",
)  # fmt: skip
VLM_API_KEY_ENV = typer.Option(
    None, "--vlm-api-key-env", metavar="VAR", help="Environment variable holding the key for the --base-url VLM server (openai backend)."
)
IMAGES_DIR = typer.Option(
    None, "--images-dir",
    help="Folder whose images requests may name by path (file:// or relative). Without it only uploaded or inline "
    "(data URL, base64) images are read; remote URLs are never fetched.",
)  # fmt: skip
MAX_PIXELS = typer.Option(40_000_000, "--max-pixels", min=1024, help="Largest image accepted (pixels, from the header; bombs refused).")
MAX_BODY_MB = typer.Option(32.0, "--max-body-mb", min=0.01, help="Largest request body accepted (MB).")
