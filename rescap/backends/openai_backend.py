"""Any OpenAI-compatible chat endpoint, first of all ``vllm serve``.

- Asynchronous, at most ``concurrency`` requests in flight; each request has a ``timeout``.
- Retries with exponential backoff and jitter on 408/409/429/5xx and connection errors (the
  ``openai`` client's own policy, ``max_retries`` times); after that the item gets an error naming
  what happened, and the other items keep their results.
- The API key goes only to the host it belongs to. ``$OPENAI_API_KEY`` is sent to
  api.openai.com alone; a custom ``base_url`` (``vllm serve``, another provider) gets a key only
  from a variable the user names, ``api_key_env`` (``--api-key-env VAR``), and a placeholder
  otherwise. The key never appears in logs, records, reprs or error text (it is masked there).
- JSON-schema output through ``response_format={"type": "json_schema", ...}``.
- An empty model name asks the server which model it serves (``GET /models``).
- Banned words (``GenerationParams.banned_words``): OpenAI-compatible servers have no portable
  way to ban words, so by default they are not sent. ``send_banned_words=True``
  (``-O send_banned_words=true``) adds ``"bad_words": [...]`` to each request body, which
  ``vllm serve`` applies (the words in their usual casings, less those the JSON schema spells);
  servers that reject unknown fields (api.openai.com among them) answer 400, so turn it on only
  for a vLLM server.

Example:
    >>> from rescap.backends import create_backend
    >>> backend = create_backend("openai:Qwen/Qwen2.5-VL-7B-Instruct", base_url="http://127.0.0.1:8000/v1")  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from ..extras import require
from .base import BackendError, Conversation, GenerationParams, GenerationResult, VLMBackend
from .media import to_openai_messages
from .structured import finish_json, schema_for_response_format


def _run_coroutine(coro):
    """Run ``coro`` to completion, also from code that already runs an event loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class OpenAIBackend(VLMBackend):
    """OpenAI-compatible HTTP chat completions.

    Options: ``base_url`` (or the ``OPENAI_BASE_URL`` environment variable), ``api_key_env``,
    ``concurrency``, ``timeout`` (seconds per request), ``max_retries``, ``max_image_pixels``,
    ``send_banned_words`` (send ``bad_words``, for ``vllm serve``; default off).
    """

    name = "openai"
    default_model = ""

    def __init__(
        self,
        model: str = "",
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        concurrency: int = 8,
        timeout: float = 120.0,
        max_retries: int = 4,
        send_banned_words: bool | str = False,
        **options: Any,
    ):
        super().__init__(model or "?", **options)
        self._openai = require("openai", "openai")
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        self._api_key_env = key_variable_for(self.base_url, api_key_env)
        if not self.base_url and not os.environ.get(self._api_key_env or ""):
            raise BackendError(
                "the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1 for vllm serve) "
                f"or an API key in ${self._api_key_env or 'OPENAI_API_KEY'} for api.openai.com"
            )
        if api_key_env and not os.environ.get(api_key_env):
            raise BackendError(f"--api-key-env {api_key_env}: that environment variable is not set")
        self.concurrency = max(1, int(concurrency))
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.send_banned_words = _flag(send_banned_words, "send_banned_words")
        self._ask_server_for_model = not model
        self.requests_sent = 0  # chat requests sent, retries included

    def _client(self):
        async def count(request) -> None:
            if request.url.path.endswith("/chat/completions"):
                self.requests_sent += 1

        # the SDK's own HTTP client class (httpx or httpx2, by SDK version), with a counting hook
        http_client = self._openai.DefaultAsyncHttpxClient(event_hooks={"request": [count]})
        return self._openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=self._key() or "not-needed",
            timeout=self.timeout,
            max_retries=self.max_retries,
            http_client=http_client,
        )

    @property
    def retries(self) -> int:
        """Chat requests sent again after a server error, rate limit or broken connection."""
        return max(self.requests_sent - self.stats.items, 0)

    def _key(self) -> str | None:
        return os.environ.get(self._api_key_env) if self._api_key_env else None

    def _masked(self, text: str) -> str:
        """``text`` with the key (and its usual printed prefixes) masked: error text ends up in records."""
        key = self._key()
        text = " ".join(str(text).split())
        if key:  # the whole key first, then the pieces servers print of it; before any cut
            for piece in [key, key[:8], key[-6:]] if len(key) >= 12 else [key]:
                text = text.replace(piece, "***")
        return _short(text)

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    def _generate(self, conversations: list[Conversation], params: GenerationParams) -> list[GenerationResult]:
        return _run_coroutine(self._generate_async(conversations, params))

    async def _generate_async(self, conversations: list[Conversation], params: GenerationParams):
        async with self._client() as client:
            if self._ask_server_for_model:
                try:
                    models = await client.models.list()
                except self._openai.OpenAIError as exc:
                    raise BackendError(f"cannot list the models of {self.base_url}: {self._masked(str(exc))}") from None
                if not models.data:
                    raise BackendError(f"{self.base_url} serves no model")
                self.model = models.data[0].id
                self._ask_server_for_model = False
            limit = asyncio.Semaphore(self.concurrency)
            prepared = [self._prepare(c) for c in conversations]
            tasks = [self._one(client, limit, i, p, params) for i, p in enumerate(prepared)]
            with self._timed_model_call():  # the requests, all in flight together
                return list(await asyncio.gather(*tasks))

    def _prepare(self, conversation: Conversation):
        try:
            return to_openai_messages(conversation, self.max_image_pixels)
        except Exception as exc:  # a bad image fails its item only
            return exc

    async def _one(self, client, limit: asyncio.Semaphore, index: int, messages, params):
        openai = self._openai
        result = GenerationResult(index=index)
        if isinstance(messages, Exception):
            result.error = f"cannot prepare the conversation: {messages}"
            return result
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.seed is not None:
            request["seed"] = params.seed
        if params.stop:
            request["stop"] = params.stop
        if params.json_schema is not None:
            request["response_format"] = schema_for_response_format(params.json_schema)
        bad_words = params.word_bans() if self.send_banned_words else []
        if bad_words:  # vLLM's extra sampling field, in the request body
            request["extra_body"] = {"bad_words": bad_words}
        async with limit:
            try:
                response = await client.chat.completions.create(**request)
            except openai.APIStatusError as exc:
                result.error = f"HTTP {exc.status_code} from {self.base_url or 'api.openai.com'}: {self._masked(exc.message)}"
                result.unreachable = exc.status_code in (502, 503, 504)  # the server is down or overloaded
                return result
            except openai.APITimeoutError:
                result.error = f"timed out after {self.timeout:g} s ({self.max_retries} retries)"
                result.unreachable = True
                return result
            except openai.APIConnectionError as exc:
                result.error = f"cannot reach {self.base_url or 'api.openai.com'} after {self.max_retries} retries: {self._masked(str(exc.__cause__ or exc))}"
                result.unreachable = True
                return result
            except Exception as exc:  # a malformed reply fails its item, not the batch
                result.error = f"bad reply from {self.base_url or 'api.openai.com'}: {type(exc).__name__}: {self._masked(str(exc))}"
                return result
        if not getattr(response, "choices", None):
            result.error = f"reply from {self.base_url or 'api.openai.com'} holds no choices"
            return result
        choice = response.choices[0]
        result.text = choice.message.content or ""
        result.finish_reason = choice.finish_reason
        if response.usage is not None:
            result.prompt_tokens = response.usage.prompt_tokens
            result.completion_tokens = response.usage.completion_tokens
        if params.json_schema is not None:
            finish_json(result)
        return result


def _flag(value: bool | str, name: str) -> bool:
    """A yes/no option given as a bool or as text (``-O name=true`` arrives parsed, a config file may not)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise BackendError(f"{name} must be true or false, got {value!r}")


OFFICIAL_HOSTS = ("api.openai.com",)


def key_variable_for(base_url: str | None, api_key_env: str | None) -> str | None:
    """The environment variable whose key may go to ``base_url``: the one the user named, or
    ``OPENAI_API_KEY`` for api.openai.com only; ``None`` (no key) for any other host.

    >>> key_variable_for(None, None), key_variable_for("http://127.0.0.1:8000/v1", None)
    ('OPENAI_API_KEY', None)
    >>> key_variable_for("https://llm.example.com/v1", "EXAMPLE_KEY")
    'EXAMPLE_KEY'
    """
    if api_key_env:
        return api_key_env
    from urllib.parse import urlparse

    host = (urlparse(base_url).hostname or "") if base_url else OFFICIAL_HOSTS[0]
    return "OPENAI_API_KEY" if host in OFFICIAL_HOSTS else None


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
