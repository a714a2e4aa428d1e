"""The degradation report: what was measured, how sure the measurement is, and how severe it is.

Seven quantities: noise, blur, JPEG and upsampling (the classic four), and exposure, haze and colour
cast (the universal degradations). Each carries a ``confidence`` in [0, 1]: how much the image
supports the estimate (texture for blur, flat blocks for noise, block statistics for JPEG, line
strength for upsampling, highlights and contrast for the universal ones). A value with confidence
below ``CONFIDENT`` (0.5) was not observed: it is reported, marked uncertain, and nothing
downstream states it as fact.

Severity maps each measurement to [0, 1] by piecewise-linear interpolation between anchor points;
a value that was not observed (confidence below ``CONFIDENT``) has severity 0 and level none, so it
weighs nothing overall and no prompt states it.
The level is read off the severity (none < 0.1 <= mild < 0.35 <= moderate < 0.65 <= severe), so a
level boundary is an anchor of every scale:

| type     | measured as            | none      | mild        | moderate    | severe    | 1.0 at   |
|----------|------------------------|-----------|-------------|-------------|-----------|----------|
| noise    | sigma (RMS std, 0-255) | < 2       | 2 - 8       | 8 - 20      | >= 20     | 40       |
| blur     | Gaussian sigma, px     | < 0.5     | 0.5 - 1.2   | 1.2 - 2.5   | >= 2.5    | 4        |
| jpeg     | IJG quality            | > 90/none | 90 - 71     | 70 - 41     | <= 40     | 10       |
| scale    | upsampling factor      | < 1.2x    | 1.2 - 2.5x  | 2.5 - 3.5x  | >= 3.5x   | 8x       |
| exposure | stops, abs(log2 gain)  | < 0.32    | 0.32 - 1    | 1 - 2       | >= 2      | 3.3      |
| haze     | 1 - transmission       | < 0.31    | 0.31 - 0.5  | 0.5 - 0.7   | >= 0.7    | 0.9      |
| cast     | max abs ln channel gain | < 0.07   | 0.07 - 0.18 | 0.18 - 0.35 | >= 0.35   | 0.6      |

The overall severity combines them as independent "chances of damage", ``1 - prod(1 - s_i)``: one
severe degradation is severe overall, and several mild ones add up.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class DegradationLevel(str, Enum):
    none = "none"
    mild = "mild"
    moderate = "moderate"
    severe = "severe"


LEVEL_FLOORS = ((0.65, DegradationLevel.severe), (0.35, DegradationLevel.moderate), (0.1, DegradationLevel.mild))

# (measurement, severity) anchors, increasing in measurement
NOISE_ANCHORS = ((0.0, 0.0), (2.0, 0.1), (8.0, 0.35), (20.0, 0.65), (40.0, 1.0))
BLUR_ANCHORS = ((0.0, 0.0), (0.5, 0.1), (1.2, 0.35), (2.5, 0.65), (4.0, 1.0))
# JPEG quality runs the other way: anchors on (100 - quality)
JPEG_ANCHORS = ((0.0, 0.0), (10.0, 0.1), (30.0, 0.35), (60.0, 0.65), (90.0, 1.0))
SCALE_ANCHORS = ((1.0, 0.0), (1.2, 0.1), (2.5, 0.35), (3.5, 0.65), (8.0, 1.0))
# Exposure, on the stops off, abs(log2(gain)). 0.32 stops (gain 0.8 or 1.25) is the detection
# threshold: clean photos read at most 0.3 stops dark (foggy lakes) and a few with clipped white
# backgrounds 0.3-0.4 stops bright. One stop (gain 0.5 / 2) is moderate, two stops (0.25 / 4)
# severe, and 3.3 stops (0.1) leaves little to restore.
EXPOSURE_ANCHORS = ((0.0, 0.0), (0.32, 0.1), (1.0, 0.35), (2.0, 0.65), (3.3, 1.0))
# Haze, on the density 1 - t. 0.31 (t = 0.69) is the detection threshold: 45 clear photos read
# t >= 0.703 and uniform haze of t = 0.6 (airlight 200-245) reads <= 0.675. t = 0.5 is moderate,
# t = 0.3 severe, t = 0.1 leaves little to restore.
HAZE_ANCHORS = ((0.0, 0.0), (0.31, 0.1), (0.5, 0.35), (0.7, 0.65), (0.9, 1.0))
# Colour cast, on its strength (the largest abs ln channel gain). 0.07 (a 7 % gain) is the
# detection threshold: casts below it are hard to see and the traces clean photos show stay under
# 0.05. (1.15, 1, 0.87) is 0.14: mild; (1.25, 1, 0.8) is 0.22: moderate; 0.35 (a channel 40 % off)
# severe. Colourful clean photos can read strong casts, at low confidence, which the confidence
# weighting keeps quiet.
COLOUR_CAST_ANCHORS = ((0.0, 0.0), (0.07, 0.1), (0.18, 0.35), (0.35, 0.65), (0.6, 1.0))

# Below this confidence a value counts as not observed (see the module docstring).
CONFIDENT = 0.5
KINDS = ("noise", "blur", "jpeg", "scale", "exposure", "haze", "colour_cast")


def _interp(value: float, anchors: tuple[tuple[float, float], ...]) -> float:
    xs, ys = zip(*anchors)
    return float(np.clip(np.interp(value, xs, ys), 0.0, 1.0))


def level_of(severity: float) -> DegradationLevel:
    """The level a severity in [0, 1] falls in."""
    for floor, level in LEVEL_FLOORS:
        if severity >= floor:
            return level
    return DegradationLevel.none


def noise_severity(sigma: float) -> float:
    return _interp(sigma, NOISE_ANCHORS)


def blur_severity(sigma: float) -> float:
    return _interp(sigma, BLUR_ANCHORS)


def jpeg_severity(quality: int | None) -> float:
    return 0.0 if quality is None else _interp(100.0 - quality, JPEG_ANCHORS)


def scale_severity(factor: float) -> float:
    return _interp(factor, SCALE_ANCHORS)


def exposure_severity(gain: float) -> float:
    return _interp(abs(float(np.log2(max(gain, 1e-3)))), EXPOSURE_ANCHORS)


def haze_severity(transmission: float) -> float:
    return _interp(1.0 - transmission, HAZE_ANCHORS)


def colour_cast_severity(strength: float) -> float:
    return _interp(strength, COLOUR_CAST_ANCHORS)


def observed_severity(severity: float, confidence: float) -> float:
    """A severity counts only when its measurement was observed (confidence >= ``CONFIDENT``)."""
    return severity if confidence >= CONFIDENT else 0.0


class NoiseLevel(BaseModel):
    """The noise std at one intensity: one point of the noise level function."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intensity: float = Field(ge=0, le=255, description="mean pixel value of the blocks measured, 0-255")
    sigma: float = Field(ge=0, description="noise std at that intensity, 0-255 scale")


def _confidence() -> Any:
    return Field(default=1.0, ge=0, le=1, description="how much the image supports the value; < 0.5: not observed")


class DegradationReport(BaseModel):
    """What ``estimate_degradation`` measured in one image.

    Example:
        >>> from rescap.degradation.report import DegradationReport
        >>> r = DegradationReport.from_measurements(noise_sigma=25, blur_sigma=0.2, jpeg_quality=None, scale_factor=1)
        >>> r.noise_level.value, r.jpeg_level.value, round(r.overall_severity, 2)
        ('severe', 'none', 0.75)
        >>> flat = DegradationReport.from_measurements(noise_sigma=1, blur_sigma=2.0, jpeg_quality=None,
        ...     scale_factor=1, blur_confidence=0.2)
        >>> flat.blur_level.value, flat.blur_severity, flat.observed("blur")
        ('none', 0.0, False)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    noise_sigma: float = Field(ge=0, description="RMS noise std over the image's pixels, 0-255 scale")
    noise_confidence: float = _confidence()
    noise_level_function: list[NoiseLevel] = Field(
        default_factory=list, description="noise std at several intensities (signal-dependent noise)"
    )
    noise_shot: float = Field(default=0.0, ge=0, description="a in variance = a * intensity + b (photon shot noise)")
    noise_read: float = Field(default=0.0, ge=0, description="b in variance = a * intensity + b (read noise)")
    blur_sigma: float = Field(ge=0, description="equivalent Gaussian blur std, pixels")
    blur_confidence: float = _confidence()
    jpeg_quality: int | None = Field(ge=1, le=100, description="IJG quality; null when no JPEG compression")
    jpeg_confidence: float = _confidence()
    scale_factor: float = Field(ge=1, description="upsampling factor from a lower resolution; 1 = native")
    scale_confidence: float = _confidence()
    exposure_gain: float = Field(
        default=1.0, gt=0, description="how the stored values look scaled from a normal exposure; < 1 under, > 1 over"
    )
    exposure_confidence: float = _confidence()
    dark_clipped_share: float = Field(default=0.0, ge=0, le=1, description="share of pixels clipped to black")
    bright_clipped_share: float = Field(default=0.0, ge=0, le=1, description="share of pixels clipped to white")
    haze_transmission: float = Field(default=1.0, ge=0, le=1, description="dark-channel transmission; 1 = clear")
    haze_confidence: float = _confidence()
    colour_cast_strength: float = Field(default=0.0, ge=0, description="how far the neutral tones are shifted")
    colour_cast_hue: str = Field(default="", description="direction of the cast as a colour word; empty when none")
    colour_cast_confidence: float = _confidence()
    noise_severity: float = Field(ge=0, le=1)
    noise_level: DegradationLevel
    blur_severity: float = Field(ge=0, le=1)
    blur_level: DegradationLevel
    jpeg_severity: float = Field(ge=0, le=1)
    jpeg_level: DegradationLevel
    scale_severity: float = Field(ge=0, le=1)
    scale_level: DegradationLevel
    exposure_severity: float = Field(default=0.0, ge=0, le=1)
    exposure_level: DegradationLevel = DegradationLevel.none
    haze_severity: float = Field(default=0.0, ge=0, le=1)
    haze_level: DegradationLevel = DegradationLevel.none
    colour_cast_severity: float = Field(default=0.0, ge=0, le=1)
    colour_cast_level: DegradationLevel = DegradationLevel.none
    overall_severity: float = Field(ge=0, le=1)

    @classmethod
    def from_measurements(
        cls,
        *,
        noise_sigma: float,
        blur_sigma: float,
        jpeg_quality: int | None,
        scale_factor: float,
        exposure_gain: float = 1.0,
        haze_transmission: float = 1.0,
        colour_cast_strength: float = 0.0,
        **details: Any,
    ) -> "DegradationReport":
        """Build a report, deriving severities and levels from the measurements and confidences.

        ``details`` are the other fields (``*_confidence``, ``noise_level_function``, ...); an omitted
        confidence is 1 (a value given by hand is taken as known)."""
        raw = {
            "noise": noise_severity(noise_sigma),
            "blur": blur_severity(blur_sigma),
            "jpeg": jpeg_severity(jpeg_quality),
            "scale": scale_severity(scale_factor),
            "exposure": exposure_severity(exposure_gain),
            "haze": haze_severity(haze_transmission),
            "colour_cast": colour_cast_severity(colour_cast_strength),
        }
        confidence = {k: round(float(details.pop(f"{k}_confidence", 1.0)), 3) for k in KINDS}
        # levels are read off the rounded severities, so a report never contradicts itself
        sev = {k: round(observed_severity(v, confidence[k]), 3) for k, v in raw.items()}
        overall = 1.0 - float(np.prod([1.0 - s for s in sev.values()]))
        return cls(
            noise_sigma=round(float(noise_sigma), 2),
            blur_sigma=round(float(blur_sigma), 2),
            jpeg_quality=None if jpeg_quality is None else int(jpeg_quality),
            scale_factor=round(float(max(scale_factor, 1.0)), 2),
            exposure_gain=round(float(exposure_gain), 3),
            haze_transmission=round(float(np.clip(haze_transmission, 0.0, 1.0)), 3),
            colour_cast_strength=round(float(colour_cast_strength), 3),
            **details,
            **{f"{k}_confidence": v for k, v in confidence.items()},
            **{f"{k}_severity": v for k, v in sev.items()},
            **{f"{k}_level": level_of(v) for k, v in sev.items()},
            overall_severity=round(overall, 3),
        )

    @property
    def overall_level(self) -> DegradationLevel:
        return level_of(self.overall_severity)

    def observed(self, kind: str) -> bool:
        """Whether ``kind`` (one of ``KINDS``) was measured with confidence."""
        return getattr(self, f"{kind}_confidence") >= CONFIDENT

    def found(self, kind: str) -> bool:
        """Whether ``kind`` is both observed and present (its level is not none)."""
        return self.observed(kind) and getattr(self, f"{kind}_level") != DegradationLevel.none

    def exposure_off(self) -> tuple[float, str] | None:
        """``(2.5, "dark")`` for a gain of 0.4, ``(1.7, "bright")`` for 1.7; None when the level is none."""
        if self.exposure_level == DegradationLevel.none:
            return None
        if self.exposure_gain < 1.0:
            return 1.0 / self.exposure_gain, "dark"
        return self.exposure_gain, "bright"

    def exposure_phrase(self) -> str:
        """``2.5x too dark``, ``1.7x too bright`` or ``normal``."""
        off = self.exposure_off()
        return "normal" if off is None else f"{off[0]:.1f}x too {off[1]}"

    def uncertain(self) -> list[str]:
        """The kinds measured without confidence, in ``KINDS`` order."""
        return [k for k in KINDS if not self.observed(k)]
