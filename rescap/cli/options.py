"""Options several commands share (``prompt``, ``restore``, ``bench``): one declaration each, so
their flags and help read the same everywhere."""

from __future__ import annotations

import typer

RESTORER = typer.Option(..., "--restorer", help="Adapter name (rescap adapters list).")
RESTORER_OR_SD = typer.Option("sd", "--restorer", help="Restorer whose text rules to fit: an adapter name (rescap adapters list).")
QUALITY_PROMPT = typer.Option(
    "fit", "--quality-prompt",
    help="The restorer's quality prompt: fit (the caption first, the quality prompt trimmed at commas to what is left), "
    "keep (all of it, the caption budgeted around it), or drop.",
)  # fmt: skip
TOKENIZER = typer.Option(None, "--tokenizer", help="Folder of the restorer's own tokenizer (default: rescap's shipped CLIP/T5 vocabularies).")
RESTORER_PATH = typer.Option(
    None, "--restorer-path", "--model", help="The restorer: a checkout folder, or a diffusers hub id / pipeline folder."
)
VLM = typer.Option("transformers:", "--vlm", help="Captioning model, source:model (as in rescap caption --model).")
BASE_URL = typer.Option(None, "--base-url", help="OpenAI-compatible server for openai: models.")
RICHNESS = typer.Option("auto", "--richness", "-r", help="auto, short, medium, long, or a number of tokens.")
RELEVANCE = typer.Option("auto", "--relevance", help="CLIP relevance filter: auto, off, or a CLIP hub id/folder.")
STEPS = typer.Option(None, "--steps", min=1, help="Sampling steps (restorers that take them).")
STRENGTH = typer.Option(None, "--strength", help="img2img strength (pipelines that take it).")
GUIDANCE = typer.Option(None, "--guidance", help="Classifier-free guidance scale.")
