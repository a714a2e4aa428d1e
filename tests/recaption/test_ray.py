"""`--engine ray` on a local Ray cluster of 2 CPUs with a tiny model: the same records as local,
resume without duplicates, bad files as error records."""

import json

import pytest
from typer.testing import CliRunner

from rescap.cli.app import app

from .test_recaption import make_images, records, salt

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def vlm(tmp_path_factory) -> str:
    pytest.importorskip("transformers")
    from rescap.testing.tiny_vlm import build_tiny_vlm

    return str(build_tiny_vlm("idefics3", tmp_path_factory.mktemp("vlm-ray") / "idefics3"))


def test_ray_engine_records_and_resume(cluster, vlm, tmp_path):
    keys = make_images(tmp_path / "in", 10)
    bad = salt(tmp_path / "in")
    args = ["recaption", str(tmp_path / "in"), "-o", str(tmp_path / "out.jsonl"), "--engine", "ray",
            "--model", f"transformers:{vlm}", "--relevance", "off", "-b", "4", "--ray-actors", "1"]  # fmt: skip
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 1, first.output  # the salted files failed
    rows = records(tmp_path / "out.jsonl")
    assert sorted(r["file"] for r in rows) == sorted(keys + list(bad))
    assert all((r["status"] == "error") == (r["file"] in bad) for r in rows)
    assert all(r["caption"] is not None and json.dumps(r["degradation"]) for r in rows if r["status"] == "ok")
    again = CliRunner().invoke(app, args)
    assert "done 0, skipped 15" in again.output and len(records(tmp_path / "out.jsonl")) == 15


def test_ray_engine_parquet_with_limit(cluster, tmp_path):
    pytest.importorskip("pyarrow")
    make_images(tmp_path / "in", 6)
    args = ["recaption", str(tmp_path / "in"), "-o", str(tmp_path / "pq"), "--format", "parquet", "--engine", "ray", "--no-vlm", "--limit", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "pq").num_rows == 4


def test_ray_engine_under_server_faults(cluster, tmp_path):
    """Ray actors posting to a stand-in server that fails requests: wrong shapes and server errors
    are named error records, unreachable images are not recorded, a rerun after recovery
    completes exactly the missing ones (no duplicates)."""
    pytest.importorskip("openai")
    from rescap.testing.openai_standin import StandInServer

    keys = make_images(tmp_path / "in", 8)
    out = tmp_path / "out.jsonl"
    with StandInServer() as server:
        args = ["recaption", str(tmp_path / "in"), "-o", str(out), "--engine", "ray", "--vlm", "openai:", "--base-url", server.url,
                "--relevance", "off", "--mode", "fused", "-b", "4", "--ray-actors", "1", "-O", "max_retries=0", "-O", "timeout=2"]  # fmt: skip
        server.faults = ["wrong-shape", "500", "close"]
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 1, first.output
        rows = records(out)
        assert len({r["file"] for r in rows}) == len(rows) < len(keys)  # the unreachable one is not recorded
        errors = [r for r in rows if r["status"] == "error"]
        assert errors and all(("unusable answer" in r["error"]) or ("HTTP 500" in r["error"]) for r in errors)
        assert "not captioned and not recorded" in first.stderr
        again = CliRunner().invoke(app, [*args, "--retry-failed"])
    assert again.exit_code == 0, again.output
    rows = records(out)
    assert sorted(r["file"] for r in rows) == sorted(keys) and all(r["status"] == "ok" for r in rows)


def test_ray_engine_stops_on_a_down_server_and_shows_retries(cluster, tmp_path):
    pytest.importorskip("openai")
    from rescap.testing.openai_standin import StandInServer

    keys = make_images(tmp_path / "in", 12)
    out = tmp_path / "out.jsonl"
    with StandInServer() as server:
        args = ["recaption", str(tmp_path / "in"), "-o", str(out), "--engine", "ray", "--vlm", "openai:", "--base-url", server.url,
                "--relevance", "off", "--mode", "fused", "-b", "2", "--ray-actors", "1", "-O", "timeout=2"]  # fmt: skip
        server.down = True
        stopped = CliRunner().invoke(app, [*args, "-O", "max_retries=0"])
        assert stopped.exit_code == 1, stopped.output
        assert "stopped: the captioning server stayed unreachable" in stopped.stderr and "not attempted" in stopped.stderr
        assert any(k in stopped.stderr for k in keys)  # the undone images are named
        assert records(out) == []
        server.down = False
        server.faults = ["500"]  # retried once by the client, then answered
        again = CliRunner().invoke(app, [*args, "-O", "max_retries=1"])
    assert again.exit_code == 0, again.output
    assert "note: 1 request to the captioning server was retried" in again.stderr
    assert sorted(r["file"] for r in records(out)) == sorted(keys)
