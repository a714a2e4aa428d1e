"""Two runs on one output: the second is refused with a clear message; a killed run holds nothing."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.cli.app import app
from rescap.run_lock import lock_for


@pytest.fixture
def folder(tmp_path, astronaut):
    root = tmp_path / "in"
    root.mkdir()
    Image.fromarray(astronaut[:48, :48]).save(root / "a.png")
    return root


HOLD = """
import sys, time
from rescap.run_lock import lock_for
lock_for(__import__("pathlib").Path(sys.argv[1]), is_file=sys.argv[2] == "file").acquire()
print("held", flush=True)
time.sleep(60)
"""


def holder(path, is_file):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), "file" if is_file else "folder"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize(
    "args, locked, is_file",
    [
        (["recaption", "{in}", "-o", "{out}/r.jsonl", "--no-vlm"], "{out}/r.jsonl", True),
        (["restore", "{in}", "-o", "{out}", "--restorer", "hypir", "--no-vlm"], "{out}", False),
        (["bench", "{in}", "-o", "{out}", "--restorer", "hypir", "--no-vlm", "--metrics", "none", "--policies", "none"], "{out}", False),
    ],
    ids=["recaption", "restore", "bench"],
)  # fmt: skip
def test_a_second_run_on_the_same_output_is_refused(folder, tmp_path, args, locked, is_file):
    out = tmp_path / "out"
    fill = {"in": folder, "out": out}
    proc = holder(locked.format(**fill), is_file)
    try:
        result = CliRunner().invoke(app, [a.format(**fill) for a in args])
        assert result.exit_code == 2
        assert f"pid {proc.pid}" in result.stderr and "is writing to" in result.stderr
    finally:
        proc.send_signal(signal.SIGKILL)  # killed, as a crashed run would be
        proc.wait()
    after = CliRunner().invoke(app, [a.format(**fill) for a in args])  # its lock went with it
    assert after.exit_code == 0, after.output


def test_the_lock_is_released_when_the_command_ends(folder, tmp_path):
    out = tmp_path / "r.jsonl"
    for _ in range(2):
        assert CliRunner().invoke(app, ["recaption", str(folder), "-o", str(out), "--no-vlm"]).exit_code == 0
    lock_for(out, is_file=True).acquire().release()


def test_locks_are_released_in_non_standalone_calls_too(folder, tmp_path):
    from typer.main import get_command

    from rescap.run_lock import _HELD

    command = get_command(app)
    for _ in range(2):
        command.main(["recaption", str(folder), "-o", str(tmp_path / "r.jsonl"), "--no-vlm"], standalone_mode=False)
    assert not _HELD
