"""``rescap ui`` as a command: started with a terminal attached and stdout to a file, it says where
it serves, serves there (127.0.0.1 only), and Ctrl-C or SIGTERM stops it with status 0; a taken port and a
missing extra are one ``error:`` line each."""

from __future__ import annotations

import os
import pty
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.ui.processes import free_port, rescap

pytest.importorskip("gradio")


def _read_all(fd: int) -> bytes:
    seen = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return seen
        if not chunk:
            return seen
        seen += chunk


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serves_on_this_machine_only_and_stops_cleanly(stop, tmp_path):
    port = free_port()
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "TERM": "xterm-256color", "OMP_NUM_THREADS": "1"}
    env.pop("CI", None)
    with (tmp_path / "stdout.txt").open("wb") as out:
        proc = subprocess.Popen([rescap(), "ui", "--no-vlm", "--restorer", "hypir", "--port", str(port)],
                                stdin=follower, stdout=out, stderr=follower, env=env)  # fmt: skip
    os.close(follower)
    try:
        deadline = time.time() + 120
        while True:
            assert proc.poll() is None, _read_all(leader).decode(errors="replace")
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read().decode()
                break
            except OSError:
                assert time.time() < deadline, "rescap ui did not start"
                time.sleep(0.5)
        assert "<title>rescap</title>" in page or "rescap" in page
        # bound to 127.0.0.1: another address of this machine is refused
        others = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
        for address in others:
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
        proc.send_signal(stop)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    terminal = _read_all(leader).decode(errors="replace")
    os.close(leader)
    assert code == 0, terminal[-2000:]
    assert f"rescap ui: http://127.0.0.1:{port}" in terminal
    assert "none (degradation-only prompts)" in terminal


def test_a_taken_port_is_one_error_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([rescap(), "ui", "--no-vlm", "--port", str(port)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 1, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(port) in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_without_gradio_it_names_the_extra():
    probe = "import sys; sys.modules['gradio'] = None; sys.argv = ['rescap', 'ui', '--no-vlm']; from rescap.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: gradio is not installed; it comes with the 'ui' extra: pip install 'rescap[ui]'"]
