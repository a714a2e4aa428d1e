import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.cli.app import app
from rescap.degradation.synthesize import add_gaussian_noise, jpeg_bytes
from tests.degradation.test_report import FIELDS as REPORT_FIELDS

runner = CliRunner()
FIELDS = {"file"} | REPORT_FIELDS


@pytest.fixture
def folder(tmp_path, astronaut):
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    Image.fromarray(add_gaussian_noise(astronaut, 30, seed=0)).save(root / "noisy.png")
    (root / "sub" / "q50.jpg").write_bytes(jpeg_bytes(astronaut, 50))
    (root / "notes.txt").write_text("not an image, not walked")
    return root


def test_json_lines_for_a_walked_directory(folder):
    result = runner.invoke(app, ["estimate", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"].rsplit("/", 1)[-1] for r in records] == ["noisy.png", "q50.jpg"]
    for r in records:
        assert set(r) == FIELDS
    noisy, jpeg = records
    assert abs(noisy["noise_sigma"] - 30) < 3.5 and noisy["noise_level"] == "severe"
    assert jpeg["jpeg_quality"] == 50 and jpeg["jpeg_level"] == "moderate"


def test_bad_files_get_error_records_and_the_rest_goes_on(folder, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG garbage")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["estimate", str(bad), str(folder), str(empty), str(tmp_path / "missing.png"), "--json"])
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 5
    errors = {r["file"].rsplit("/", 1)[-1]: r["error"] for r in records if "error" in r}
    assert set(errors) == {"broken.png", "empty.jpg", "missing.png"}
    assert "empty" in errors["empty.jpg"] and "no such file" in errors["missing.png"]
    assert all(set(r) == {"file", "error"} for r in records if "error" in r)
    assert sum("noise_sigma" in r for r in records) == 2


def test_table_output(folder):
    result = runner.invoke(app, ["estimate", str(folder)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "noisy.png" in result.stdout and "q50.jpg" in result.stdout
    assert "severe" in result.stdout and "moderate" in result.stdout


def test_no_images_found(tmp_path):
    result = runner.invoke(app, ["estimate", str(tmp_path)])
    assert result.exit_code == 1


def test_gray_rgba_and_palette_files(tmp_path, astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 128, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    Image.fromarray(astronaut).convert("L").save(tmp_path / "g.png")
    Image.fromarray(astronaut).convert("P").save(tmp_path / "p.gif")
    result = runner.invoke(app, ["estimate", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3


def test_file_names_with_brackets_are_shown_verbatim(tmp_path, astronaut):
    for name in ("[bold red]x.png", "a[b].png", "[]y.png"):
        Image.fromarray(astronaut).save(tmp_path / name)
    result = runner.invoke(app, ["estimate", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "[bold red]x.png" in result.stdout and "a[b].png" in result.stdout
