"""How a per-item error reads in records and tables.

Example:
    >>> from rescap.errors import error_text
    >>> error_text(ValueError("not a readable image: a.png")), error_text(KeyError("x"))
    ('not a readable image: a.png', "KeyError: 'x'")
"""

from __future__ import annotations


def error_text(exc: BaseException) -> str:
    """The message alone for errors rescap raises about inputs (``ValueError``, ``OSError``: they
    read as sentences); anything else keeps its type, which is then the useful part."""
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, (ValueError, OSError, SentenceError)) else f"{type(exc).__name__}: {text}"


class SentenceError(RuntimeError):
    """An error whose message reads as a sentence on its own (shown without its type name)."""
