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


def one_line(exc: BaseException, with_type: bool = False, limit: int | None = None) -> str:
    """An error on one line: a pydantic validation error as its first problem and where
    (``caption: Input should be a valid string``), anything else as its text (after its type
    name with ``with_type``), whitespace collapsed, cut to ``limit`` characters if given.

    >>> one_line(ValueError("two\\nlines")), one_line(KeyError("x"), with_type=True)
    ('two lines', "KeyError: 'x'")
    """
    errors = getattr(exc, "errors", None)
    if type(exc).__name__ == "ValidationError" and callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "the value"
        return f"{where}: {first.get('msg', exc)}"[:limit]
    text = f"{type(exc).__name__}: {exc}" if with_type else str(exc)
    return " ".join(text.split())[:limit]


class SentenceError(RuntimeError):
    """An error whose message reads as a sentence on its own (shown without its type name)."""
