"""A key goes only to the host it belongs to, and never shows: not in requests to other hosts,
records, logs, reprs or error text."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from rescap.cli.app import app
from rescap.testing.openai_standin import StandInServer

pytest.importorskip("openai")
SECRET = "sk-test-0123456789abcdefSECRET"


@pytest.fixture
def image(tmp_path, astronaut):
    path = tmp_path / "in" / "x.png"
    path.parent.mkdir()
    Image.fromarray(astronaut[:64, :64]).save(path)
    return path


def authorizations(server) -> list[str]:
    return [next((v for k, v in h.items() if k.lower() == "authorization"), "") for h in server.headers]


def test_openai_api_key_never_goes_to_a_custom_base_url(image, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with StandInServer() as server:
        result = CliRunner().invoke(app, ["caption", str(image), "--vlm", "openai:", "--base-url", server.url, "--relevance", "off", "--json"])
        assert result.exit_code == 0, result.output
        assert server.headers and all(a == "Bearer not-needed" for a in authorizations(server))  # a placeholder, no key
    assert SECRET not in result.output


def test_a_named_variable_is_sent_to_the_custom_server(image, monkeypatch, tmp_path):
    monkeypatch.setenv("MY_SERVER_KEY", SECRET)
    with StandInServer() as server:
        out = tmp_path / "r.jsonl"
        result = CliRunner().invoke(app, ["recaption", str(image.parent), "-o", str(out), "--vlm", "openai:", "--base-url", server.url,
                                          "--api-key-env", "MY_SERVER_KEY", "--relevance", "off"])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert authorizations(server) and all(a == f"Bearer {SECRET}" for a in authorizations(server))
    assert SECRET not in out.read_text() and SECRET not in result.output


def test_an_unset_named_variable_is_a_one_line_error(image):
    result = CliRunner().invoke(app, ["caption", str(image), "--vlm", "openai:", "--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "NOT_SET_ANYWHERE"])
    assert result.exit_code == 2 and result.stderr.strip() == "error: --api-key-env NOT_SET_ANYWHERE: that environment variable is not set"


def test_the_key_is_masked_in_error_text_and_reprs(monkeypatch):
    from rescap.backends import create_backend

    monkeypatch.setenv("MY_SERVER_KEY", SECRET)
    backend = create_backend("openai:m", base_url="http://127.0.0.1:9/v1", api_key_env="MY_SERVER_KEY", max_retries=0, timeout=2)
    assert SECRET not in repr(backend) and SECRET not in str(vars(backend))
    assert SECRET not in backend._masked(f"Incorrect API key provided: {SECRET}. You can find your key at ...")
    assert SECRET[:8] not in backend._masked(f"Incorrect API key provided: {SECRET[:8]}****{SECRET[-4:]}")
    masked = backend._masked(f"{'x' * 290} key {SECRET} echoed")  # the key at the 300-character cut, too
    assert not any(SECRET[i : i + 6] in masked for i in range(len(SECRET) - 6))
    from rescap.backends import GenerationParams

    results = backend._generate([[{"role": "user", "content": "hi"}]], GenerationParams())  # nothing listens on :9
    assert results[0].error and SECRET not in json.dumps([r.model_dump() for r in results])


def test_the_key_is_in_no_bench_report_and_no_record(image, monkeypatch, tmp_path):
    monkeypatch.setenv("MY_SERVER_KEY", SECRET)
    out = tmp_path / "b"
    with StandInServer() as server:
        server.faults = ["500"]  # an error text in the records too
        result = CliRunner().invoke(app, ["bench", str(image.parent), "-o", str(out), "--restorer", "hypir", "--vlm", "openai:",
                                          "--base-url", server.url, "--api-key-env", "MY_SERVER_KEY", "--policies", "rescap-short",
                                          "--metrics", "none", "--relevance", "off", "-O", "max_retries=0"])  # fmt: skip
        assert any(a == f"Bearer {SECRET}" for a in authorizations(server))
    assert result.exit_code in (0, 1), result.output
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written and not [p for p in written if SECRET.encode() in p.read_bytes() or SECRET[:8].encode() in p.read_bytes()]
    assert SECRET not in result.output
