"""Where model weights come from: a local folder, or a Hugging Face hub id at a pinned revision.

Default models (for users; tests use tiny local models):

- CPU / embedded (transformers): ``HuggingFaceTB/SmolVLM-500M-Instruct`` - an Idefics3 model of
  ~0.5 B parameters (~1 GB in bf16) that captions at a few seconds per image on a laptop CPU, and
  whose processor needs no torchvision.
- GPU (vLLM): ``Qwen/Qwen2.5-VL-7B-Instruct`` - a strong 7B-class VLM that follows JSON schemas
  well, served by vLLM on one 24 GB+ GPU.

A missing model raises ``ModelNotFoundError`` naming the model, the places looked at and how to
point rescap at a local copy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .base import ModelNotFoundError


@dataclass(frozen=True)
class ModelRef:
    repo_id: str
    revision: str


DEFAULT_CPU_MODEL = ModelRef("HuggingFaceTB/SmolVLM-500M-Instruct", "a7da5b986cb59b408707209984f360a5f4ad7e47")
DEFAULT_GPU_MODEL = ModelRef("Qwen/Qwen2.5-VL-7B-Instruct", "cc594898137f460bfe9f0759e9844b3ce807cfb5")
PINNED_REVISIONS = {m.repo_id: m.revision for m in (DEFAULT_CPU_MODEL, DEFAULT_GPU_MODEL)}


def hub_cache_dir() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        home = os.environ.get("HF_HOME", os.path.join(os.path.expanduser("~"), ".cache", "huggingface"))
        return os.path.join(home, "hub")


@dataclass(frozen=True)
class ResolvedModel:
    source: str  # what to pass to from_pretrained / vLLM
    revision: str | None
    local_only: bool  # everything is on disk: load without touching the network


def _cached_snapshot(repo_id: str, revision: str | None) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return False
    # a model has config.json; a diffusers pipeline has model_index.json (and no config.json at its top)
    return any(isinstance(try_to_load_from_cache(repo_id, name, revision=revision), str) for name in ("config.json", "model_index.json"))


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout: float = 3.0) -> bool:
    """A quick look at the hub endpoint, so an air-gapped machine fails in seconds, not minutes."""
    import urllib.error
    import urllib.request

    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    try:
        urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout)
        return True
    except urllib.error.HTTPError:
        return True  # it answered
    except (urllib.error.URLError, OSError, ValueError):
        return False


def resolve_model(
    model: str, revision: str | None = None, backend: str = "transformers", local_hint: str | None = None
) -> ResolvedModel:
    """Find ``model``: a local folder (must hold a config.json), or a hub id, cached or downloadable.

    Hub ids without an explicit revision use rescap's pinned revision for its default models.
    Raises ``ModelNotFoundError`` when the folder is missing, or the hub id is neither cached nor
    reachable.
    """
    expanded = Path(model).expanduser()
    if expanded.exists():
        if expanded.is_dir() and not any((expanded / name).exists() for name in ("config.json", "model_index.json")):
            raise ModelNotFoundError(
                f"{expanded} exists but holds no config.json (model_index.json for pipelines): it is not a saved "
                f"model folder (expected the output of save_pretrained or a hub snapshot)"
            )
        return ResolvedModel(str(expanded), None, True)
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise ModelNotFoundError(not_found_message(model, None, backend, [str(expanded)], local_hint=local_hint))
    revision = revision if revision is not None else PINNED_REVISIONS.get(model)
    if _cached_snapshot(model, revision):
        return ResolvedModel(model, revision, True)
    looked = [f"the Hugging Face cache {hub_cache_dir()}"]
    if hub_offline():
        raise ModelNotFoundError(not_found_message(model, revision, backend, looked, "HF_HUB_OFFLINE is set", local_hint))
    if not hub_reachable():
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        raise ModelNotFoundError(not_found_message(model, revision, backend, looked, f"{endpoint} is not reachable", local_hint))
    return ResolvedModel(model, revision, False)


_MISSING_MARKERS = (
    "does not appear to have a file named",
    "is not a local folder and is not a valid model identifier",
    "not a valid model identifier",
    "couldn't connect to",
    "we couldn't connect",
    "offline mode",
    "repository not found",
    "revision not found",
    "no such file or directory",
    "can't load",
    "does not exist",
)


def is_missing_model_error(exc: BaseException) -> bool:
    """Whether a loading error means the weights/config are not there (vs. a broken install)."""
    text = str(exc).lower()
    return any(marker in text for marker in _MISSING_MARKERS) or type(exc).__name__ in (
        "RepositoryNotFoundError",
        "RevisionNotFoundError",
        "LocalEntryNotFoundError",
        "EntryNotFoundError",
        "GatedRepoError",
    )


def not_found_message(
    model: str, revision: str | None, backend: str, looked: list[str], cause: str = "", local_hint: str | None = None
) -> str:
    """One line: which model, why, where rescap looked, and how to point it at a local copy."""
    at = f" at revision {revision}" if revision else ""
    reason = f" ({cause})" if cause else ""
    fixes = []
    if "/" in model and not model.startswith((".", "/", "~")):
        rev = f" --revision {revision}" if revision else ""
        fixes.append(f"on a machine with internet access run `hf download {model}{rev} --local-dir ./model`, copy ./model here and pass it as a path")
    fixes.append(f"pass the folder: {local_hint or f'--vlm {backend}:/path/to/model'}")
    fixes.append(f"or put the hub snapshot in the hub cache {hub_cache_dir()} (set by HF_HUB_CACHE, default $HF_HOME/hub)")
    return f"model {model}{at} not found for {backend}{reason}; looked in {', '.join(looked)}; to use a local copy: {'; '.join(fixes)}"


def loading_error(exc: BaseException, model: str, resolved: ResolvedModel, backend: str) -> Exception:
    """The error to raise when loading ``model`` failed with ``exc``: not found, or a broken load."""
    from .base import BackendError

    cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if is_missing_model_error(exc):
        return ModelNotFoundError(not_found_message(model, resolved.revision, backend, [resolved.source], cause))
    return BackendError(f"cannot load {model} with {backend}: {type(exc).__name__}: {cause}")
