"""A small OpenAI-compatible chat server on 127.0.0.1 that answers any JSON schema with realistic
text, the way real VLMs do: long, detailed, sometimes in another language, and ignoring length
requests (``maxLength`` in the schema and "about N words" in the prompt alike).

It speaks ``GET /v1/models`` and ``POST /v1/chat/completions`` (``response_format`` json_schema),
records every request body and its headers, and can be told which captions to give (in order,
cycling). For fault injection, ``server.faults`` is a list of faults the next chat requests get,
one each: ``"500"``, ``"502"``, ``"503"``, ``"429"`` (with ``Retry-After``), ``"close"`` (the
connection closes mid-body), ``"malformed"`` (truncated JSON), ``"wrong-shape"`` (valid JSON that
is not the object asked for), ``"stall"`` (``stall_seconds`` before answering); ``server.down =
True`` fails every request until it is set back to False.

Example:
    >>> from rescap.testing.openai_standin import StandInServer
    >>> with StandInServer() as server:  # doctest: +SKIP
    ...     backend = create_backend("openai:standin", base_url=server.url)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable

from .caption_corpus import ASSESSMENTS, CAPTIONS, SCENES, SUBJECTS


class SchemaFiller:
    """Fills a JSON schema with realistic values, ignoring ``maxLength``/``maxItems`` (as VLMs do
    when a server does not enforce them) but keeping types, enums and required fields."""

    def __init__(self, captions: Iterable[str], offset: int = 0):
        def rotated(values) -> Iterable:
            values = list(values)
            k = offset % len(values)
            return itertools.cycle(values[k:] + values[:k])

        self._captions = rotated(captions)
        self._assessments = rotated(ASSESSMENTS)
        self._scenes = rotated(SCENES)
        self._subjects = rotated(SUBJECTS)
        self.last_caption = ""

    def fill(self, schema: dict[str, Any], key: str = "") -> Any:
        if "enum" in schema:
            return schema["enum"][min(1, len(schema["enum"]) - 1)]
        if "anyOf" in schema:
            return self.fill(schema["anyOf"][0], key)
        kind = schema.get("type")
        if kind == "object":
            props = schema.get("properties", {})
            if {"name", "category"} <= set(props):
                name, area, category = next(self._subjects)
                return {k: {"name": name, "area": area, "category": category}.get(k, self.fill(v, k)) for k, v in props.items()}
            return {k: self.fill(v, k) for k, v in props.items()}
        if kind == "array":
            count = max(schema.get("minItems", 0), 3)
            return [self.fill(schema.get("items", {}), key) for _ in range(count)]
        if kind == "string":
            if key == "caption":
                self.last_caption = next(self._captions)
                return self.last_caption
            if key in ("assessment", "analysis"):
                return next(self._assessments)
            if key == "scene":
                return next(self._scenes)
            if key == "other":
                return "slight vignetting in the corners"
            return "a detailed description of the scene"
        if kind == "integer":
            return int(schema.get("minimum", 1))
        if kind == "number":
            return float(schema.get("minimum", 0.5))
        if kind == "boolean":
            return True
        return None


def _image_key(body: dict) -> int:
    """A number from the images of a chat request (0 without any)."""
    import hashlib

    urls = []
    for message in body.get("messages", []):
        content = message.get("content")
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                url = part.get("image_url")
                urls.append(url.get("url", "") if isinstance(url, dict) else str(url))
    return int(hashlib.sha256("".join(urls).encode()).hexdigest()[:8], 16) if urls else 0


class StandInServer:
    """The server; use as a context manager, or call ``close()``."""

    def __init__(
        self, captions: Iterable[str] = CAPTIONS, model: str = "standin-vlm", stall_seconds: float = 3.0, per_image: bool = False
    ):
        """``per_image``: every answer depends on the request's image alone (the same image gets the
        same answers, whatever came before), so concurrent clients can check each reply is theirs."""
        self.requests: list[dict] = []
        self.captions = list(captions)
        self.per_image = per_image
        # fault injection: each chat request takes the next fault of ``faults`` (then answers
        # normally); ``down`` makes every request fail by closing the connection until it is False
        self.faults: list[str] = []
        self.down = False
        self.faults_served: list[str] = []
        self.stall_seconds = stall_seconds
        self.headers: list[dict[str, str]] = []  # every request's headers (tests check where keys went)
        self.filler = SchemaFiller(captions)
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                server.headers.append(dict(self.headers))
                self._send(200, {"object": "list", "data": [{"id": model, "object": "model", "created": 0, "owned_by": "standin"}]})

            def _raw(self, data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True

            def _fault(self, fault: str) -> bool:
                """Serve ``fault`` instead of an answer; False for the faults that change the answer only."""
                if fault in ("500", "503", "502"):
                    self._send(int(fault), {"error": {"message": f"injected {fault}", "type": "server_error"}})
                elif fault == "429":
                    data = json.dumps({"error": {"message": "rate limited (injected)", "type": "rate_limit"}}).encode()
                    self._raw(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Type: application/json\r\n"
                              + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)  # fmt: skip
                elif fault == "close":  # the connection closes in the middle of the body
                    self._raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"id\": \"std")
                elif fault == "malformed":  # a complete reply whose JSON is cut short
                    data = b'{"id": "standin", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": '
                    self._raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
                elif fault == "stall":
                    time.sleep(server.stall_seconds)
                    return False
                else:
                    return False
                return True

            def do_POST(self):
                server.headers.append(dict(self.headers))
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    fault = "close" if server.down else (server.faults.pop(0) if server.faults else "")
                    if fault:
                        server.faults_served.append(fault)
                if fault and self._fault(fault):
                    return
                with server.lock:
                    server.requests.append(body)
                    fmt = body.get("response_format") or {}
                    schema = (fmt.get("json_schema") or {}).get("schema")
                    filler = SchemaFiller(server.captions, _image_key(body)) if server.per_image else server.filler
                    text = json.dumps(filler.fill(schema), ensure_ascii=False) if schema else next(filler._captions)
                    if fault == "wrong-shape":  # valid JSON, not the object the schema asks for
                        text = json.dumps(["a cat"])
                self._send(200, {
                    "id": "standin", "object": "chat.completion", "created": 0, "model": body.get("model", model),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": len(text) // 4, "total_tokens": 100 + len(text) // 4},
                })  # fmt: skip

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "StandInServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
