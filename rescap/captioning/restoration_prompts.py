"""Prompts derived from the measured degradation: a degradation-aware negative prompt, and a
SPIRE-style restoration prompt with numbers.

Both state only what the estimator observed: a value whose confidence is below the report's
``CONFIDENT`` threshold (blur on a foggy lake, noise in dense foliage) is left out.

Example:
    >>> from rescap.degradation.report import DegradationReport
    >>> from rescap.captioning.restoration_prompts import restoration_prompt
    >>> r = DegradationReport.from_measurements(noise_sigma=25, blur_sigma=1.5, jpeg_quality=30, scale_factor=4)
    >>> restoration_prompt(r)
    'denoise with sigma 25; deblur with sigma 1.5; remove JPEG artifacts at quality 30; upsample 4x'
    >>> dark = DegradationReport.from_measurements(noise_sigma=1, blur_sigma=2.0, jpeg_quality=None,
    ...     scale_factor=1, blur_confidence=0.1, exposure_gain=0.35, haze_transmission=0.5)
    >>> restoration_prompt(dark)
    'brighten by 2.9x; dehaze'
"""

from __future__ import annotations

from ..degradation.report import KINDS, DegradationReport

BLIND_RESTORATION_PROMPT = "Remove all degradation"
GENERIC_NEGATIVE = "low quality, worst quality"

# negative terms per degradation, strongest levels first
_NEGATIVE_TERMS = {
    "noise": {"mild": ["noise"], "moderate": ["noise", "grain"], "severe": ["noise", "grain", "noisy"]},
    "blur": {"mild": ["blurry"], "moderate": ["blurry", "out of focus"], "severe": ["blurry", "out of focus", "smooth"]},
    "jpeg": {"mild": ["jpeg artifacts"], "moderate": ["jpeg artifacts", "blocky"], "severe": ["jpeg artifacts", "blocky", "compression artifacts"]},
    "scale": {"mild": ["lowres"], "moderate": ["lowres", "pixelated"], "severe": ["lowres", "pixelated", "aliasing"]},
    "haze": {"mild": ["hazy"], "moderate": ["hazy", "foggy"], "severe": ["hazy", "foggy", "washed out"]},
    "colour_cast": {"mild": ["color cast"], "moderate": ["color cast"], "severe": ["color cast", "discolored"]},
}  # fmt: skip
# exposure's terms depend on its direction
_EXPOSURE_TERMS = {
    "under": {"mild": ["underexposed"], "moderate": ["underexposed", "too dark"], "severe": ["underexposed", "too dark", "murky"]},
    "over": {"mild": ["overexposed"], "moderate": ["overexposed", "washed out"], "severe": ["overexposed", "washed out", "blown highlights"]},
}  # fmt: skip


def _exposure_part(report: DegradationReport) -> str:
    factor, direction = report.exposure_off()  # type: ignore[misc]  # only asked when exposure was found
    return f"{'brighten' if direction == 'dark' else 'darken'} by {factor:.1f}x"


def _colour_cast_part(report: DegradationReport) -> str:
    hue = report.colour_cast_hue
    return f"correct the {hue} colour cast" if hue else "correct the colour cast"


def restoration_prompt(report: DegradationReport | None) -> str:
    """What to remove, with the measured numbers; ``Remove all degradation`` when nothing is known."""
    if report is None:
        return BLIND_RESTORATION_PROMPT
    parts = []
    if report.found("noise"):
        parts.append(f"denoise with sigma {report.noise_sigma:.0f}")
    if report.found("blur"):
        parts.append(f"deblur with sigma {report.blur_sigma:.1f}")
    if report.jpeg_quality is not None and report.found("jpeg"):
        parts.append(f"remove JPEG artifacts at quality {report.jpeg_quality}")
    if report.found("scale"):
        parts.append(f"upsample {report.scale_factor:g}x")
    if report.found("exposure"):
        parts.append(_exposure_part(report))
    if report.found("haze"):
        parts.append("dehaze")
    if report.found("colour_cast"):
        parts.append(_colour_cast_part(report))
    return "; ".join(parts) if parts else BLIND_RESTORATION_PROMPT


def negative_prompt(report: DegradationReport | None, base: str = "") -> str:
    """``base`` (the restorer's own negative, or a generic one) plus terms for what was measured."""
    terms = [t.strip() for t in (base or GENERIC_NEGATIVE).split(",") if t.strip()]
    seen = {t.lower() for t in terms}
    own = len(terms)
    if report is not None:
        for kind in KINDS:
            if not report.found(kind):
                continue
            level = getattr(report, f"{kind}_level").value
            if kind == "exposure":
                table = _EXPOSURE_TERMS["under" if report.exposure_gain < 1.0 else "over"]
            else:
                table = _NEGATIVE_TERMS[kind]
            for term in table.get(level, []):
                if term not in seen:
                    terms.append(term)
                    seen.add(term)
    if len(terms) > own and terms[own - 1].endswith("."):  # "over-smooth." then measured terms: no ".,"
        terms[own - 1] = terms[own - 1].rstrip(".").rstrip()
    return ", ".join(terms)


def degradation_vector(report: DegradationReport) -> list[float]:
    """A fixed-length numeric description for restorers that take visual/degradation prompts:
    the seven severities (noise, blur, JPEG, scale, exposure, haze, colour cast; each already
    weighted by its confidence), the overall severity, then the raw measurements scaled to about
    [0, 1]: noise sigma / 50, blur sigma / 4, (100 - JPEG quality) / 100 (0 without JPEG),
    log2(scale) / 3, log2(exposure gain) / 3.3 (negative when under-exposed), 1 - haze
    transmission, colour cast strength / 0.6; a raw value that was not observed is 0. Fifteen numbers
    in all (indices 0-6 severities, 7 overall, 8-14 raw values, each group in ``KINDS`` order)."""
    import math

    return [
        report.noise_severity, report.blur_severity, report.jpeg_severity, report.scale_severity,
        report.exposure_severity, report.haze_severity, report.colour_cast_severity, report.overall_severity,
        *(value if report.observed(kind) else 0.0 for kind, value in zip(KINDS, (
            round(min(report.noise_sigma / 50.0, 2.0), 4), round(min(report.blur_sigma / 4.0, 2.0), 4),
            round((100 - report.jpeg_quality) / 100.0, 4) if report.jpeg_quality is not None else 0.0,
            round(math.log2(max(report.scale_factor, 1.0)) / 3.0, 4),
            round(max(min(math.log2(report.exposure_gain) / 3.3, 2.0), -2.0), 4),
            round(1.0 - report.haze_transmission, 4), round(min(report.colour_cast_strength / 0.6, 2.0), 4),
        ))),
    ]  # fmt: skip
