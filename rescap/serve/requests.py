"""Reading images and text out of requests: data URLs, base64, uploads, and (only when the server
was started with ``--images-dir``) files inside that one folder. Remote URLs are never fetched:
a server that fetched them could be made to reach hosts it should not (SSRF) or read its own
files.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlparse


class RequestError(Exception):
    """A request the server refuses: ``status`` (4xx), one clear ``message``, an OpenAI error ``kind``."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.headers = headers or {}


_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?)(?P<b64>;base64)?,(?P<data>.*)$", re.S)


def decode_base64(text: str, what: str = "image") -> bytes:
    """Bytes of a base64 string (whitespace and missing padding tolerated), or a 400."""
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, f"the {what} is not valid base64") from None


def image_bytes(reference: str, images_dir: Path | None, max_bytes: int | None = None) -> bytes:
    """The image a request names: a ``data:`` URL, bare base64, or a path under ``images_dir``.

    Example:
        >>> image_bytes("data:image/png;base64,aGk=", None)
        b'hi'
    """
    ref = reference.strip()
    if ref.startswith("data:"):
        match = _DATA_URL.match(ref)
        if not match:
            raise RequestError(400, "malformed data URL (expected data:image/...;base64,...)")
        if match.group("b64"):
            return decode_base64(match.group("data"))
        return unquote_to_bytes(match.group("data"))
    scheme = urlparse(ref).scheme.lower()
    if scheme in ("http", "https", "ftp", "s3", "gs"):
        raise RequestError(400, "remote image URLs are not fetched: send the image itself, as a data URL (data:image/png;base64,...) or an upload")
    if scheme == "file" or "." in ref[-16:]:  # base64 has no "."; a file name has its extension
        return _server_file(unquote(urlparse(ref).path) if scheme == "file" else ref, images_dir, max_bytes)
    return decode_base64(ref)


def _server_file(path: str, images_dir: Path | None, max_bytes: int | None = None) -> bytes:
    if images_dir is None:
        raise RequestError(400, "server-side paths are not read (start the server with --images-dir to allow one folder); send the image itself")
    if "\x00" in path or len(path) > 1024:
        raise RequestError(400, "not a usable file name")
    root = images_dir.resolve()
    try:
        target = (root / path.lstrip("/")).resolve() if not Path(path).is_absolute() else Path(path).resolve()
        if not target.is_relative_to(root):
            raise RequestError(403, "that path is outside the folder the server may read", "permission_error")
        if not target.is_file():
            raise RequestError(404, f"no such image in the images folder: {target.relative_to(root)}", "not_found_error")
        if max_bytes is not None and target.stat().st_size > max_bytes:
            raise RequestError(413, f"that file is over the server's limit of {max_bytes:,} bytes", "request_too_large")
        return target.read_bytes()
    except OSError:
        raise RequestError(400, "that file cannot be read") from None


def chat_image_and_text(messages: Any, images_dir: Path | None) -> tuple[bytes, str]:
    """The one image and the user's text of an OpenAI chat request (``messages``)."""
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "'messages' must be a non-empty list")
    images: list[bytes] = []
    texts: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            raise RequestError(400, "each message must be an object with 'role' and 'content'")
        if message.get("role") != "user":
            continue  # system prompts and earlier answers do not change rescap's caption
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(parts, list):
            raise RequestError(400, "a message's 'content' must be a string or a list of parts")
        for part in parts:
            if not isinstance(part, dict):
                raise RequestError(400, "each content part must be an object")
            kind = part.get("type")
            if kind == "text":
                text = part.get("text", "")
                if not isinstance(text, str):
                    raise RequestError(400, "a text part's 'text' must be a string")
                texts.append(text)
            elif kind in ("image_url", "input_image", "image"):
                url = part.get("image_url", part.get("url", part.get("image")))
                url = url.get("url") if isinstance(url, dict) else url
                if not isinstance(url, str) or not url:
                    raise RequestError(400, "an image part must carry image_url.url")
                images.append(image_bytes(url, images_dir))
    if not images:
        raise RequestError(400, "the request carries no image: add a user content part {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/...;base64,...\"}}")
    if len(images) > 1:
        raise RequestError(400, f"one image per request ({len(images)} given): send one request per image")
    return images[0], " ".join(t.strip() for t in texts if t.strip())


# The text of a chat request is often the client's own captioning instruction (HYPIR's demo asks
# "Provide a detailed description of this image without exceeding 100 words and without line
# breaks."). Merging that into the caption would put an instruction into the restorer's prompt,
# so text that asks for a description is taken as the request itself; any other text (what the
# user knows about the photo: "my grandmother's garden in 1962") is merged as --prompt is.
_INSTRUCTION = re.compile(
    r"^\s*(please\s+)?(describe|provide|give|write|generate|create|caption|produce|tell|explain|list|summari[sz]e|"
    r"what|who|which|how|can you|could you|would you|you are|as an?|analy[sz]e|look at|output|return|make)\b"
    r"|\b(this|the|attached|following|given)\s+(image|photo|picture|photograph)\b|\?\s*$",
    re.I,
)


def user_text_to_merge(text: str) -> str | None:
    """The user's text to merge with the caption, or None when it is a captioning instruction.

    Example:
        >>> user_text_to_merge("Provide a detailed description of this image without line breaks.") is None
        True
        >>> user_text_to_merge("my grandmother's garden in 1962")
        "my grandmother's garden in 1962"
    """
    text = text.strip()
    if not text or _INSTRUCTION.search(text):
        return None
    return text
