"""What ``rescap ui`` computes and shows, without a browser: the work on a scripted VLM that
answers long (as real ones do), and the HTML and tile grid the page shows."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from rescap.adapters import get_adapter
from rescap.captioning.prompt_record import prompt_record
from rescap.degradation.estimate import estimate_degradation
from rescap.serve.settings import ServeSettings
from rescap.testing.scripted import ScriptedBackend
from rescap.ui import views
from rescap.ui.work import UiError, UiWork

LONG = ("A red fox with a thick winter coat stands in deep fresh snow at the edge of a pine forest, its breath visible, "
        "frost on its whiskers, pine branches heavy with snow behind it, a frozen stream winding through the clearing, "
        "low golden sunlight catching the tips of its fur and long blue shadows across the snow")  # fmt: skip


def _answer(prompt, step):
    if step == "degradation":
        return json.dumps({"assessment": "fine grain", "noise": "mild", "blur": "none", "compression": "none", "resolution": "none", "other": []})
    if step == "content":
        return json.dumps({"scene": "a fox in snow", "subjects": [{"name": "fur", "area": "large", "category": "benefits_from_detail"}]})
    return json.dumps({"caption": LONG})


@pytest.fixture()
def scripted_work(tmp_path):
    backend = ScriptedBackend(_answer)
    work = UiWork.start(ServeSettings(vlm=None, restorer="supir", estimate_workers=0, relevance="off"), backend=backend, batch_root=tmp_path)
    yield work, backend
    work.close()


@pytest.fixture()
def photo(tmp_path, astronaut):
    path = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    return path


class _Cells(HTMLParser):
    """Text of each table row (a reference HTML parser, not the views' own strings)."""

    def __init__(self):
        super().__init__()
        self.rows, self._row = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = {"attrs": dict(attrs), "cells": []}
        elif tag == "td" and self._row is not None:
            self._row["cells"].append("")

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._row is not None and self._row["cells"]:
            self._row["cells"][-1] += data


def test_the_slider_reruns_only_the_caption_step_and_caps_it(scripted_work, photo):
    work, backend = scripted_work
    measured = work.measure(str(photo), "astronaut.png")
    item = work.analyse([measured], "supir")[0]
    assert [s.step for s in item.trace] == ["degradation", "content"]
    assert measured.trace == [] and measured.assessment is None  # the measured photo is left as it was
    counter = get_adapter("supir").counter
    lengths = {}
    for richness in (0, 30, 8):
        bundle = work.caption([item], "supir", richness)[0]
        lengths[richness] = counter.count(bundle.caption)
        if richness:
            assert lengths[richness] <= richness, (richness, bundle.caption)
        assert [s.step for s in bundle.trace] == ["degradation", "content", "caption"]  # each step's answer, for the page
    assert lengths[8] < lengths[30]
    # the analysis ran once; each richness asked the model for its caption only
    assert [step for step, _ in backend.calls] == ["degradation", "content", "caption", "caption", "caption"]


def test_a_failed_analysis_is_not_kept(photo):
    down = {"steps": 1}

    def flaky(prompt, step):
        if down["steps"] > 0:  # the first call fails, as a server down for a moment does
            down["steps"] -= 1
            return None
        return _answer(prompt, step)

    work = UiWork.start(ServeSettings(vlm=None, restorer="supir", estimate_workers=0), backend=ScriptedBackend(flaky))
    measured = work.measure(str(photo), "astronaut.png")
    failed = work.analyse([measured], "supir")[0]
    assert failed.failure is not None and failed.failure.stage.startswith("vlm:")
    assert measured.failure is None
    again = work.analyse([measured], "supir")[0]
    assert again.failure is None and work.caption([again], "supir", 0)[0].caption


def test_tiles_take_the_caption_shown_as_their_context(scripted_work, photo):
    work, backend = scripted_work
    item = work.analyse([work.measure(str(photo), "astronaut.png")], "supir")[0]
    whole = work.caption([item], "supir", 0)[0].model_copy(update={"caption": "An astronaut in a white suit, edited by hand"})
    calls = len(backend.calls)
    tiled = work.tiles(str(photo), whole, "supir", 0, 128, 128)
    assert len(tiled.tiles) == 4 and tiled.bundle.caption == whole.caption
    assert [step for step, _ in backend.calls[calls:]] == ["content", "caption"]  # the tiles' steps only, in one batch each
    assert any("edited by hand" in p for p in backend.prompts[-len(tiled.tiles):])
    for size, stride, words in ((None, 64, "enter a number"), (128, 512, "between 1 and the size"), (4, 2, "at least 8")):
        with pytest.raises(UiError, match=words):
            work.tiles(str(photo), whole, "supir", 0, size, stride)


def test_the_strings_are_each_restorers_prompt_record_with_the_measured_negative(scripted_work, photo):
    work, _ = scripted_work
    report = estimate_degradation(str(photo))
    records = work.strings("A red fox in the snow", report, ["supir", "hypir", "dreamclear"])
    assert [r["restorer"] for r in records] == ["supir", "hypir", "dreamclear"]
    for record in records:
        adapter = get_adapter(record["restorer"])
        assert record["caption"].startswith("A red fox in the snow")
        assert record["negative_prompt"].startswith(adapter.negative_prompt.split(",")[0]) or not adapter.negative_prompt
    with pytest.raises(UiError, match="unknown|no such|nonesuch"):
        work.strings("x", None, ["nonesuch"])


def test_restore_without_a_pipeline_says_how(scripted_work, photo):
    work, _ = scripted_work
    assert not work.can_restore
    with pytest.raises(UiError, match="--restorer-model"):
        work.restore(str(photo), "a caption", None)


def test_a_folder_is_recaptioned_resumably_with_bad_files_recorded(scripted_work, photo, tmp_path):
    work, _ = scripted_work
    folder = tmp_path / "folder"
    folder.mkdir()
    for n in range(2):
        Image.open(photo).save(folder / f"good{n}.png")
    (folder / "broken.jpg").write_bytes(b"not an image at all")
    seen = []
    summary, target = work.recaption("folder", "out/", "supir", on_progress=lambda done, total: seen.append((done, total)))
    assert target == tmp_path / "out" / "records.jsonl"  # a folder named with a slash: records.jsonl in it, as rescap recaption
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert sorted(r["file"] for r in records) == ["broken.jpg", "good0.png", "good1.png"]
    assert {r["file"]: r["status"] for r in records}["broken.jpg"] == "error"
    assert (summary.done, summary.failed) == (2, 1)
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    again, _ = work.recaption(str(folder), str(target), "supir")  # absolute paths inside the root work too
    assert (again.done, again.skipped) == (0, 3)
    assert len(target.read_text().splitlines()) == 3  # nothing twice
    assert again.messages(target)[0][1].startswith("done 0, skipped 3 (already recorded), failed 0")


def test_the_batch_stays_inside_its_root_and_says_what_is_wrong(scripted_work, tmp_path):
    work, _ = scripted_work
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("API_KEY=sk-not-for-the-page\n")
    cases = [
        ("", "out.jsonl", "folder: enter a path"),
        ("empty", "", "output: enter a path"),
        ("missing", "out.jsonl", "no such folder"),
        ("notes.txt", "out.jsonl", "no such folder"),  # a folder only: never a file's lines echoed back
        ("../..", "out.jsonl", "outside"),
        ("/etc", "out.jsonl", "outside"),
        ("empty", "../elsewhere.jsonl", "outside"),
        ("empty", "notes.txt", "name a .jsonl file"),
        ("empty", "out.jsonl", "no image files found in empty"),
    ]
    for source, output, words in cases:
        with pytest.raises(UiError, match=re.escape(words)):
            work.recaption(source, output, "supir")
    assert (tmp_path / "notes.txt").read_text() == "API_KEY=sk-not-for-the-page\n"
    # an existing .jsonl that is not rescap's records (a manifest) is never appended to or cut
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (64, 64), (90, 120, 60)).save(tmp_path / "photos" / "a.png")
    manifest = '{"path": "photos/a.png"}\n{"path": "photos/b.png"}'
    (tmp_path / "manifest.jsonl").write_text(manifest)
    with pytest.raises(UiError, match="not rescap's records"):
        work.recaption("photos", "manifest.jsonl", "supir")
    assert (tmp_path / "manifest.jsonl").read_text() == manifest
    # an image linked from outside the root is not read
    outside = tmp_path.parent / f"{tmp_path.name}-outside.png"
    Image.new("RGB", (64, 64), (200, 10, 10)).save(outside)
    (tmp_path / "photos" / "linked.png").symlink_to(outside)
    summary, target = work.recaption("photos", "records.jsonl", "supir")
    assert [json.loads(line)["file"] for line in target.read_text().splitlines()] == ["a.png"]
    off = UiWork.start(ServeSettings(vlm=None, restorer="supir", estimate_workers=0))
    with pytest.raises(UiError, match="--batch-root"):
        off.recaption("empty", "out.jsonl", "supir")


def test_the_report_shows_every_quantity_with_its_confidence(photo):
    report = estimate_degradation(str(photo))
    parser = _Cells()
    parser.feed(views.report_html(report))
    rows = {r["attrs"]["data-quantity"]: r for r in parser.rows if "data-quantity" in r["attrs"]}
    fields = {"noise σ": "noise", "blur σ": "blur", "JPEG q": "jpeg", "scale": "scale", "exposure": "exposure", "haze t": "haze", "cast": "colour_cast"}
    assert set(rows) == {*fields, "overall"}
    for name, kind in fields.items():
        cells = rows[name]["cells"]
        assert cells[2] == getattr(report, f"{kind}_level").value
        assert float(cells[3]) == pytest.approx(getattr(report, f"{kind}_confidence"), abs=0.006)  # shown to 2 decimals
        assert cells[1].endswith("?") == (not report.observed(kind))
    assert float(rows["overall"]["cells"][1]) == pytest.approx(report.overall_severity, abs=0.005)


def test_model_text_is_escaped_everywhere():
    attack = '<img src=x onerror="alert(1)"> a fox'
    adapter = get_adapter("sd")
    html = views.strings_html([prompt_record(adapter, attack)], {"sd": adapter})
    assert "<img" not in html and "&lt;img" in html


def test_token_attributes_are_the_encoders_counts():
    open_clip = pytest.importorskip("open_clip")  # CLIP's reference tokenizer counts independently
    caption = "A weathered wooden fishing boat pulled up on a pebble beach, nets piled in the bow, gulls overhead"
    adapter = get_adapter("supir")
    html = views.strings_html([prompt_record(adapter, caption)], {"supir": adapter})
    found = re.search(r'data-tokens="(\d+)" data-usable="(\d+)" data-caption-tokens="(\d+)"', html)
    tokens, usable, caption_tokens = map(int, found.groups())
    positive = prompt_record(adapter, caption)["positive_prompt"]
    assert tokens == int((open_clip.tokenize([positive])[0] != 0).sum()) - 2  # without the start and end tokens
    assert caption_tokens == int((open_clip.tokenize([caption + ". "])[0] != 0).sum()) - 2
    assert usable == 77 - 2  # CLIP's 77-token window less its start and end tokens


def test_the_bar_splits_caption_quality_and_overflow():
    widths = [float(w) for w in re.findall(r"width:([\d.]+)%", views._bar(10, 80, 75))]
    assert widths == pytest.approx([100 * 10 / 80, 100 * 65 / 80, 100 * 5 / 80], abs=0.01)
    assert len(re.findall(r"width:", views._bar(10, 40, 75))) == 2  # no overflow: no red part


def test_the_tile_grid_is_drawn_over_each_tile(tmp_path):
    from rescap.captioning.tiles import TileCaption, TiledCaptions, TileSpec, sliding_windows

    grey = Image.fromarray(np.full((150, 200, 3), 128, np.uint8))
    boxes = sliding_windows(150, 200, TileSpec(size=96, stride=64))
    tiled = TiledCaptions.model_construct(
        image="grey", width=200, height=150, tile_size=96, tile_stride=64, bundle=None,
        tiles=[TileCaption(box=b, flat=True, caption="a grey wall", positive_prompt="", caption_tokens=3) for b in boxes],
    )  # fmt: skip
    drawn = np.asarray(views.tile_overlay(grey, tiled)).astype(int)
    changed = np.abs(drawn - 128).sum(axis=2) > 30
    for box in boxes:  # each tile's left edge is outlined somewhere in its first few columns, at mid-height
        middle = (box.top + box.bottom) // 2
        assert changed[middle, box.left : box.left + 12].any(), box
    rows = views.tile_rows(tiled)
    assert [r[0] for r in rows] == [b.index for b in boxes] and rows[0][4] == "a grey wall"
