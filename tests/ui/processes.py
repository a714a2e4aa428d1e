"""Starting ``rescap ui`` as a user does, for the app's tests: its command and a free port."""

from __future__ import annotations

import socket
import sys
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rescap() -> str:
    """The ``rescap`` script of this environment."""
    return str(Path(sys.executable).with_name("rescap"))
