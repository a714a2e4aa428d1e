"""Data lands where it is asked, whatever the terminal: with stderr a pseudo-terminal (progress bars
on) and stdout redirected to a file or a pipe, every JSON line reaches stdout, whole and unwrapped,
and nothing else does."""

from __future__ import annotations

import json
import os
import re
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def run_with_terminal(args: list[str], stdout=None, timeout: int = 300) -> tuple[int, str]:
    """Run ``rescap ARGS`` with stdin/stderr on a pseudo-terminal and stdout as given (None: the
    terminal too); returns (code, terminal text)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "TERM": "xterm-256color", "OMP_NUM_THREADS": "1"}
    env.pop("CI", None)
    out = follower if stdout is None else stdout
    proc = subprocess.Popen([sys.executable, "-m", "rescap.cli", *args], stdin=follower, stdout=out, stderr=follower, env=env)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    code = proc.wait(timeout=timeout)
    os.close(leader)
    return code, seen.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, photos):
    root = tmp_path_factory.mktemp("tty-images")
    names = []
    for i, (name, pixels) in enumerate(photos.items()):
        for j in range(2):  # 8 images: more than the 3 that turn the progress bar on
            path = root / f"{name}_{j}_with_a_rather_long_file_name_that_a_terminal_would_wrap.png"
            Image.fromarray(pixels).save(path)
            names.append(path)
    return root


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "args",
    [
        ["estimate", "{folder}", "--json"],
        ["caption", "{folder}", "--no-vlm", "--restorer", "supir", "--json"],
    ],
    ids=["estimate", "caption"],
)
def test_json_to_a_file_with_a_terminal_attached(args, folder, tmp_path):
    out = tmp_path / "out.jsonl"
    with out.open("wb") as handle:
        code, terminal = run_with_terminal([a.format(folder=folder) for a in args], handle)
    assert code == 0, terminal[-2000:]
    records = json_lines(out.read_text(encoding="utf-8"))
    assert len(records) == 8, out.read_text()[:500]
    assert all(Path(r["file"]).name.endswith("wrap.png") for r in records)  # whole paths, never wrapped
    assert '"file"' not in terminal  # no data on the terminal
    assert "estimating" in terminal or "captioning" in terminal  # the progress bar was on, on stderr


@pytest.mark.parametrize("args", [["estimate", "{folder}", "--json"], ["caption", "{folder}", "--no-vlm", "--json"]], ids=["estimate", "caption"])
def test_json_into_a_pipe_with_a_terminal_attached(args, folder):
    reader, writer = os.pipe()
    collected = []
    import threading

    def drain():
        with os.fdopen(reader, "rb") as r:
            collected.append(r.read())

    thread = threading.Thread(target=drain)
    thread.start()
    with os.fdopen(writer, "wb") as w:
        code, terminal = run_with_terminal([a.format(folder=folder) for a in args], w)
    thread.join(timeout=60)
    assert code == 0, terminal[-2000:]
    assert len(json_lines(collected[0].decode("utf-8"))) == 8


def test_tables_in_a_file_are_not_wrapped(folder, tmp_path):
    out = tmp_path / "table.txt"
    with out.open("wb") as handle:
        code, _ = run_with_terminal(["estimate", str(folder)], handle)
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert sum("wrap.png" in line for line in text.splitlines()) == 8  # each path whole, on one line


def test_single_records_and_silent_commands_with_a_terminal_attached(folder, tmp_path):
    image = next(folder.glob("*.png"))
    out = tmp_path / "prompt.json"
    with out.open("wb") as handle:
        code, _ = run_with_terminal(["prompt", str(image), "--restorer", "seesr", "--no-vlm", "--json"], handle)
    assert code == 0 and json_lines(out.read_text())[0]["restorer"] == "seesr"
    with out.open("wb") as handle:
        code, _ = run_with_terminal(["adapters", "list", "--json"], handle)
    assert code == 0 and {"supir", "sd", "diffusers"} <= {r["name"] for r in json_lines(out.read_text())}
    # recaption writes its records to -o: stdout stays empty, the summary is on the terminal
    with out.open("wb") as handle:
        code, terminal = run_with_terminal(["recaption", str(folder), "-o", str(tmp_path / "rec.jsonl"), "--no-vlm"], handle)
    assert code == 0, terminal[-2000:]
    assert out.read_text() == "" and "done 8" in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)
    assert len(json_lines((tmp_path / "rec.jsonl").read_text())) == 8


@pytest.mark.parametrize(
    "args, stdout_has, terminal_has",
    [
        (["restore", "{folder}", "-o", "{tmp}/restored", "--restorer", "hypir", "--no-vlm"], None, "8 prompted"),
        (["bench", "{folder}", "-o", "{tmp}/bench", "--restorer", "hypir", "--no-vlm", "--metrics", "none", "--policies", "none,rescap-short"],
         None, "report.html"),
        (["caption", "{folder}", "--no-vlm", "--restorer", "supir"], "wrap.png  noise", None),
        (["extras"], "transformers", None),
        (["backends", "list"], "transformers", None),
        (["adapters", "show", "supir"], "supir", None),
    ],
    ids=["restore", "bench", "caption-table", "extras", "backends", "adapters"],
)  # fmt: skip
def test_every_command_with_a_terminal_attached(folder, tmp_path, args, stdout_has, terminal_has):
    """stdout gets the data only (nothing for commands that write files), each line whole; the
    notes and summaries go to the terminal."""
    out = tmp_path / "stdout.txt"
    with out.open("wb") as handle:
        code, terminal = run_with_terminal([a.format(folder=folder, tmp=tmp_path) for a in args], handle)
    assert code == 0, terminal[-2000:]
    text = out.read_text(encoding="utf-8")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)
    if stdout_has is None:
        assert text == "", text[:500]
    else:
        assert stdout_has in text
        if "wrap.png" in stdout_has:
            assert sum(stdout_has in line for line in text.splitlines()) == 8  # one header line per image, path whole
    if terminal_has is not None:
        assert terminal_has in plain, plain[-2000:]


def test_estimate_on_a_narrow_terminal_prints_whole_words(folder):
    """Nine columns do not fit 80; each file gets a line of whole values and levels instead."""
    code, seen = run_with_terminal(["estimate", str(sorted(folder.iterdir())[0])])
    assert code == 0
    text = " ".join(seen.split())
    assert "…" not in text
    for words in ("noise σ", "blur σ", "exposure", "haze t", "overall"):
        assert words in text, text
