"""The HTTP client side of the openai backend against a local server whose answers the test scripts
(status codes, delays). The same backend runs against a real `vllm serve` in the vLLM stage."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rescap.backends import BatchGenerationError, GenerationParams, create_backend, text_message
from rescap.backends.base import BackendError

pytest.importorskip("openai")


class ScriptedServer:
    def __init__(self):
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.failures: list[int] = []  # status codes to answer first, in order
        self.bad_reply_for: set[str] = set()  # prompts answered with a reply holding no choices
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": "served-model", "object": "model", "created": 0, "owned_by": "me"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    status = server.failures.pop(0) if server.failures else 200
                if status != 200:
                    self._send(status, {"error": {"message": f"scripted {status}", "type": "x"}})
                    return
                prompt = body["messages"][-1]["content"][-1]["text"]
                if prompt in server.bad_reply_for:
                    self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []})
                    return
                text = json.dumps({"caption": prompt}) if "response_format" in body else f"echo {prompt}"
                self._send(200, {
                    "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
                })  # fmt: skip

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.close()


def convs(pictures, n=4):
    return [[text_message("user", f"item {i}", [pictures[i % len(pictures)]])] for i in range(n)]


def test_batch_with_images_and_json_schema(server, pictures, monkeypatch):
    monkeypatch.setenv("RESCAP_TEST_KEY", "sk-secret-123")
    backend = create_backend("openai:my-model", base_url=server.url, api_key_env="RESCAP_TEST_KEY", max_image_pixels=32 * 32)
    schema = {"type": "object", "properties": {"caption": {"type": "string"}}, "required": ["caption"]}
    results = backend.generate(convs(pictures), GenerationParams(max_new_tokens=30, json_schema=schema))
    assert [json.loads(r.text)["caption"] for r in results] == [f"item {i}" for i in range(4)]
    sent = server.requests[0]
    assert sent["model"] == "my-model" and sent["max_tokens"] == 30
    assert sent["response_format"]["type"] == "json_schema" and sent["response_format"]["json_schema"]["schema"] == schema
    assert sent["messages"][0]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert server.headers[0]["authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in repr(backend)


def test_retries_on_429_and_5xx_then_succeeds(server, pictures):
    server.failures = [429, 503, 500]
    backend = create_backend("openai:m", base_url=server.url, max_retries=3, concurrency=1)
    results = backend.generate(convs(pictures, 1), GenerationParams(max_new_tokens=5))
    assert results[0].text == "echo item 0" and len(server.requests) == 4 == backend.requests_sent


def test_exhausted_retries_fail_only_that_item(server, pictures):
    server.failures = [500, 500, 500]  # the first request and its two retries
    backend = create_backend("openai:m", base_url=server.url, max_retries=2, concurrency=1)
    with pytest.raises(BatchGenerationError) as info:
        backend.generate(convs(pictures, 3), GenerationParams(max_new_tokens=5))
    err = info.value
    assert err.failed_indices == [0] and "HTTP 500" in err.results[0].error
    assert backend.requests_sent == 3 + 2
    assert [r.text for r in err.results[1:]] == ["echo item 1", "echo item 2"]


def test_unreachable_server_names_every_item_not_done(pictures):
    backend = create_backend("openai:m", base_url="http://127.0.0.1:9/v1", max_retries=1, timeout=2)
    with pytest.raises(BatchGenerationError) as info:
        backend.generate(convs(pictures, 2), GenerationParams(max_new_tokens=5))
    assert info.value.failed_indices == [0, 1]
    assert "items 0, 1" in str(info.value) and "cannot reach" in str(info.value)


def test_empty_model_asks_the_server(server, pictures):
    backend = create_backend("openai:", base_url=server.url)
    backend.generate(convs(pictures, 1), GenerationParams(max_new_tokens=5))
    assert server.requests[0]["model"] == "served-model"


def test_needs_a_base_url_or_a_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(BackendError, match="--base-url"):
        create_backend("openai:gpt-4o-mini")


def test_concurrency_is_bounded(server, pictures):
    backend = create_backend("openai:m", base_url=server.url, concurrency=2)
    results = backend.generate(convs(pictures, 6), GenerationParams(max_new_tokens=5))
    assert len(results) == 6 and all(r.ok for r in results)


def test_a_malformed_reply_fails_only_its_item(server, pictures):
    server.bad_reply_for = {"item 1"}
    backend = create_backend("openai:m", base_url=server.url)
    with pytest.raises(BatchGenerationError) as info:
        backend.generate(convs(pictures, 3), GenerationParams(max_new_tokens=5))
    assert info.value.failed_indices == [1] and "no choices" in info.value.results[1].error
    assert info.value.results[0].text == "echo item 0"


def test_check_command_reports_an_unreachable_server_cleanly():
    from typer.testing import CliRunner

    from rescap.cli.app import app

    result = CliRunner().invoke(app, ["backends", "check", "openai:", "--base-url", "http://127.0.0.1:9/v1"])
    assert result.exit_code == 1 and "error:" in result.output and "Traceback" not in result.output
