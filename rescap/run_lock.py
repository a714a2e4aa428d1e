"""One run per output: a second rescap process writing to the same output is refused with a clear
message, instead of interleaving its records with the first's.

The lock is an OS file lock (``flock``) on a small file beside the output, holding the owner's pid,
host and start time for the message. The operating system releases it when its process ends,
however it ends (``kill -9`` included), so a lock left by a dead run is never in the way: there
is no stale lock to clean up. Where ``flock`` is not available, the file is created exclusively
and a leftover one is taken over when its pid is no longer running on this host.

Example:
    >>> import tempfile, pathlib
    >>> from rescap.run_lock import RunLock, OutputLocked
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with RunLock(folder / ".rescap.lock"):
    ...     try:
    ...         RunLock(folder / ".rescap.lock").acquire()
    ...     except OutputLocked as exc:
    ...         print("refused")
    refused
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class OutputLocked(RuntimeError):
    """Another live run holds the output."""


class RunLock:
    def __init__(self, path: Path, what: str | None = None):
        self.path = Path(path)
        self.what = what or str(self.path.parent)
        self._fd: int | None = None

    def _owner(self) -> str:
        try:
            owner = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return "another rescap run"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner.get("started", 0)))
        return f"another rescap run (pid {owner.get('pid', '?')} on {owner.get('host', '?')}, since {since})"

    def _refuse(self) -> OutputLocked:
        return OutputLocked(
            f"{self._owner()} is writing to {self.what}: wait for it to finish, or choose another output "
            f"(a run that was killed holds nothing: this lock is released when its process ends)"
        )

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is not None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise self._refuse() from None
        else:  # pragma: no cover - no flock: exclusive creation, a dead owner's file taken over
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                if self._owner_alive():
                    raise self._refuse() from None
                self.path.unlink(missing_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}).encode())
        self._fd = fd
        return self

    def _owner_alive(self) -> bool:  # pragma: no cover - the no-flock path
        try:
            owner = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return False
        if owner.get("host") != socket.gethostname():
            return True  # another machine's run: cannot tell, so it counts as alive
        try:
            os.kill(int(owner.get("pid", 0)), 0)
            return True
        except (OSError, ValueError):
            return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock; the file stays, harmless
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_for(output: Path, is_file: bool = False) -> RunLock:
    """The lock of an output folder (``.rescap.lock`` in it) or of an output file (``.<name>.lock`` beside it)."""
    output = Path(output).resolve()  # two spellings of one output (a symlink, a relative path) are one lock
    if is_file:
        return RunLock(output.with_name(f".{output.name}.lock"), str(output))
    return RunLock(output / ".rescap.lock", str(output))


_HELD: list[RunLock] = []


def hold(lock: RunLock) -> RunLock:
    """Acquire ``lock`` for the rest of this command (the CLI releases it when the command ends)."""
    lock.acquire()
    _HELD.append(lock)
    return lock


def release_held() -> None:
    while _HELD:
        _HELD.pop().release()
