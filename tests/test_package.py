"""Package layout, lazy names, extras messages, and the built wheel."""

import importlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import rescap
from rescap.extras import MissingExtraError, require

ROOT = Path(__file__).resolve().parents[1]


def test_every_lazy_name_resolves():
    for name in rescap._LAZY:
        assert getattr(rescap, name) is not None, name
    assert set(dir(rescap)) >= set(rescap._LAZY)
    with pytest.raises(AttributeError):
        rescap.not_a_name  # noqa: B018


def test_every_subpackage_is_listed_for_the_wheel():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        "rescap." + ".".join(p.parent.relative_to(ROOT / "rescap").parts)
        for p in (ROOT / "rescap").rglob("__init__.py")
        if p.parent != ROOT / "rescap"
    } | {"rescap"}
    assert found <= listed
    assert config["package-dir"]["rescap.adapters"] == "adapters"
    assert config["package-dir"]["rescap.prompts"] == "prompts"


def test_missing_extra_names_the_extra_to_install():
    with pytest.raises(MissingExtraError, match=r"pip install 'rescap\[vllm\]'"):
        require("rescap_no_such_module", "vllm")
    assert require("json", "transformers") is importlib.import_module("json")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (whl,) = out.glob("rescap-*.whl")
    return whl


def test_wheel_ships_adapters_and_prompts_inside_rescap(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "rescap/adapters/__init__.py" in names
    assert "rescap/prompts/README.md" in names
    top_level = {n.split("/", 1)[0] for n in names}
    assert top_level <= {"rescap", next(n.split("/")[0] for n in names if ".dist-info/" in n)}


def test_installed_wheel_imports_from_its_own_files(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    assert not (target / "adapters").exists() and not (target / "prompts").exists()
    probe = (
        "import importlib.resources, rescap, rescap.adapters, rescap.prompts;"
        "print(rescap.__file__);"
        "print(importlib.resources.files('rescap.prompts').joinpath('README.md').read_text()[:16])"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0].startswith(str(target))
    assert out[1].startswith("# Prompt")


def test_rescap_extras_lists_every_extra_of_pyproject_and_the_readme():
    """Every optional-dependency group pyproject.toml declares, and every one the README names, is
    a row of ``rescap extras`` (read from the files, not from rescap's own table)."""
    import re
    import tomllib

    from typer.testing import CliRunner

    from rescap.cli.app import app

    root = Path(__file__).resolve().parents[1]
    declared = set(tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    readme = (root / "README.md").read_text()
    named = set(re.findall(r"rescap\[([a-z]+)\]", readme)) | set(re.findall(r"`\[([a-z]+)\]`", readme))
    assert named and named <= declared, named - declared
    result = CliRunner().invoke(app, ["extras"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    rows = {line.split("│")[1].strip() for line in result.stdout.splitlines() if line.startswith("│")}
    assert declared <= rows, declared - rows
