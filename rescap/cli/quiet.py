"""What the command line shows of its dependencies: their errors, not their chatter.

transformers, diffusers and huggingface_hub draw loading bars and log advice, bitsandbytes logs
"Failed to load CPU gemm_4bit_forward" at import on CPUs without its kernels, and CLIP tokenizers
warn once per over-long prompt, which rescap fits on purpose. On a terminal that buries rescap's
own progress and results, so the CLI turns them down before anything heavy is imported:

- the libraries' own verbosity switches, set only where the user has not set them
  (``TRANSFORMERS_VERBOSITY``, ``DIFFUSERS_VERBOSITY``, ``HF_HUB_DISABLE_PROGRESS_BARS``, ...);
- their Python loggers at ERROR;
- Python warnings as one ``warning: ...`` line on stderr, each distinct message once, with no
  source line; FutureWarning and DeprecationWarning of dependencies are not shown.

``RESCAP_VERBOSE=1`` leaves everything as the libraries have it.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

QUIET_ENVIRONMENT = {
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "DIFFUSERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
NOISY_LOGGERS = ("transformers", "diffusers", "huggingface_hub", "bitsandbytes", "accelerate", "torch", "timm", "pyiqa", "open_clip")

_shown: set[str] = set()


def _one_line(message, category, filename, lineno, file=None, line=None) -> None:
    text = " ".join(str(message).split())
    if text in _shown:
        return
    _shown.add(text)
    print(f"warning: {text}", file=file or sys.stderr)


def quiet_dependencies() -> None:
    """Turn the dependencies' chatter down for this process (the CLI calls it first thing)."""
    if os.environ.get("RESCAP_VERBOSE", "").strip().lower() in ("1", "true", "yes", "on"):
        return
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.showwarning = _one_line
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
