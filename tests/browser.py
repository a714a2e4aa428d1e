"""Debian's Chromium for the tests that open a page (the bench report, the ``rescap ui`` app)."""

from __future__ import annotations

import os
import shutil

import pytest


def chromium() -> str:
    """The Chromium binary; CI must have it (``apt-get install chromium``), elsewhere the test skips."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("CI must have Debian's chromium installed (apt-get install chromium)")
    pytest.skip("no chromium on this machine")
