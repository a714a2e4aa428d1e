"""The HTML report opened in headless Chromium: a screenshot shows the images and the tables."""

import re
import subprocess

import numpy as np
from PIL import Image

from rescap.bench.report import THUMB_WIDTH
from tests.browser import chromium

HEADER_RGB = (0x1F, 0x3A, 0x5F)  # table header background in report.html.j2
ZEBRA_RGB = (0xEE, 0xF3, 0xFB)  # every other table row


def run_chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    base = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
            "--disable-dev-shm-usage", "--allow-file-access-from-files"]  # fmt: skip
    return subprocess.run([*base, *args], capture_output=True, text=True, timeout=timeout)


def rows_of_color(shot: np.ndarray, rgb, tolerance: int = 6) -> np.ndarray:
    """How many pixels of each screenshot row have this colour."""
    close = np.all(np.abs(shot[:, :, :3].astype(int) - np.array(rgb)) <= tolerance, axis=2)
    return close.sum(axis=1)


def bands_of(rows: np.ndarray, gap: int = 4) -> list[int]:
    """Heights of runs of rows (header text breaks a run for a row or two; that is still one band)."""
    heights: list[int] = []
    start = previous = None
    for row in rows:
        if previous is None or row - previous > gap:
            if start is not None:
                heights.append(previous - start + 1)
            start = row
        previous = row
    if start is not None:
        heights.append(previous - start + 1)
    return heights


def test_screenshot_shows_images_and_tables(bench_run, tmp_path):
    from skimage.feature import match_template

    out = bench_run["out"]
    report = out / "report.html"
    html = report.read_text()
    # self-contained: nothing is fetched from anywhere (namespace URIs inside SVG are not fetches)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)|url\(\s*["']?(https?:|//)|@import""", html)
    assert html.count('src="data:image/') >= 3 * 2 * 8
    shot_path = tmp_path / "shot.png"
    done = run_chromium(f"--screenshot={shot_path}", "--window-size=1400,7000", report.as_uri())
    assert shot_path.is_file(), done.stderr[-2000:]
    shot = np.asarray(Image.open(shot_path).convert("RGB"))

    # the tables: dark header rows (tall bands, not the 2 px rules under the headings) and zebra rows
    bands = bands_of(np.nonzero(rows_of_color(shot, HEADER_RGB) > 250)[0])
    assert len([b for b in bands if b >= 15]) >= 1 + 3  # the summary table and one table per good image
    assert (rows_of_color(shot, ZEBRA_RGB) > 300).sum() > 50

    # the images: each good image's input thumbnail is found, pixel for pixel, in the screenshot
    for name in ("astronaut", "coffee"):
        source = Image.open(out / "outputs" / name / "input.png").convert("RGB")
        thumb = source.resize((THUMB_WIDTH, round(source.height * THUMB_WIDTH / source.width)), Image.Resampling.LANCZOS)
        gray_shot = np.asarray(Image.fromarray(shot).convert("L"), dtype=np.float32)
        template = np.asarray(thumb.convert("L"), dtype=np.float32)
        score = match_template(gray_shot, template).max()
        assert score > 0.9, (name, score)
    # a restored output is on the page too (not only the inputs)
    restored = Image.open(out / "outputs" / "coffee" / "rescap-auto.png").convert("RGB")
    template = np.asarray(restored.resize((THUMB_WIDTH, THUMB_WIDTH), Image.Resampling.LANCZOS).convert("L"), dtype=np.float32)
    assert match_template(np.asarray(Image.fromarray(shot).convert("L"), dtype=np.float32), template).max() > 0.9


def test_every_image_decodes_in_the_browser(bench_run):
    report = bench_run["out"] / "report.html"
    done = run_chromium("--dump-dom", "--virtual-time-budget=5000", report.as_uri())
    dom = done.stdout
    assert 'data-images-loaded="' in dom, done.stderr[-2000:]
    loaded = dom.split('data-images-loaded="')[1].split('"')[0]
    ok, total = (int(x) for x in loaded.split("/"))
    # thumbnails and crops of 3 good images x (ground truth + input + 7 policies); the broken file has none
    assert total == ok and ok >= 3 * 2 * 8
    for policy in ("rescap-auto", "sidecar", "plain", "none"):
        assert f">{policy}<" in dom
    assert 'id="summary-table"' in dom and "<svg" in dom  # the summary table and the plots
