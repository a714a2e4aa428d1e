"""Outputs stay inside their folder, one file per input, written whole or not at all."""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.cli.app import app
from rescap.durable import atomic_write
from rescap.outputs import OutsideOutputError, inside, unique_names


def test_a_symlinked_ancestor_leading_outside_is_refused(tmp_path):
    root, outside = tmp_path / "out", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(OutsideOutputError):
        inside(root, "link/new/sub/b.png", ".txt")  # the folders below the link do not exist yet
    with pytest.raises(OutsideOutputError):
        inside(root, "link/b.png", ".txt")
    assert inside(root, "../../etc/passwd", ".txt") == root / "_up" / "_up" / "etc" / "passwd.txt"
    assert inside(root, "/abs/a.png", ".txt") == root / "abs" / "a.txt"


def test_recaption_never_writes_through_a_symlink_outside(tmp_path, photos):
    src = tmp_path / "src"
    (src / "link" / "new" / "sub").mkdir(parents=True)
    Image.fromarray(photos["astronaut"][:48, :48]).save(src / "link" / "new" / "sub" / "b.png")
    out, outside = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    outside.mkdir()
    (out / "link").symlink_to(outside)
    result = CliRunner().invoke(app, ["recaption", str(src), "-o", str(out), "--format", "txt", "--no-vlm"])
    assert result.exit_code == 1
    assert not any(outside.rglob("*")), "nothing written outside the output folder"
    record = json.loads((out / ".rescap-recaption.jsonl").read_text().splitlines()[0])
    assert record["status"] == "error" and "would leave" in record["error"]


@pytest.fixture
def same_stems(tmp_path, photos):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(photos["astronaut"][:48, :48]).save(folder / "photo.png")
    Image.fromarray(photos["coffee"][:48, :48]).save(folder / "photo.jpg")
    Image.fromarray(photos["coffee"][48:96, :48]).save(folder / "other.png")
    return folder


def test_unique_names_keep_the_extension_only_where_stems_collide(tmp_path):
    from pathlib import Path

    names = unique_names([Path("a/photo.jpg"), Path("a/photo.png"), Path("a/b.png"), Path("c/photo.png")])
    assert names == {Path("a/photo.jpg"): "a/photo.jpg", Path("a/photo.png"): "a/photo.png", Path("a/b.png"): "a/b", Path("c/photo.png"): "c/photo"}


def test_prompt_files_that_would_collide_fail_those_images_by_name(same_stems, tmp_path):
    out = tmp_path / "prompts"
    result = CliRunner().invoke(app, ["restore", str(same_stems), "-o", str(out), "--restorer", "hypir", "--no-vlm"])
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 2 and all("same prompt file" in line for line in failed)
    assert sorted(p.name for p in out.glob("*.txt")) == ["other.txt"]  # photo.txt would be right for only one of them


def test_recaption_txt_says_which_image_already_has_the_caption_file(same_stems, tmp_path):
    out = tmp_path / "txt"
    result = CliRunner().invoke(app, ["recaption", str(same_stems), "-o", str(out), "--format", "txt", "--no-vlm"])
    assert result.exit_code == 1
    records = [json.loads(line) for line in (out / ".rescap-recaption.jsonl").read_text().splitlines()]
    assert sorted(r["status"] for r in records) == ["error", "ok", "ok"]
    error = next(r for r in records if r["status"] == "error")
    assert "already holds the caption of" in error["error"]
    assert sorted(p.name for p in out.glob("*.txt")) == ["other.txt", "photo.txt"]


def test_restore_and_bench_give_each_input_its_own_output(same_stems, tmp_path):
    pytest.importorskip("diffusers")
    from rescap.testing.tiny_diffusers import build_tiny_pipeline

    pipe = build_tiny_pipeline("img2img", tmp_path / "pipe")
    out = tmp_path / "restored"
    result = CliRunner().invoke(app, ["restore", str(same_stems), "-o", str(out), "--restorer", "diffusers",
                                      "--restorer-model", str(pipe), "--no-vlm", "--steps", "2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.png")) == ["other.png", "photo.jpg.png", "photo.png.png"]
    assert json.loads((out / "photo.jpg.json").read_text())["file"].endswith("photo.jpg")
    bench = CliRunner().invoke(app, ["bench", str(same_stems), "-o", str(tmp_path / "b"), "--restorer", "diffusers",
                                     "--restorer-model", str(pipe), "--no-vlm", "--steps", "2", "--metrics", "none",
                                     "--policies", "none"])  # fmt: skip
    assert bench.exit_code == 0, bench.output
    outputs = sorted(p.relative_to(tmp_path / "b" / "outputs").as_posix() for p in (tmp_path / "b" / "outputs").rglob("none.png"))
    assert outputs == ["other/none.png", "photo.jpg/none.png", "photo.png/none.png"]
    pixels = [np.asarray(Image.open(tmp_path / "b" / "outputs" / o)) for o in outputs]
    assert not np.array_equal(pixels[1], pixels[2])  # two different restorations, not one overwritten


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    atomic_write(target, b"old")
    real_fsync = os.fsync

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"new content")
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_full_disk_mid_run_leaves_whole_records_and_a_clear_error(tmp_path, photos, monkeypatch):
    """ENOSPC while appending records: the batch is taken back whole, the message says what to do,
    and a rerun after space is freed completes exactly the rest."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(photos["astronaut"][i * 8 : i * 8 + 48, :48]).save(folder / f"{i}.png")
    out = tmp_path / "r.jsonl"
    real_fsync, appends = os.fsync, []

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("r.jsonl"):
            appends.append(fd)
            if len(appends) == 2:  # the second batch does not fit on the disk
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    result = CliRunner().invoke(app, ["recaption", str(folder), "-o", str(out), "--no-vlm", "-b", "2"])
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: cannot write records to") and "No space left on device" in result.stderr
    assert "run the same command again" in result.stderr and "Traceback" not in result.output
    text = out.read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 2  # the first batch, whole; nothing of the second
    again = CliRunner().invoke(app, ["recaption", str(folder), "-o", str(out), "--no-vlm", "-b", "2"])
    assert again.exit_code == 0 and "done 4, skipped 2" in again.stderr
    keys = [json.loads(line)["file"] for line in out.read_text().splitlines()]
    assert sorted(keys) == sorted(f"{i}.png" for i in range(6))


def test_same_names_from_several_input_folders_stay_apart(tmp_path, photos):
    for folder, photo in (("a", "astronaut"), ("b", "coffee")):
        (tmp_path / folder).mkdir()
        Image.fromarray(photos[photo][:48, :48]).save(tmp_path / folder / "photo.png")
    out = tmp_path / "prompts"
    result = CliRunner().invoke(app, ["restore", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(out), "--restorer", "hypir", "--no-vlm"])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt")) == ["a/photo.txt", "b/photo.txt"]


FULL_DISK = """
import json, resource, signal, sys
from pathlib import Path
from rescap.durable import AppendLog
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path = Path(sys.argv[1])
log = AppendLog(path)
log.append([{"n": 0, "pad": "a" * 50}])
resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 30, resource.RLIM_INFINITY))  # the write itself fails half way
try:
    log.append([{"n": 1, "pad": "b" * 50}])
    print("no error")
except OSError as exc:
    print("raised", exc.errno)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
log.append([{"n": 2}])
log.close()
"""


def test_a_write_failing_half_way_leaves_no_torn_line_and_the_log_usable(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "log.jsonl"
    run = subprocess.run([sys.executable, "-c", FULL_DISK, str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("raised")
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [0, 2]


def test_names_stay_unique_whatever_the_extensions(tmp_path):
    from pathlib import Path

    inputs = [Path("photo.png"), Path("photo.jpg"), Path("photo.png.jpg"), Path("X.png"), Path("x.png")]
    names = unique_names(inputs)
    assert len({n.lower() for n in names.values()}) == len(inputs)


def test_a_symlinked_input_file_keeps_its_own_place(tmp_path, photos):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    Image.fromarray(photos["astronaut"][:48, :48]).save(tmp_path / "in" / "x.png")
    Image.fromarray(photos["coffee"][:48, :48]).save(tmp_path / "other" / "x.png")
    (tmp_path / "in" / "sub" / "x.png").symlink_to(tmp_path / "other" / "x.png")
    out = tmp_path / "prompts"
    result = CliRunner().invoke(app, ["restore", str(tmp_path / "in"), "-o", str(out), "--restorer", "hypir", "--no-vlm"])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.txt")) == ["sub/x.txt", "x.txt"]
    from rescap.bench import collect_images

    items, _ = collect_images([tmp_path / "in"])
    assert sorted(it.key for it in items) == ["sub/x.png", "x.png"]
