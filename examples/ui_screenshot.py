"""Start ``rescap ui``, open it in headless Chromium, upload a photo and save a screenshot.

The VLM is rescap's OpenAI-compatible stand-in (``rescap.testing.openai_standin``), told what to
answer, so this runs on any machine; point ``--vlm``/``--base-url`` at a real server for real
captions. Needs ``pip install 'rescap[ui]' playwright`` and a Chromium (Debian: ``apt-get install
chromium``; playwright's own browser download is not needed).

    python examples/ui_screenshot.py rescap-ui.png [photo]
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from rescap.testing.openai_standin import StandInServer

HERE = Path(__file__).resolve().parent
CAPTION = ("A white porcelain cup of espresso with a thick layer of golden-brown crema on a glossy red saucer, a small "
           "silver spoon resting beside the cup, on a dark walnut table, warm light from the left")  # fmt: skip


def main(target: str, photo: str = str(HERE / "images" / "coffee_q30.jpg")) -> None:
    browser_path = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if browser_path is None:
        sys.exit("error: no Chromium found (Debian: apt-get install chromium)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with StandInServer(captions=[CAPTION]) as vlm:
        app = subprocess.Popen([str(Path(sys.executable).with_name("rescap")), "ui", "--vlm", "openai:standin-vlm", "--base-url", vlm.url,
                                "--restorer", "supir", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/"
            for _ in range(600):
                if app.poll() is not None:
                    sys.exit(f"error: rescap ui exited: {app.stderr.read().decode()[-1000:]}")
                try:
                    urllib.request.urlopen(url, timeout=1)
                    break
                except OSError:
                    time.sleep(0.3)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
                page = browser.new_page(viewport={"width": 1400, "height": 1300})
                page.goto(url)
                page.set_input_files("#rescap-upload input[type=file]", photo)
                page.wait_for_function("() => document.querySelector('#rescap-status')?.innerText?.startsWith('caption:')", timeout=120_000)
                page.wait_for_timeout(500)  # the last fade-in
                page.screenshot(path=target)
                browser.close()
        finally:
            app.terminate()
            app.wait(30)
    print(f"screenshot: {target}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(*sys.argv[1:3])
