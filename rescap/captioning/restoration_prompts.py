"""Prompts derived from the measured degradation: a degradation-aware negative prompt, and a
SPIRE-style restoration prompt with numbers.

Example:
    >>> from rescap.degradation.report import DegradationReport
    >>> from rescap.captioning.restoration_prompts import restoration_prompt
    >>> r = DegradationReport.from_measurements(noise_sigma=25, blur_sigma=1.5, jpeg_quality=30, scale_factor=4)
    >>> restoration_prompt(r)
    'denoise with sigma 25; deblur with sigma 1.5; remove JPEG artifacts at quality 30; upsample 4x'
"""

from __future__ import annotations

from ..degradation.report import DegradationLevel, DegradationReport

BLIND_RESTORATION_PROMPT = "Remove all degradation"
GENERIC_NEGATIVE = "low quality, worst quality"

# negative terms per degradation, strongest levels first
_NEGATIVE_TERMS = {
    "noise": {"mild": ["noise"], "moderate": ["noise", "grain"], "severe": ["noise", "grain", "noisy"]},
    "blur": {"mild": ["blurry"], "moderate": ["blurry", "out of focus"], "severe": ["blurry", "out of focus", "smooth"]},
    "jpeg": {"mild": ["jpeg artifacts"], "moderate": ["jpeg artifacts", "blocky"], "severe": ["jpeg artifacts", "blocky", "compression artifacts"]},
    "scale": {"mild": ["lowres"], "moderate": ["lowres", "pixelated"], "severe": ["lowres", "pixelated", "aliasing"]},
}  # fmt: skip


def restoration_prompt(report: DegradationReport | None) -> str:
    """What to remove, with the measured numbers; ``Remove all degradation`` when nothing is known."""
    if report is None:
        return BLIND_RESTORATION_PROMPT
    parts = []
    if report.noise_level != DegradationLevel.none:
        parts.append(f"denoise with sigma {report.noise_sigma:.0f}")
    if report.blur_level != DegradationLevel.none:
        parts.append(f"deblur with sigma {report.blur_sigma:.1f}")
    if report.jpeg_quality is not None and report.jpeg_level != DegradationLevel.none:
        parts.append(f"remove JPEG artifacts at quality {report.jpeg_quality}")
    if report.scale_level != DegradationLevel.none:
        parts.append(f"upsample {report.scale_factor:g}x")
    return "; ".join(parts) if parts else BLIND_RESTORATION_PROMPT


def negative_prompt(report: DegradationReport | None, base: str = "") -> str:
    """``base`` (the restorer's own negative, or a generic one) plus terms for what was measured."""
    terms = [t.strip() for t in (base or GENERIC_NEGATIVE).split(",") if t.strip()]
    seen = {t.lower() for t in terms}
    if report is not None:
        for kind, level in (("noise", report.noise_level), ("blur", report.blur_level), ("jpeg", report.jpeg_level), ("scale", report.scale_level)):
            for term in _NEGATIVE_TERMS[kind].get(level.value, []):
                if term not in seen:
                    terms.append(term)
                    seen.add(term)
    return ", ".join(terms)


def degradation_vector(report: DegradationReport) -> list[float]:
    """A fixed-length numeric description for restorers that take visual/degradation prompts:
    the four severities, the overall severity, then the raw measurements scaled to about [0, 1]:
    noise sigma / 50, blur sigma / 4, (100 - JPEG quality) / 100 (0 without JPEG), log2(scale) / 3."""
    import math

    return [
        report.noise_severity, report.blur_severity, report.jpeg_severity, report.scale_severity, report.overall_severity,
        round(min(report.noise_sigma / 50.0, 2.0), 4), round(min(report.blur_sigma / 4.0, 2.0), 4),
        round((100 - report.jpeg_quality) / 100.0, 4) if report.jpeg_quality is not None else 0.0,
        round(math.log2(max(report.scale_factor, 1.0)) / 3.0, 4),
    ]  # fmt: skip
