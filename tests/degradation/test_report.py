import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rescap.degradation.report import (
    DegradationLevel,
    DegradationReport,
    blur_severity,
    jpeg_severity,
    level_of,
    noise_severity,
    scale_severity,
)

FIELDS = {
    "noise_sigma", "noise_confidence", "noise_level_function", "noise_shot", "noise_read",
    "blur_sigma", "blur_confidence", "jpeg_quality", "jpeg_confidence", "scale_factor", "scale_confidence",
    "exposure_gain", "exposure_confidence", "dark_clipped_share", "bright_clipped_share",
    "haze_transmission", "haze_confidence",
    "colour_cast_strength", "colour_cast_hue", "colour_cast_confidence",
    "noise_severity", "noise_level", "blur_severity", "blur_level",
    "jpeg_severity", "jpeg_level", "scale_severity", "scale_level",
    "exposure_severity", "exposure_level", "haze_severity", "haze_level",
    "colour_cast_severity", "colour_cast_level", "overall_severity",
}  # fmt: skip


def test_json_has_exactly_the_documented_fields():
    r = DegradationReport.from_measurements(noise_sigma=3, blur_sigma=1, jpeg_quality=50, scale_factor=2)
    assert set(json.loads(r.model_dump_json())) == FIELDS


@given(st.floats(0, 100), st.floats(0, 100))
def test_noise_and_blur_severity_monotonic(a, b):
    lo, hi = sorted((a, b))
    assert noise_severity(lo) <= noise_severity(hi)
    assert blur_severity(lo / 10) <= blur_severity(hi / 10)


@given(st.integers(1, 100), st.integers(1, 100))
def test_jpeg_severity_falls_with_quality(a, b):
    lo, hi = sorted((a, b))
    assert jpeg_severity(hi) <= jpeg_severity(lo)
    assert jpeg_severity(None) == 0.0


@given(st.floats(1, 16), st.floats(1, 16))
def test_scale_severity_monotonic(a, b):
    lo, hi = sorted((a, b))
    assert scale_severity(lo) <= scale_severity(hi)


@given(st.floats(0, 60), st.floats(0, 5), st.one_of(st.none(), st.integers(1, 100)), st.floats(1, 8))
def test_overall_at_least_each_part_and_bounded(n, b, q, s):
    r = DegradationReport.from_measurements(noise_sigma=n, blur_sigma=b, jpeg_quality=q, scale_factor=s)
    parts = (r.noise_severity, r.blur_severity, r.jpeg_severity, r.scale_severity)
    assert max(parts) - 1e-3 <= r.overall_severity <= 1.0
    for sev, level in zip(parts, (r.noise_level, r.blur_level, r.jpeg_level, r.scale_level)):
        assert level == level_of(sev)


@pytest.mark.parametrize(
    "sigma, level", [(0.5, "none"), (4, "mild"), (12, "moderate"), (30, "severe")]
)
def test_noise_levels(sigma, level):
    assert level_of(noise_severity(sigma)) == DegradationLevel(level)


def test_known_levels_for_common_cases():
    r = DegradationReport.from_measurements(noise_sigma=0.3, blur_sigma=2.0, jpeg_quality=95, scale_factor=4)
    assert (r.noise_level, r.blur_level, r.jpeg_level, r.scale_level) == ("none", "moderate", "none", "severe")


def _readme_scales() -> dict[str, list[float]]:
    """The README's severity table: for each row, the three boundaries (mild, moderate, severe)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = text.index("| | none | mild | moderate | severe |")
    rows = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        bounds = [float(c.split(" - ")[0].rstrip("x")) for c in cells[2:4]] + [float(cells[4].lstrip(">=< ").rstrip("x"))]
        rows[cells[0].split(",")[0].split(" (")[0]] = bounds
    return rows


def test_readme_severity_table_matches_the_code():
    import math

    from rescap.degradation.report import colour_cast_severity, exposure_severity, haze_severity

    measure = {
        "noise sigma": noise_severity,
        "blur sigma": blur_severity,
        "upsampling": scale_severity,
        "exposure": lambda stops: exposure_severity(2.0 ** -stops),
        "haze": lambda density: haze_severity(1.0 - density),
        "colour cast strength": colour_cast_severity,
    }
    rows = _readme_scales()
    assert set(measure) <= set(rows), rows
    for name, severity in measure.items():
        for bound, level in zip(rows[name], ("mild", "moderate", "severe")):
            assert level_of(severity(bound + 1e-6)).value == level, (name, bound)
            below = level_of(severity(bound - 1e-3)).value
            assert below != level, (name, bound)
    # JPEG runs the other way: "71 - 90" is mild, "41 - 70" moderate, "<= 40" severe
    assert [level_of(jpeg_severity(q)).value for q in (91, 90, 71, 70, 41, 40)] == [
        "none", "mild", "mild", "moderate", "moderate", "severe"
    ]
    assert math.isclose(exposure_severity(0.5), exposure_severity(2.0))
