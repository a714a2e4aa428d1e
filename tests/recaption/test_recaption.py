"""`rescap recaption`: sources, formats, resume, crash safety (real SIGKILL), bad files, sharding."""

import json
import os
import signal
import struct
import subprocess
import sys
import tarfile
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.cli.app import app
from rescap.recaption.sources import iter_source, safe_output_path
from rescap.recaption.writers import JsonlWriter, RecaptionRecord

runner = CliRunner()


def make_images(root: Path, n: int, size=(40, 56)) -> list[str]:
    rng = np.random.default_rng(n)
    keys = []
    for i in range(n):
        sub = root / f"d{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(sub / f"img{i:03d}.png")
        keys.append(f"d{i % 3}/img{i:03d}.png")
    return keys


def salt(root: Path) -> dict[str, str]:
    """Bad files of every kind, with the stage their error record must name."""
    good = root / "d0" / "img000.png"
    data = good.read_bytes()
    (root / "bad").mkdir()
    (root / "bad" / "empty.png").write_bytes(b"")
    (root / "bad" / "text.png").write_text("just text")
    (root / "bad" / "truncated.png").write_bytes(data[: len(data) // 2])
    (root / "bad" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(300))

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")
    (root / "bad" / "huge.png").write_bytes(bomb)
    return {f"bad/{n}": "estimate" for n in ("empty.png", "text.png", "truncated.png", "corrupt.jpg", "huge.png")}


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def vlm(tmp_path_factory) -> str:
    pytest.importorskip("transformers")
    from rescap.testing.tiny_vlm import build_tiny_vlm

    return str(build_tiny_vlm("idefics3", tmp_path_factory.mktemp("vlm") / "idefics3"))


def cli(*args):
    return runner.invoke(app, ["recaption", *map(str, args)])


def test_jsonl_records_resume_and_bad_files(tmp_path, vlm):
    keys = make_images(tmp_path / "in", 9)
    bad = salt(tmp_path / "in")
    out = tmp_path / "out.jsonl"
    result = cli(tmp_path / "in", "-o", out, "--model", f"transformers:{vlm}", "--relevance", "off", "-b", "4")
    assert result.exit_code == 1  # some failed
    rows = records(out)
    assert sorted(r["file"] for r in rows) == sorted(keys + list(bad))
    for r in rows:
        if r["file"] in bad:
            assert r["status"] == "error" and r["error"].startswith(bad[r["file"]])
        else:
            assert r["status"] == "ok" and r["caption"] is not None and r["degradation"]["noise_sigma"] >= 0
            assert set(r) >= {"file", "caption", "positive_prompt", "negative_prompt", "restoration_prompt", "degradation",
                              "status", "error", "model", "rescap_version", "timings"}  # fmt: skip
    again = cli(tmp_path / "in", "-o", out, "--model", f"transformers:{vlm}")  # resume: nothing left
    assert again.exit_code == 0 and "done 0, skipped 14" in again.output and len(records(out)) == 14
    retried = cli(tmp_path / "in", "-o", out, "--model", f"transformers:{vlm}", "--relevance", "off", "--retry-failed")
    assert "done 0, skipped 9" in retried.output and "failed 5" in retried.output
    rows = records(out)
    assert len(rows) == 14 and len({r["file"] for r in rows}) == 14  # still one record each


def test_sigkill_mid_run_then_resume_gives_exactly_one_record_each(tmp_path, vlm):
    keys = make_images(tmp_path / "in", 48)
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "rescap.cli", "recaption", str(tmp_path / "in"), "-o", str(out),
           "--model", f"transformers:{vlm}", "--relevance", "off", "-b", "4"]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or len(out.read_bytes().splitlines()) < 8):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = out.read_bytes().splitlines()
    assert 8 <= len(before) < 48, "the kill should land mid-run"
    with open(out, "ab") as fh:  # also a torn last line, as a kill inside write() leaves
        fh.write(b'{"file": "d0/img000.png", "status": "o')
    subprocess.run(cmd, env=env, check=False, capture_output=True)
    rows = records(out)
    assert sorted(r["file"] for r in rows) == sorted(keys)  # every input once, none twice
    assert all(r["status"] == "ok" for r in rows)


def test_parquet_and_txt_formats(tmp_path, vlm):
    pq = pytest.importorskip("pyarrow.parquet")
    keys = make_images(tmp_path / "in", 6)
    result = cli(tmp_path / "in", "-o", tmp_path / "pq", "--format", "parquet", "--model", f"transformers:{vlm}", "--relevance", "off", "-b", "4")
    assert result.exit_code == 0, result.output
    table = pq.read_table(tmp_path / "pq")
    assert sorted(table.column("file").to_pylist()) == sorted(keys)
    assert json.loads(table.column("degradation")[0].as_py())["scale_factor"] >= 1
    again = cli(tmp_path / "in", "-o", tmp_path / "pq", "--format", "parquet", "--model", f"transformers:{vlm}")
    assert "skipped 6" in again.output and pq.read_table(tmp_path / "pq").num_rows == 6

    txt = cli(tmp_path / "in", "-o", tmp_path / "txt", "--format", "txt", "--no-vlm", "--restorer", "hypir")
    assert txt.exit_code == 0, txt.output
    for key in keys:  # the mirrored layout HYPIR's --txt_dir reads
        assert (tmp_path / "txt" / key).with_suffix(".txt").exists()
    assert len(records(tmp_path / "txt" / ".rescap-recaption.jsonl")) == 6


def test_sources_path_lists_manifests_and_tars(tmp_path):
    keys = make_images(tmp_path / "in", 4)
    (tmp_path / "list.txt").write_text("\n".join(f"in/{k}" for k in keys) + "\n# a comment\n")
    assert [i.key for i in iter_source(tmp_path / "list.txt")] == [f"in/{k}" for k in keys]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps({"image": f"in/{k}", "id": n}) for n, k in enumerate(keys)))
    assert [i.path for i in iter_source(tmp_path / "m.jsonl")] == [tmp_path / "in" / k for k in keys]
    with tarfile.open(tmp_path / "shard-000.tar", "w") as tar:
        for k in keys:
            tar.add(tmp_path / "in" / k, arcname=f"{Path(k).stem}.png")
        tar.add(tmp_path / "list.txt", arcname="readme.txt")
    items = list(iter_source(tmp_path / "shard-000.tar"))
    assert [i.key for i in items] == [f"shard-000.tar/{Path(k).stem}.png" for k in keys]
    assert items[0].open() == (tmp_path / "in" / keys[0]).read_bytes()


def test_tar_shards_through_the_command(tmp_path):
    keys = make_images(tmp_path / "in", 3)
    with tarfile.open(tmp_path / "s.tar", "w") as tar:
        for k in keys:
            tar.add(tmp_path / "in" / k, arcname=k)
    result = cli(tmp_path / "s.tar", "-o", tmp_path / "o.jsonl", "--no-vlm")
    assert result.exit_code == 0, result.output
    assert sorted(r["file"] for r in records(tmp_path / "o.jsonl")) == sorted(f"s.tar/{k}" for k in keys)


def test_shards_partition_the_source(tmp_path):
    keys = make_images(tmp_path / "in", 12)
    seen = []
    for i in range(3):
        result = cli(tmp_path / "in", "-o", tmp_path / "o.jsonl", "--no-vlm", "--shard", f"{i}/3")
        assert result.exit_code == 0, result.output
        seen += [r["file"] for r in records(tmp_path / f"o.shard-{i:05d}-of-00003.jsonl")]
    assert sorted(seen) == sorted(keys)
    assert cli(tmp_path / "in", "-o", tmp_path / "x.jsonl", "--no-vlm", "--shard", "3/3").exit_code == 2


def test_limit(tmp_path):
    make_images(tmp_path / "in", 7)
    cli(tmp_path / "in", "-o", tmp_path / "o.jsonl", "--no-vlm", "--limit", "3")
    assert len(records(tmp_path / "o.jsonl")) == 3
    cli(tmp_path / "in", "-o", tmp_path / "o.jsonl", "--no-vlm", "--limit", "3")
    assert len(records(tmp_path / "o.jsonl")) == 6


def test_outputs_never_escape(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    assert safe_output_path(root, "../../etc/passwd.png", ".txt") == root / "_up" / "_up" / "etc" / "passwd.txt"
    assert safe_output_path(root, "/abs/a.png", ".txt") == root / "abs" / "a.txt"
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="symlink"):
        safe_output_path(root, "link/x.png", ".txt")


def test_torn_last_line_is_cut_and_complete_lines_count(tmp_path):
    path = tmp_path / "r.jsonl"
    good = RecaptionRecord(file="a.png", status="ok", rescap_version="x").model_dump_json()
    path.write_text(good + "\n" + '{"file": "b.png", "sta')
    writer = JsonlWriter(path)
    assert writer.done() == ({"a.png"}, set()) and writer.repaired_bytes > 0
    writer.write([RecaptionRecord(file="b.png", status="ok", rescap_version="x")])
    writer.close()
    assert [json.loads(line)["file"] for line in path.read_text().splitlines()] == ["a.png", "b.png"]


def test_a_log_written_under_the_old_field_names_still_resumes(tmp_path):
    """Records of earlier versions keyed the image as ``path``: such a job resumes, no duplicates."""
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"path": "a.png", "status": "ok", "positive": "x", "rescap_version": "0"}) + "\n"
                    + json.dumps({"path": "b.png", "status": "error", "rescap_version": "0"}) + "\n")  # fmt: skip
    writer = JsonlWriter(path)
    assert writer.done() == ({"a.png"}, {"b.png"})
    writer.close()


def test_csv_manifests_are_read_as_csv(tmp_path, photos):
    """Quoted fields hold commas (and the path column need not be first)."""
    from PIL import Image

    from rescap.recaption.sources import iter_source

    (tmp_path / "a, b").mkdir()
    Image.fromarray(photos["astronaut"][:32, :32]).save(tmp_path / "a, b" / "x, 1.png")
    Image.fromarray(photos["coffee"][:32, :32]).save(tmp_path / "plain.png")
    (tmp_path / "m.csv").write_text('caption,path\n"a cat, sleeping","a, b/x, 1.png"\nsomething,plain.png\n', encoding="utf-8")
    items = list(iter_source(tmp_path / "m.csv"))
    assert [i.path for i in items] == [tmp_path / "a, b" / "x, 1.png", tmp_path / "plain.png"]
    assert all(i.path.is_file() for i in items)


def test_tar_shards_are_closed_when_the_run_ends(tmp_path, photos):
    import io

    from PIL import Image

    from rescap.captioning.captioner import Captioner
    from rescap.recaption import sources
    from rescap.recaption.engine import run_local
    from rescap.recaption.writers import JsonlWriter

    for s in range(6):  # more shards than a thread keeps open
        with tarfile.open(tmp_path / f"shard-{s}.tar", "w") as tar:
            data = io.BytesIO()
            Image.fromarray(photos["astronaut"][:32, :32]).save(data, format="PNG")
            info = tarfile.TarInfo("000.png")
            info.size = len(data.getvalue())
            tar.addfile(info, io.BytesIO(data.getvalue()))
    writer = JsonlWriter(tmp_path / "out.jsonl")
    summary = run_local(sources.iter_source(tmp_path), writer, Captioner(None, relevance=None), batch_size=2, workers=1)
    writer.close()
    assert summary.done == 6
    assert not sources._ALL_OPEN
    open_tars = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd") if os.path.islink(f"/proc/self/fd/{fd}")]
    assert not [t for t in open_tars if t.endswith(".tar")]


def test_resume_reads_key_and_status_only_whatever_the_field_order(tmp_path):
    from rescap.recaption.writers import key_and_status

    log = tmp_path / "r.jsonl"
    lines = [
        RecaptionRecord(file='a "quoted", name.png', status="ok", caption="x" * 1000, rescap_version="1").model_dump_json(),
        json.dumps({"status": "error", "path": "b.png", "caption": None}),  # another writer, older names
        json.dumps({"file": "c\\\\d.png", "status": "ok"}, indent=None, separators=(",", ": ")),
        '{"file": "torn',
    ]
    log.write_text("\n".join(lines))
    assert list(key_and_status(log)) == [('a "quoted", name.png', "ok"), ("b.png", "error"), ("c\\\\d.png", "ok")]


def test_a_manifest_listing_one_image_twice_gives_one_record(tmp_path, photos):
    from PIL import Image
    from typer.testing import CliRunner

    from rescap.cli.app import app

    Image.fromarray(photos["astronaut"][:32, :32]).save(tmp_path / "a.png")
    (tmp_path / "list.txt").write_text("a.png\n./a.png\na.png\n")
    out = tmp_path / "r.jsonl"
    result = CliRunner().invoke(app, ["recaption", str(tmp_path / "list.txt"), "-o", str(out), "--no-vlm"])
    assert result.exit_code == 0 and "2 source entries repeat a key" in result.stderr
    assert [json.loads(line)["file"] for line in out.read_text().splitlines()] == ["a.png"]
