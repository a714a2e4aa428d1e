"""Install a start-up hook in a venv so every Python process there (vLLM spawns several) can
import a torchvision built for another torch (PyPI's CUDA wheels next to CPU torch).

    python .ci/torchvision_shim.py            # into the running interpreter's site-packages

CI-only: on a user's machine torch and torchvision match and nothing needs this.
"""

import site
from pathlib import Path

HOOK = "import rescap.torch_compat as _rescap_tc; _rescap_tc.ensure_torchvision_importable()\n"

target = Path(site.getsitepackages()[0]) / "rescap_torchvision_shim.pth"
target.write_text(HOOK)
print(f"wrote {target}")
