"""Fault injection against the OpenAI-compatible stand-in server on 127.0.0.1: whatever the server
does, no record is lost or duplicated, every failed image is named with its reason, the exit
status says something failed, and a rerun after recovery completes exactly what is missing."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from rescap.cli.app import app

from rescap.testing.openai_standin import StandInServer

from .folders import crop_folder

pytest.importorskip("openai")

FAST = ["-O", "max_retries=0", "-O", "timeout=1", "-O", "concurrency=4", "--relevance", "off", "--mode", "fused"]
REASONS = {
    "500": "HTTP 500", "503": "HTTP 503", "429": "HTTP 429", "close": "cannot reach", "malformed": "bad reply",
    "wrong-shape": "unusable answer", "stall": "timed out",
}  # fmt: skip


@pytest.fixture
def folder(tmp_path, photos):
    return crop_folder(tmp_path / "in", photos, 12, 48)


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("fault", list(REASONS))
def test_caption_names_the_one_image_a_fault_hit(fault, folder):
    images = sorted(folder.glob("*.png"))[:3]
    with StandInServer(stall_seconds=2.5) as server:
        server.faults = [fault]
        result = run("caption", *images, "--vlm", "openai:", "--base-url", server.url, *FAST, "--json", "--batch-size", "3")
        assert server.faults_served == [fault]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(Path_name(r["file"]) for r in records) == sorted(p.name for p in images)  # none lost, none twice
    failed = [r for r in records if "error" in r]
    assert len(failed) == 1 and REASONS[fault] in failed[0]["error"], failed
    assert result.exit_code == 1 and "1 of 3 images failed" in result.stderr


def Path_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def test_recaption_survives_every_fault_and_a_rerun_completes_exactly_the_rest(folder, tmp_path):
    out = tmp_path / "r.jsonl"
    with StandInServer(stall_seconds=2.5) as server:
        server.faults = ["500", "close", "wrong-shape", "429", "malformed", "503"]
        first = run("recaption", folder, "-o", out, "--vlm", "openai:", "--base-url", server.url, *FAST, "-b", "4")
        assert first.exit_code == 1
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert max(Counter(r["file"] for r in rows).values()) == 1  # never twice
        errors = [r for r in rows if r["status"] == "error"]
        unrecorded = 12 - len(rows)  # the unreachable ones (connection closed, 503): not the images' fault
        assert unrecorded >= 1 and errors and all(r["error"] for r in errors)
        assert "not captioned and not recorded" in first.stderr and "run the same command again" in first.stderr
        assert all(f"failed: {r['file']}" in first.stderr for r in errors[:5])
        again = run("recaption", folder, "-o", out, "--vlm", "openai:", "--base-url", server.url, *FAST, "-b", "4", "--retry-failed")
    assert again.exit_code == 0, again.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in folder.glob("*.png"))  # exactly once each
    assert all(r["status"] == "ok" for r in rows)


def test_a_down_server_stops_the_run_and_a_rerun_resumes(folder, tmp_path):
    out = tmp_path / "r.jsonl"
    with StandInServer() as server:
        server.down = True
        stopped = run("recaption", folder, "-o", out, "--vlm", "openai:", "--base-url", server.url, *FAST, "-b", "2")
        assert stopped.exit_code == 1
        assert "stopped: the captioning server stayed unreachable" in stopped.stderr
        assert "not attempted" in stopped.stderr and "run the same command again" in stopped.stderr
        assert len(server.faults_served) < 12 * 2  # it stopped early instead of failing every image at full speed
        assert not out.exists() or out.read_text() == ""  # nothing recorded as failed
        assert "(img00.png, img01.png" in stopped.stderr  # the undone images are named
        server.down = False
        resumed = run("recaption", folder, "-o", out, "--vlm", "openai:", "--base-url", server.url, *FAST, "-b", "2")
    assert resumed.exit_code == 0, resumed.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in folder.glob("*.png"))


def test_bench_names_failed_captions_and_a_rerun_redoes_only_them(folder, tmp_path):
    out = tmp_path / "b"
    images = sorted(folder.glob("*.png"))[:4]
    sub = tmp_path / "sub"
    sub.mkdir()
    for p in images:
        (sub / p.name).write_bytes(p.read_bytes())
    args = ["bench", sub, "-o", out, "--restorer", "hypir", "--vlm", "openai:", "--base-url", None, "--policies", "rescap-short",
            "--metrics", "none", "--relevance", "off", "-O", "max_retries=0", "-O", "timeout=1"]  # fmt: skip
    with StandInServer() as server:
        args[args.index(None)] = server.url
        server.faults = ["500", "wrong-shape"]
        first = run(*args)
        assert first.exit_code == 1, first.output
        records = json.loads((out / "results.json").read_text())["records"]
        failed = [r for r in records if r["status"] == "error" and r["policy"] != "input"]
        assert 1 <= len(failed) <= 2 and all("caption" in r["error"] for r in failed)
        again = run(*args)
    assert again.exit_code == 0, again.output
    assert f"{len(images) - len(failed)} done before" in again.stderr
    records = json.loads((out / "results.json").read_text())["records"]
    rows = [(r["image"], r["policy"]) for r in records]
    assert len(rows) == len(set(rows)) == 2 * len(images) and all(r["status"] == "ok" for r in records)


def test_retries_are_visible_in_the_summary(folder):
    images = sorted(folder.glob("*.png"))[:2]
    with StandInServer() as server:
        server.faults = ["500", "429"]  # retried by the client, then answered
        result = run("caption", *images, "--vlm", "openai:", "--base-url", server.url, "-O", "max_retries=2", "-O", "timeout=5",
                     "--relevance", "off", "--mode", "fused", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "note: 2 requests to the captioning server were retried" in result.stderr


def test_recaption_shows_retries_in_its_summary(folder, tmp_path):
    with StandInServer() as server:
        server.faults = ["503", "429"]
        result = run("recaption", folder, "-o", tmp_path / "r.jsonl", "--vlm", "openai:", "--base-url", server.url, "-O", "max_retries=2",
                     "-O", "timeout=5", "--relevance", "off", "--mode", "fused")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "note: 2 requests to the captioning server were retried" in result.stderr
