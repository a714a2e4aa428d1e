"""``rescap serve`` as users run it: a real server subprocess on 127.0.0.1, spoken to by the official
``openai`` client and plain HTTP, with the OpenAI-compatible stand-in VLM behind it (its answers
depend on the image alone, so each reply can be matched to its own image)."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import urllib.error
import urllib.request
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from rescap.testing.openai_standin import StandInServer  # noqa: E402

TOKEN = "s3cret-token-for-tests"
RESTORER = "hypir"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _png(seed: int, size: int = 96) -> bytes:
    rng = np.random.default_rng(seed)
    base = np.cumsum(np.cumsum(rng.normal(0, 3, (size, size, 3)), 0), 1)
    img = np.uint8(np.interp(base, (base.min(), base.max()), (10, 245)))
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


class Reply:
    def __init__(self, status: int, body: bytes):
        self.status_code, self.content = status, body
        self.text = body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)


class ConnectError(Exception):
    pass


def http(method: str, url: str, json_body=None, content: bytes | None = None, headers: dict | None = None, files=None, data=None, timeout=120) -> Reply:
    """Plain HTTP with the standard library (no client library between the test and the server)."""
    headers = dict(headers or {})
    if json_body is not None:
        content, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
    if files is not None:
        boundary = "rescapboundary7f3a"
        parts = []
        for key, value in (data or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
        for key, (name, payload, mime) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{name}"\r\nContent-Type: {mime}\r\n\r\n'.encode() + payload + b"\r\n")
        content = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    request = urllib.request.Request(url, data=content, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return Reply(r.status, r.read())
    except urllib.error.HTTPError as e:
        return Reply(e.code, e.read())
    except urllib.error.URLError as e:
        if isinstance(e.reason, ConnectionRefusedError):
            raise ConnectError(str(e)) from e  # never accepted
        raise


class Server:
    def __init__(self, standin: StandInServer, *extra: str, token: str | None = TOKEN):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "RESCAP_TEST_TOKEN": token or ""}
        args = [sys.executable, "-m", "rescap.cli", "serve", "--vlm", "openai:standin-vlm", "--base-url", standin.url,
                "--restorer", RESTORER, "--port", str(self.port), "--max-wait-ms", "30", *extra]  # fmt: skip
        if token:
            args += ["--api-key-env", "RESCAP_TEST_TOKEN"]
        self.log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"rescap-serve-{self.port}.log", "w+")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.output()}")
            try:
                if http("GET", self.url + "/health", timeout=1).status_code == 200:
                    return
            except (ConnectError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()


@pytest.fixture(scope="module")
def standin():
    with StandInServer(per_image=True) as server:
        yield server


@pytest.fixture(scope="module")
def server(standin):
    srv = Server(standin, "--max-body-mb", "2")
    yield srv
    assert srv.stop() == 0, srv.output()


def _auth() -> dict:
    return {"Authorization": f"Bearer {TOKEN}"}


def _expected_caption(standin, image: bytes, tmp_path: Path) -> str:
    """What ``rescap caption`` gives the same image for the same restorer."""
    path = tmp_path / "photo.png"
    path.write_bytes(image)
    out = subprocess.run(
        [sys.executable, "-m", "rescap.cli", "caption", str(path), "--vlm", "openai:standin-vlm", "--base-url", standin.url,
         "--restorer", RESTORER, "--relevance", "off", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[0])["caption"]


def test_openai_client_gets_the_caption_rescap_caption_gives(server, standin, tmp_path):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server.url + "/v1", api_key=TOKEN)
    assert f"rescap-{RESTORER}" in {m.id for m in client.models.list()}
    image = _png(1)
    # HYPIR's demo asks in its own words; that instruction is not merged into the caption
    reply = client.chat.completions.create(
        model=f"rescap-{RESTORER}",
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "Provide a detailed description of this image without exceeding 100 words and without line breaks."},
            {"type": "image_url", "image_url": {"url": _data_url(image)}},
        ]}],
    )  # fmt: skip
    content = reply.choices[0].message.content
    assert content and content == _expected_caption(standin, image, tmp_path)
    # text that is not an instruction is merged, as --prompt is: it leads the caption
    merged = client.chat.completions.create(
        model=f"rescap-{RESTORER}",
        messages=[{"role": "user", "content": [{"type": "text", "text": "my grandmother's garden in 1962"},
                                                {"type": "image_url", "image_url": {"url": _data_url(image)}}]}],
    )  # fmt: skip
    assert merged.choices[0].message.content.startswith("my grandmother's garden in 1962")
    stream = client.chat.completions.create(
        model=f"rescap-{RESTORER}", stream=True,
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": _data_url(image)}}]}],
    )  # fmt: skip
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == content


def test_concurrent_clients_each_get_their_own_image_caption(server):
    images = [_png(seed) for seed in range(8)]

    def ask(i: int) -> tuple[int, str]:
        body = {"model": f"rescap-{RESTORER}", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": _data_url(images[i % 8])}}]}]}
        r = http("POST", server.url + "/v1/chat/completions", json_body=body, headers=_auth())
        assert r.status_code == 200, r.text
        return i % 8, r.json()["choices"][0]["message"]["content"]

    alone = dict(ask(i) for i in range(8))  # one at a time: each image's own caption
    assert len(set(alone.values())) > 1  # the images do get different captions
    with ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(ask, range(200)))
    assert len(replies) == 200
    assert all(text == alone[i] for i, text in replies)  # none lost, none mixed up
    metrics = http("GET", server.url + "/metrics").text
    sizes = [float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("rescap_batch_size_count")]
    sums = [float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("rescap_batch_size_sum")]
    assert sizes and sums[0] / sizes[0] > 1.5  # concurrent requests were batched
    assert "rescap_queue_depth" in metrics and "rescap_request_seconds_bucket" in metrics


def test_bad_requests_get_one_clear_4xx_and_the_server_stays_up(server):
    post = lambda path, **kw: http("POST", server.url + path, headers={**_auth(), **kw.pop("headers", {})}, **kw)  # noqa: E731
    chat = lambda url: {"model": "rescap-supir", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]}  # noqa: E731
    # The huge bodies are 8x the limit: a server that answers without reading them closes with
    # unread bytes, the kernel resets the connection and the client never sees the 413.
    cases = {
        "malformed json": (post("/v1/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"}), 400),
        "no image": (post("/v1/chat/completions", json_body={"model": "rescap-supir", "messages": [{"role": "user", "content": "hi"}]}), 400),
        "not an image": (post("/v1/chat/completions", json_body=chat("data:image/png;base64," + base64.b64encode(b"hello").decode())), 400),
        "bomb": (post("/v1/chat/completions", json_body=chat(_data_url(_bomb_png()))), 413),
        "remote url": (post("/v1/chat/completions", json_body=chat("http://169.254.169.254/latest/meta-data")), 400),
        "server path": (post("/v1/chat/completions", json_body=chat("file:///etc/passwd")), 400),
        "unknown model": (post("/v1/chat/completions", json_body={**chat(_data_url(_png(0))), "model": "rescap-nope"}), 404),
        "huge body": (post("/v1/estimate", content=b"x" * (16 * 1024 * 1024), headers={"Content-Type": "application/json"}), 413),
        "model not a string": (post("/v1/chat/completions", json_body={**chat(_data_url(_png(0))), "model": 5}), 400),
        "stream not a bool": (post("/v1/chat/completions", json_body={**chat(_data_url(_png(0))), "stream": "false"}), 400),
        "text not a string": (post("/v1/chat/completions", json_body={"model": "rescap-supir", "messages": [{"role": "user", "content": [
            {"type": "text", "text": None}, {"type": "image_url", "image_url": {"url": _data_url(_png(0))}}]}]}), 400),
        "text too long": (post("/v1/chat/completions", json_body={"model": "rescap-supir", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "fox " * 4000}, {"type": "image_url", "image_url": {"url": _data_url(_png(0))}}]}]}), 400),
        "restorer a list": (post("/v1/prompt", json_body={"caption": "a fox", "restorer": ["supir"]}), 400),
        "richness bad": (post("/v1/caption", json_body={"image": _data_url(_png(0)), "richness": "abc"}), 400),
        "mode bad": (post("/v1/caption", json_body={"image": _data_url(_png(0)), "mode": "x"}), 400),
        "deep json": (post("/v1/prompt", content=b"[" * 100000, headers={"Content-Type": "application/json"}), 400),
        "unknown route": (post("/v1/nothing", json_body={}), 404),
        "chunked huge body": (post("/v1/estimate", content=iter([b"x" * (1024 * 1024)] * 16), headers={"Content-Type": "application/json"}), 413),
        "wrong token": (http("POST", server.url + "/v1/estimate", json_body={"image": _data_url(_png(0))}, headers={"Authorization": "Bearer wrong"}), 401),
        "no token": (http("POST", server.url + "/v1/estimate", json_body={"image": _data_url(_png(0))}), 401),
    }
    for name, (response, status) in cases.items():
        assert response.status_code == status, (name, response.text)
        message = response.json()["error"]["message"]
        assert message and "\n" not in message and TOKEN not in message, name
    # ... and it still serves everyone else
    ok = post("/v1/estimate", json_body={"image": base64.b64encode(_png(3)).decode()})
    assert ok.status_code == 200 and "noise_sigma" in ok.json()
    upload = http("POST", server.url + "/v1/caption", files={"image": ("a.png", _png(4), "image/png")}, data={"restorer": "supir"}, headers=_auth())
    assert upload.status_code == 200 and upload.json()["restorer"] == "supir" and upload.json()["caption"]
    assert http("GET", server.url + f"/v1/models/rescap-{RESTORER}", headers=_auth()).json()["id"] == f"rescap-{RESTORER}"
    prompt = post("/v1/prompt", json_body={"caption": "a red fox in tall grass", "restorer": "rescap-supir"})
    assert prompt.status_code == 200 and prompt.json()["positive_prompt"].startswith("a red fox in tall grass")
    assert "fox" in prompt.json()["caption"] and prompt.json()["check"]
    assert TOKEN not in server.output()  # keys are never logged
    metrics = http("GET", server.url + "/metrics").text
    assert 'rescap_requests_total{endpoint="/v1/estimate",status="413"}' in metrics  # refused bodies are counted too


def test_a_broken_image_fails_only_its_own_request_in_a_batch(server):
    good = _png(5)
    broken = good[: len(good) // 3]  # a valid header, then the data stops: fails once decoded, in the batch

    def ask(data: bytes) -> Reply:
        body = {"model": "rescap-supir", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": _data_url(data)}}]}]}
        return http("POST", server.url + "/v1/chat/completions", json_body=body, headers=_auth())

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(ask, [good, good, broken, good, good, broken, good, good]))
    statuses = [r.status_code for r in replies]
    assert statuses == [200, 200, 400, 200, 200, 400, 200, 200], [r.text for r in replies]
    assert "could not be read" in replies[2].json()["error"]["message"]


def test_a_full_server_answers_429_with_retry_after(standin):
    srv = Server(standin, "--max-queue", "2", "--max-batch", "1", token=None)
    try:
        body = {"model": "rescap-sd", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": _data_url(_png(9, 192))}}]}]}
        with ThreadPoolExecutor(12) as pool:
            replies = list(pool.map(lambda _: http("POST", srv.url + "/v1/chat/completions", json_body=body), range(12)))
        statuses = sorted(r.status_code for r in replies)
        assert 200 in statuses and 429 in statuses and set(statuses) <= {200, 429}, statuses
        busy = next(r for r in replies if r.status_code == 429)
        assert busy.json()["error"]["type"] == "rate_limit_exceeded"
    finally:
        assert srv.stop() == 0


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_stopping_finishes_every_accepted_request(standin, how):
    # SIGTERM to the server (uvicorn users' stop), or Ctrl-C: SIGINT to the whole process group,
    # its image workers included
    srv = Server(standin, "--max-batch", "4", token=None)
    images = [_png(seed) for seed in range(4)]
    results: list = []

    def ask(i: int) -> None:
        body = {"model": "rescap-sd", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": _data_url(images[i % 4])}}]}]}
        try:
            r = http("POST", srv.url + "/v1/chat/completions", json_body=body)
            results.append(r.status_code)
        except ConnectError:
            results.append("refused")  # came after the server stopped accepting: never accepted
        except Exception as exc:  # an accepted request dropped mid-flight: the drain failed
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    if how == "sigterm":
        srv.proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(srv.proc.pid, signal.SIGINT)
    for t in threads:
        t.join(120)
    assert srv.proc.wait(60) == 0, srv.output()
    answered = [r for r in results if r != "refused"]
    assert len(answered) >= 4 and all(r == 200 for r in answered), results
