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
