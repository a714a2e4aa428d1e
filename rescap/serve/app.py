"""The FastAPI application of ``rescap serve``.

Routes: ``POST /v1/chat/completions`` and ``GET /v1/models`` (OpenAI-compatible), ``POST
/v1/caption`` (the whole PromptBundle), ``POST /v1/estimate`` (the degradation report), ``POST
/v1/prompt`` (final strings and token counts for a caption), ``GET /health``, ``GET /metrics``.
Errors are OpenAI-shaped: ``{"error": {"message", "type", "code"}}`` with a 4xx/5xx status; the
message is one line and never holds keys or image data.

Example:
    >>> from rescap.serve.app import create_app
    >>> from rescap.serve.settings import ServeSettings
    >>> app = create_app(ServeSettings(vlm=None))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import one_line
from .batcher import DynamicBatcher, QueueFull
from .metrics import CONTENT_TYPE, ServiceMetrics
from .requests import RequestError, chat_image_and_text, image_bytes, user_text_to_merge
from .service import CaptionService
from .settings import ServeSettings

log = logging.getLogger("rescap.serve")
OPEN_PATHS = ("/health", "/metrics")  # for load balancers and scrapers; they show no captions or images


def _error(status: int, message: str, kind: str = "invalid_request_error", headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": kind}}, status_code=status, headers=headers)


# Text a request may carry (user prompt, negative, caption): far more than any text window holds,
# and few enough characters that fitting it to a window stays quick.
MAX_TEXT_CHARS = 4000


# A refused body is still read (and dropped) up to this much before the 413 goes out: a server
# that closes with unread bytes in its socket makes the kernel send a reset, and the client sees
# "connection reset" instead of the 413 (as nginx's lingering close, bounded in bytes and time).
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 5.0


class _BodyLimit:
    """ASGI middleware: bodies over ``limit`` bytes get 413, declared (Content-Length) or not
    (chunked): the body is read up to the limit, then handed on to the application."""

    def __init__(self, app, limit: int, on_refused=None):
        self.app, self.limit, self.on_refused = app, limit, on_refused

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_big = _error(413, f"request body over the server's limit of {self.limit:,} bytes", "request_too_large")
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(too_big, scope, receive, send)
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                chunks = None
                break
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.limit:
                return await self._refuse(too_big, scope, receive, send)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks or [])
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, response, scope, receive, send):
        if self.on_refused:
            self.on_refused(scope.get("path", ""))
        await _drain(receive)
        response.headers["Connection"] = "close"
        return await response(scope, receive, send)


async def _drain(receive) -> None:
    """Read and drop the rest of a request body, up to DRAIN_BYTES and DRAIN_SECONDS."""
    drained, deadline = 0, time.monotonic() + DRAIN_SECONDS
    while drained <= DRAIN_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), left)
        except asyncio.TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


def create_app(settings: ServeSettings, service: CaptionService | None = None) -> FastAPI:
    """The application; ``service`` defaults to a ``CaptionService(settings)`` (which loads the VLM)."""
    service = service or CaptionService(settings)
    metrics = ServiceMetrics()
    token = None
    if settings.api_key_env:
        token = os.environ.get(settings.api_key_env)
        if not token:
            raise ValueError(f"--api-key-env {settings.api_key_env}: that environment variable is not set")
    batcher = DynamicBatcher(
        service.run_batch, settings.max_batch, settings.max_wait_ms / 1000.0, settings.max_queue,
        on_batch=metrics.batch_size.observe, on_seconds=metrics.batch_seconds.observe, max_gather_s=settings.max_gather_ms / 1000.0,
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.get_running_loop().run_in_executor(None, service.warm_up)
        batcher.start()
        try:
            yield
        finally:  # uvicorn has finished the requests in flight (graceful drain) before this runs
            await batcher.close(settings.timeout_s)
            service.close()

    app = FastAPI(title="rescap", version=_version(), lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.service, app.state.batcher, app.state.metrics = service, batcher, metrics

    @app.middleware("http")
    async def guard(request: Request, call_next):
        start = time.perf_counter()
        path = request.url.path
        metrics.in_flight.inc()
        response = None
        try:
            if token is not None and path not in OPEN_PATHS and not _authorized(request.headers.get("authorization", ""), token):
                response = _error(401, "missing or wrong API key (send Authorization: Bearer <key>)", "authentication_error", {"WWW-Authenticate": "Bearer"})
            else:
                response = await call_next(request)
            return response
        finally:
            metrics.in_flight.dec()
            metrics.answered(path, response.status_code if response is not None else 500, time.perf_counter() - start)

    @app.exception_handler(RequestError)
    async def refused(request: Request, exc: RequestError):
        return _error(exc.status, exc.message, exc.kind, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):  # unknown route, wrong method, bad multipart
        kind = {404: "not_found_error", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request_error")
        return _error(exc.status_code, one_line(Exception(str(exc.detail)), limit=300), kind, getattr(exc, "headers", None))

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError):
        return _error(400, "the body nests too deeply to be read")

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception):  # details stay in the server's log
        log.error("%s failed: %s", request.url.path, one_line(exc, with_type=True, limit=300))
        return _error(500, "internal error (the server's log has the details)", "server_error")

    async def body_json(request: Request) -> dict:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestError(400, f"the body is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}") from None
        if not isinstance(body, dict):
            raise RequestError(400, "the body must be a JSON object")
        return body

    async def checked(data: bytes) -> bytes:
        from ..images import ImageLoadError, ImageTooLargeError, check_image_bytes

        try:
            check_image_bytes(data, settings.max_pixels)
        except ImageTooLargeError as exc:
            raise RequestError(413, str(exc), "image_too_large") from None
        except ImageLoadError as exc:
            raise RequestError(400, str(exc), "invalid_image") from None
        return data

    admitted = {"n": 0}  # requests between admission and reply: measuring, waiting or captioning

    async def caption(data: bytes, restorer: str | None, richness: str | None, mode: str | None):
        key = service.key(restorer, richness, mode)  # a bad restorer, richness or mode fails here, alone
        if admitted["n"] >= settings.max_queue:
            raise RequestError(429, "the server is busy: too many images waiting; retry shortly", "rate_limit_exceeded", {"Retry-After": "1"})
        admitted["n"] += 1
        metrics.queue_depth.set(admitted["n"])
        try:
            result = await asyncio.wait_for(_caption(data, key), settings.timeout_s)
        except QueueFull:
            raise RequestError(429, "the server is busy: too many images waiting; retry shortly", "rate_limit_exceeded", {"Retry-After": "1"}) from None
        except asyncio.TimeoutError:
            raise RequestError(504, f"captioning took longer than the server's timeout of {settings.timeout_s:g} s", "timeout") from None
        finally:
            admitted["n"] -= 1
            metrics.queue_depth.set(admitted["n"])
        if not hasattr(result, "caption"):
            if result.stage in ("read", "estimate"):
                raise RequestError(400, f"the image could not be read: {one_line(Exception(result.error), limit=200)}", "invalid_image")
            log.error("captioning failed at %s: %s", result.stage, result.error)
            if getattr(result, "unreachable", False):
                raise RequestError(502, "the captioning model could not be reached (the server's log has the details)", "server_error")
            raise RequestError(500, f"captioning failed at {result.stage} (the server's log has the details)", "server_error")
        return result

    async def _caption(data: bytes, key: tuple):
        with batcher.incoming(key):
            item = await service.prepare(data, "request")
        return await batcher.submit(key, item)

    @app.get("/health")
    async def health():
        return {"status": "ok", "captioning": service.backend is not None, "restorer": settings.restorer, "queue": admitted["n"]}

    @app.get("/metrics")
    async def prometheus():
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "rescap"} for m in service.model_ids()]}

    @app.get("/v1/models/{model_id}")
    async def model(model_id: str):
        if model_id not in service.model_ids():
            raise RequestError(404, f"no such model: {model_id} (GET /v1/models lists them)", "model_not_found")
        return {"id": model_id, "object": "model", "created": 0, "owned_by": "rescap"}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await body_json(request)
        restorer = service.restorer_of_model(_text_field(body, "model"))
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise RequestError(400, "'stream' must be true or false")
        data, text = chat_image_and_text(body.get("messages"), settings.images_dir)
        _check_length("the message text", text)
        bundle = await caption(await checked(data), restorer, None, None)
        user = user_text_to_merge(text)
        if user is None:
            content = bundle.caption
        else:  # merged as --prompt is, off the event loop
            adapter = service.captioner(restorer).adapter
            loop = asyncio.get_running_loop()
            content = (await loop.run_in_executor(service.prepare_pool, adapter.final_prompts, bundle, user)).caption
        model = body.get("model") or f"rescap-{restorer}"
        words = len(content.split())
        reply_id, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if stream:
            return StreamingResponse(_stream(reply_id, created, model, content), media_type="text/event-stream")
        return {
            "id": reply_id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 0, "completion_tokens": words, "total_tokens": words},
        }  # fmt: skip

    async def image_request(request: Request) -> tuple[bytes, dict]:
        """The image and the other fields of a multipart upload or a JSON body."""
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/form-data"):
            form = await request.form()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            upload = form.get("image") or form.get("file")
            if upload is None:
                raise RequestError(400, "the upload has no 'image' field")
            data = await upload.read() if hasattr(upload, "read") else await image_bytes_async(str(upload))
            return await checked(data), fields
        body = await body_json(request)
        reference = body.get("image")
        if not isinstance(reference, str) or not reference:
            raise RequestError(400, "'image' is required: base64, a data URL, or a multipart upload")
        return await checked(await image_bytes_async(reference)), body

    @app.post("/v1/caption")
    async def caption_route(request: Request):
        data, fields = await image_request(request)
        restorer = _restorer_field(fields)
        richness, mode = _text_field(fields, "richness", allow_int=True), _text_field(fields, "mode")
        user, negative = _text_field(fields, "prompt"), _text_field(fields, "negative")
        for name, value in (("prompt", user), ("negative", negative)):
            _check_length(name, value)
        bundle = await caption(data, restorer, richness, mode)
        record = bundle.model_dump(mode="json", exclude={"image_embedding"})
        if user or negative:  # merged as --prompt / --negative are
            from ..captioning.prompt_record import prompt_fields

            adapter = service.captioner(restorer).adapter
            loop = asyncio.get_running_loop()
            final = await loop.run_in_executor(service.prepare_pool, adapter.final_prompts, bundle, user, negative)
            record["final"] = prompt_fields(adapter, final)
        return record

    @app.post("/v1/estimate")
    async def estimate_route(request: Request):
        data, _ = await image_request(request)
        try:
            report = await service.estimate(data)
        except RequestError:
            raise
        except Exception as exc:
            raise RequestError(400, f"the image could not be read: {one_line(exc)}", "invalid_image") from None
        return report.model_dump(mode="json")

    @app.post("/v1/prompt")
    async def prompt_route(request: Request):
        body = await body_json(request)
        text = body.get("caption")
        if not isinstance(text, str):
            raise RequestError(400, "'caption' (a string) is required")
        user, negative = _text_field(body, "prompt"), _text_field(body, "negative")
        for name, value in (("caption", text), ("prompt", user), ("negative", negative)):
            _check_length(name, value)
        restorer = _restorer_field(body)
        service.key(restorer, None, None)  # an unknown restorer: 404 here
        data = None
        if body.get("image"):
            if not isinstance(body["image"], str):
                raise RequestError(400, "'image' must be a string: base64 or a data URL")
            data = await checked(await image_bytes_async(body["image"]))
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(service.prepare_pool, service.prompt, text, restorer, user, negative, data)
        try:
            return await asyncio.wait_for(work, settings.timeout_s)
        except asyncio.TimeoutError:
            raise RequestError(504, f"the prompt took longer than the server's timeout of {settings.timeout_s:g} s", "timeout") from None

    async def image_bytes_async(reference: str) -> bytes:
        """A request's image; files of --images-dir are read off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(service.prepare_pool, image_bytes, reference, settings.images_dir, settings.max_body_bytes)

    def _restorer_field(fields: dict) -> str | None:
        name = _text_field(fields, "restorer")
        return service.restorer_of_model(name) if name and name.startswith("rescap-") else name

    metrics.endpoints = frozenset(route.path for route in app.routes if "{" not in route.path)
    return app


def _text_field(fields: dict, name: str, allow_int: bool = False) -> str | None:
    """A string field of a request (None when absent or empty), or a 400 naming it."""
    value = fields.get(name)
    if value is None or value == "":
        return None
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise RequestError(400, f"'{name}' must be a string")
    return value


def _check_length(name: str, value: str | None) -> None:
    if value is not None and len(value) > MAX_TEXT_CHARS:
        raise RequestError(400, f"{name} is {len(value):,} characters: at most {MAX_TEXT_CHARS:,} are taken")


def _authorized(header: str, token: str) -> bool:
    scheme, _, value = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


async def _stream(reply_id: str, created: int, model: str, content: str):
    """The reply as OpenAI server-sent events: the whole caption in one delta (it is made at once)."""
    head = {"id": reply_id, "object": "chat.completion.chunk", "created": created, "model": model}
    for delta, finish in (({"role": "assistant", "content": content}, None), ({}, "stop")):
        chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def _version() -> str:
    from .._version import __version__

    return __version__


def wrap_body_limit(app: Any, settings: ServeSettings) -> Any:
    """The ASGI app with the request-size limit in front (its 413s counted in the app's metrics)."""
    return _BodyLimit(app, settings.max_body_bytes, lambda path: app.state.metrics.answered(path, 413))
