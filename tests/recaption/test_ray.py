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
