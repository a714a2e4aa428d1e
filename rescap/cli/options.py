"""Options several commands share (``prompt``, ``restore``, ``bench``): one declaration each, so
their flags and help read the same everywhere."""

from __future__ import annotations

import typer

RESTORER = typer.Option(..., "--restorer", help="Adapter name (rescap adapters list).")
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
