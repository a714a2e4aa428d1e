"""The ``rescap`` command line. Heavy libraries load inside the commands that need them."""

from __future__ import annotations


def main() -> None:
    """Entry point of the ``rescap`` console script."""
    from .app import app

    app()
