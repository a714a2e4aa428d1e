"""``rescap --help`` and ``--version`` must not import the heavy libraries."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "vllm", "diffusers", "pyiqa", "ray")

PROBE = """
import sys
from rescap.cli.app import app
try:
    app(args={args!r}, prog_name="rescap")
except SystemExit:
    pass
print("LOADED=" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["estimate", "--help"], ["caption", "--help"], ["prompt", "--help"], ["restore", "--help"],
     ["recaption", "--help"],
     ["extras"], ["backends", "list"], ["adapters", "list"]],  # fmt: skip
)
def test_no_heavy_imports(args):
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True, text=True, check=True
    ).stdout
    loaded = out.rsplit("LOADED=", 1)[1].strip()
    assert loaded == "", f"`rescap {' '.join(args)}` imported {loaded}"


def test_console_script_runs():
    exe = subprocess.run([sys.executable, "-m", "rescap.cli", "--version"], capture_output=True, text=True)
    assert exe.returncode == 0 and exe.stdout.startswith("rescap ")
