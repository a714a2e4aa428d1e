"""``rescap ui`` in a real browser: the app started as a user starts it (``rescap ui`` on
127.0.0.1, its output to a file), captioning through the OpenAI-compatible stand-in VLM (long,
length-ignoring answers, as real VLMs give), restoring with a tiny diffusers pipeline, and driven
by headless Chromium (Debian's, through playwright) the way a person uses it: upload, read, drag
the slider, type, click."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.browser import chromium
from tests.ui.processes import free_port, rescap

pytest.importorskip("gradio")
sync_api = pytest.importorskip("playwright.sync_api")

from rescap.adapters import get_adapter  # noqa: E402
from rescap.captioning.prompt_record import prompt_record  # noqa: E402
from rescap.testing.openai_standin import StandInServer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "examples" / "images" / "coffee_q30.jpg"  # JPEG quality 30: a severe degradation, a rich auto caption
CLEAN = ROOT / "examples" / "images" / "astronaut_clean.png"  # never compressed
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def standin():
    with StandInServer() as server:
        yield server


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from rescap.testing.tiny_diffusers import build_tiny_pipeline

    return build_tiny_pipeline("img2img", tmp_path_factory.mktemp("pipe") / "img2img")


@pytest.fixture(scope="module")
def app(standin, pipeline, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("ui") / "ui.log"
    root = tmp_path_factory.mktemp("batch-root")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [rescap(), "ui", "--vlm", "openai:standin-vlm", "--base-url", standin.url, "--restorer", "supir", "--port", str(port),
            "--restorer-model", str(pipeline), "--batch-root", str(root), "--backend-option", "max_retries=1"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while True:
        if proc.poll() is not None:
            pytest.fail(f"rescap ui exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if time.time() > deadline:
                proc.kill()
                pytest.fail(f"rescap ui did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
    yield {"url": url, "log": log, "port": port, "root": root}
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("rescap ui did not stop on Ctrl-C")
    assert code == 0, log.read_text()[-2000:]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        )  # fmt: skip
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, app):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(WAIT_MS)
    off_server = []
    page.on("request", lambda r: off_server.append(r.url) if not r.url.startswith((app["url"], "data:", "blob:")) else None)
    page.goto(app["url"])
    page.wait_for_selector("#rescap-upload")
    yield page
    page.close()
    assert not off_server, off_server  # the page asks nothing of any other host (no fonts, no analytics)


def _upload(page, *paths) -> str:
    page.set_input_files("#rescap-upload input[type=file]", [str(p) for p in paths])
    page.wait_for_function("() => document.querySelector('#rescap-caption textarea')?.value?.length > 0")
    page.wait_for_selector("#rescap-strings")
    return page.input_value("#rescap-caption textarea")


def _tokens(page) -> list[dict]:
    return page.locator("#rescap-strings span.tokens").evaluate_all(
        "els => els.map(e => ({restorer: e.dataset.restorer, slot: e.dataset.slot, tokens: +e.dataset.tokens, usable: +e.dataset.usable}))"
    )


def _status(page) -> str:
    """The status line once no event is running on it (Gradio's progress text sits in the same
    element while one is)."""
    page.wait_for_function(
        "() => { const t = document.querySelector('#rescap-status [data-testid=status-tracker]'); return !t || t.classList.contains('hide'); }"
    )
    return page.inner_text("#rescap-status").strip()


def _status_tokens(page) -> int:
    text = _status(page)
    return int(text.split("caption: ")[1].split(" tokens")[0])


def _not_blank(path: Path) -> None:
    shot = np.asarray(Image.open(path).convert("RGB"))
    assert shot.std() > 20, "the screenshot is nearly one colour"
    assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 200  # text, bars, the photo


def _adapter(name: str, pipeline: Path):
    """The adapter as the app has it: the diffusers one counts with the pipeline's own tokenizers."""
    adapter = get_adapter(name)
    if name == "diffusers":
        adapter.use_folder(pipeline)
    return adapter


def test_upload_read_the_caption_and_counts_then_move_the_slider(page, pipeline, tmp_path):
    caption = _upload(page, PHOTO)
    # the report, each step's answer, the strings of the restorers shown
    assert page.locator("#rescap-report tr[data-quantity]").count() == 8
    assert page.locator("#rescap-report tr[data-quantity='JPEG q'][data-level='severe']").count() == 1
    assert [s.get_attribute("data-step") for s in page.locator("#rescap-steps tr").all()] == ["degradation", "content", "caption"]
    shown = _tokens(page)
    assert {t["restorer"] for t in shown} >= {"supir"}
    for t in shown:  # what the page shows is each restorer's prompt record for the caption on the page
        record = prompt_record(_adapter(t["restorer"], pipeline), caption)
        slot = next(s for s in record["slots"] if s["argument"] == t["slot"])
        assert (t["tokens"], t["usable"]) == (slot["tokens"], slot["usable"]), t
    positive = page.locator("#rescap-strings .restorer[data-restorer='supir'] [data-slot='prompt'] .text").inner_text()
    try:
        import open_clip
    except ImportError:
        open_clip = None
    if open_clip is not None:  # and CLIP's reference tokenizer agrees with the count shown
        supir = next(t for t in shown if t["restorer"] == "supir")
        assert supir["tokens"] == int((open_clip.tokenize([positive])[0] != 0).sum()) - 2
    before = _status_tokens(page)
    # a person drags the slider low (a click on its track): only the caption is redone, shorter
    track = page.locator("#rescap-richness input[type=range]")
    box = track.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.12, box["y"] + box["height"] / 2)
    page.wait_for_function("(old) => { const v = document.querySelector('#rescap-caption textarea')?.value; return v !== undefined && v !== old; }", arg=caption)
    page.wait_for_function("() => document.querySelector('#rescap-status')?.innerText?.includes('richness ')")
    richness = int(page.input_value("#rescap-richness input[type=number]"))
    shorter = page.input_value("#rescap-caption textarea")
    assert 0 < richness < before, (richness, before)
    assert _status_tokens(page) <= richness and len(shorter) < len(caption), (richness, shorter)
    if open_clip is not None:
        assert int((open_clip.tokenize([shorter])[0] != 0).sum()) - 2 <= richness
    shot = tmp_path / "ui.png"
    page.screenshot(path=str(shot), full_page=True)
    _not_blank(shot)


def test_the_edited_caption_is_rechecked_as_it_is_typed(page):
    _upload(page, PHOTO)
    box = page.locator("#rescap-caption textarea")
    box.fill("")
    box.press_sequentially("A blurry, noisy photo of None on a saucer", delay=15)
    page.wait_for_selector("#rescap-strings .restorer[data-restorer='supir'] [data-warning]")
    warnings = page.locator("#rescap-strings .restorer[data-restorer='supir'] [data-warning]").evaluate_all("els => els.map(e => e.dataset.warning)")
    assert any('"None"' in w for w in warnings), warnings
    assert any("degradation" in w and "blurry" in w and "noisy" in w for w in warnings), warnings
    # longer than SUPIR's window: the quality prompt gives way first, then caption phrases are cut
    box.fill("")
    long = ", ".join(f"a {c} cup on a {c} saucer beside a {c} spoon" for c in ("red", "white", "blue", "green", "black", "grey", "brown"))
    box.press_sequentially(long, delay=2)
    page.wait_for_selector("#rescap-strings .restorer[data-restorer='supir'] [data-cut]")
    quality = page.locator("#rescap-strings .restorer[data-restorer='supir'] .quality")
    assert quality.get_attribute("data-quality-trimmed")
    tokens = next(t for t in _tokens(page) if t["restorer"] == "supir")
    assert tokens["tokens"] <= tokens["usable"]


def test_a_bad_file_gets_its_own_error_and_the_good_one_its_caption(page, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a JPEG")
    _upload(page, PHOTO, broken)
    page.click("#rescap-chosen input")
    page.get_by_role("option", name="broken.jpg").click()
    page.wait_for_function("() => document.querySelector('#rescap-status')?.innerText?.includes('broken.jpg')")
    status = _status(page)
    assert status.startswith("broken.jpg could not be read: ") and "\n" not in status.strip(), status
    page.click("#rescap-chosen input")
    page.get_by_role("option", name=PHOTO.name).click()
    page.wait_for_function("() => document.querySelector('#rescap-status')?.innerText?.startsWith('caption:')")


def _windows(side: int, size: int, stride: int) -> list[int]:
    """SUPIR's tile starts along one side (SUPIR/util.py at its pinned commit, _sliding_windows:
    range(0, side - size + 1, stride), plus a last tile flush with the edge)."""
    starts = list(range(0, side - size + 1, stride))
    if starts[-1] + size < side:
        starts.append(side - size)
    return starts


def test_tile_captions_are_drawn_over_the_image(page):
    _upload(page, PHOTO)
    page.get_by_role("tab", name="Tiles").click()
    page.fill("#rescap-tile-size input", "128")
    page.fill("#rescap-tile-stride input", "96")
    page.click("#rescap-tile-button")
    page.wait_for_function("() => document.querySelector('#rescap-tile-note')?.innerText?.includes('tiles of 128 px')")
    width, height = Image.open(PHOTO).size
    expected = len(_windows(width, 128, 96)) * len(_windows(height, 128, 96))
    assert page.inner_text("#rescap-tile-note").startswith(f"{PHOTO.name}: {expected} tiles of 128 px, stride 96 px")
    page.wait_for_selector("#rescap-tile-image img")
    assert page.locator("#rescap-tile-table").inner_text().count("128x128") == expected


def test_restore_shows_before_and_after(page):
    _upload(page, PHOTO)
    page.get_by_role("tab", name="Restore").click()
    page.fill("#rescap-restore-steps input", "2")  # a tiny pipeline, two steps: seconds on a CPU
    page.click("#rescap-restore-button")
    page.wait_for_function("() => document.querySelector('#rescap-restore-note')?.innerText?.includes('restored in')")
    assert page.locator("#rescap-compare img").count() == 2
    note = page.inner_text("#rescap-restore-note")
    assert "the pipeline got prompt:" in note  # the strings sent, cut to the pipeline's own window


def test_batch_recaptions_a_folder_with_progress(page, app, standin):
    folder = app["root"] / "photos"
    folder.mkdir()
    for n in range(3):
        Image.open(PHOTO).save(folder / f"cup{n}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG truncated")
    out = app["root"] / "captions" / "records.jsonl"
    page.get_by_role("tab", name="Batch").click()
    source = page.locator("#rescap-batch-source textarea, #rescap-batch-source input").first
    target = page.locator("#rescap-batch-output textarea, #rescap-batch-output input").first
    source.fill("photos")  # relative to --batch-root
    target.fill("captions/records.jsonl")
    page.click("#rescap-batch-button")
    page.wait_for_selector("#rescap-batch[data-state='done']")
    batch = page.locator("#rescap-batch")
    assert (batch.get_attribute("data-done"), batch.get_attribute("data-failed")) == ("3", "1")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["file"], r["status"]) for r in records) == [("broken.png", "error"), ("cup0.png", "ok"), ("cup1.png", "ok"), ("cup2.png", "ok")]
    page.click("#rescap-batch-button")  # again: everything is recorded, nothing is redone
    page.wait_for_selector("#rescap-batch[data-state='done'][data-skipped='4']")
    assert len(out.read_text().splitlines()) == 4
    # a path outside the root: one line, nothing read
    source.fill("/etc")
    page.click("#rescap-batch-button")
    page.wait_for_selector("#rescap-batch[data-state='error']")
    assert "outside" in page.inner_text("#rescap-batch")
    # the VLM down: the page says the images were not captioned and how to finish, never "done"
    Image.open(PHOTO).save(folder / "cup3.png")
    source.fill("photos")
    standin.down = True
    try:
        page.click("#rescap-batch-button")
        page.wait_for_selector("#rescap-batch[data-state='incomplete']")
    finally:
        standin.down = False
    text = page.inner_text("#rescap-batch")
    assert "could not be reached" in text or "unreachable" in text, text
    assert "press Re-caption again" in text
    page.click("#rescap-batch-button")
    page.wait_for_selector("#rescap-batch[data-state='done'][data-done='1']")
    assert len(out.read_text().splitlines()) == 5


def test_switching_photos_shows_the_picked_photos_results(page):
    _upload(page, PHOTO, CLEAN)
    jpeg = "#rescap-report tr[data-quantity='JPEG q']"
    assert page.locator(jpeg).get_attribute("data-level") == "severe"  # the first photo, coffee at quality 30
    first_caption = page.input_value("#rescap-caption textarea")
    page.click("#rescap-chosen input")
    page.get_by_role("option", name=CLEAN.name).click()
    page.wait_for_function(f"() => document.querySelector(\"{jpeg}\")?.dataset?.level === 'none'")
    assert page.input_value("#rescap-caption textarea") != first_caption
    assert CLEAN.name in (page.locator("#rescap-preview img").get_attribute("src") or "")
    page.click("#rescap-chosen input")
    page.get_by_role("option", name=PHOTO.name).click()
    page.wait_for_function(f"() => document.querySelector(\"{jpeg}\")?.dataset?.level === 'severe'")
    assert page.input_value("#rescap-caption textarea") == first_caption  # made once, shown again


def test_a_vlm_failure_passes_and_the_keyboard_moves_the_slider(page, standin):
    standin.down = True
    try:
        page.set_input_files("#rescap-upload input[type=file]", [str(PHOTO)])
        page.wait_for_function("() => document.querySelector('#rescap-status')?.innerText?.includes('retry')")
    finally:
        standin.down = False
    assert "cannot reach" in _status(page)
    assert page.locator("#rescap-report tr[data-quantity]").count() == 8  # the measurement stands without the model
    track = page.locator("#rescap-richness input[type=range]")
    track.focus()
    for _ in range(12):
        track.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('#rescap-status')?.innerText?.startsWith('caption:')")
    richness = int(page.input_value("#rescap-richness input[type=number]"))
    assert richness == 12 and _status_tokens(page) <= richness
    assert [s.get_attribute("data-step") for s in page.locator("#rescap-steps tr").all()] == ["degradation", "content", "caption"]


def test_the_pipelines_own_tokenizers_count_at_every_richness(pipeline):
    """With --restorer-model, every diffusers captioner the app makes (one per richness) counts with
    the pipeline's tokenizer and has its budget, not CLIP's defaults."""
    from tokenizers import Tokenizer

    from rescap.serve.settings import ServeSettings
    from rescap.ui.work import UiWork

    reference = Tokenizer.from_file(str(Path(pipeline) / "tokenizer" / "tokenizer.json"))  # the tokenizers library on the saved file
    text = "A white porcelain cup of espresso with golden crema on a glossy red saucer"
    expected = len(reference.encode(text, add_special_tokens=False).ids)
    # the restorer spelt as a user might: one adapter whatever the case
    work = UiWork.start(ServeSettings(vlm=None, restorer=" Diffusers", estimate_workers=0), restorer_model=str(pipeline))
    assert get_adapter("diffusers").counter.count(text) != expected  # the tiny vocabulary differs from CLIP's: the test can tell
    budgets = set()
    for restorer, richness in (("diffusers", "auto"), ("diffusers", 30), ("DIFFUSERS", 8), (None, 12)):
        captioner = work.service.captioner(restorer, richness)
        assert captioner.adapter.counter.count(text) == expected, richness
        budgets.add(captioner.budget)
    assert budgets == {work.budget("diffusers")}
    assert work.service.default.adapter.counter.count(text) == expected
    work.close()
