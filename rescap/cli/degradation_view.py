"""How a degradation report reads on the terminal: one short value per quantity, its level, and a
``?`` where the estimator could not observe it with confidence (the report's ``observed``)."""

from __future__ import annotations

from dataclasses import dataclass

UNCERTAIN_MARK = "?"
UNCERTAIN_NOTE = f"{UNCERTAIN_MARK} = not observed with confidence (the image gives too little to measure it); left out of the prompts"


@dataclass(frozen=True)
class Reading:
    name: str  # column heading
    value: str
    level: str
    uncertain: bool
    confidence: float | None = None  # how sure the estimator is, 0-1 (None: the overall severity)

    def text(self) -> str:
        return self.value + (UNCERTAIN_MARK if self.uncertain else "")


def _exposure(r) -> str:
    off = r.exposure_off()
    return "normal" if off is None else f"{off[0]:.1f}x {off[1]}"


_QUANTITIES = (
    ("noise σ", "noise", lambda r: f"{r.noise_sigma:.1f}"),
    ("blur σ", "blur", lambda r: f"{r.blur_sigma:.2f}"),
    ("JPEG q", "jpeg", lambda r: "-" if r.jpeg_quality is None else str(r.jpeg_quality)),
    ("scale", "scale", lambda r: f"x{r.scale_factor:g}"),
    ("exposure", "exposure", _exposure),
    ("haze t", "haze", lambda r: f"{r.haze_transmission:.2f}"),
    ("cast", "colour_cast", lambda r: "-" if r.colour_cast_level.value == "none" else (r.colour_cast_hue or "yes")),
)
COLUMNS = [name for name, _, _ in _QUANTITIES] + ["overall"]


def readings(r) -> list[Reading]:
    """The report's quantities in ``COLUMNS`` order (``r`` is a ``DegradationReport``)."""
    out = [
        Reading(name, show(r), getattr(r, f"{kind}_level").value, not r.observed(kind), getattr(r, f"{kind}_confidence"))
        for name, kind, show in _QUANTITIES
    ]
    out.append(Reading("overall", f"{r.overall_severity:.2f}", r.overall_level.value, False))
    return out


def one_line(r) -> str:
    """``noise σ 3.1 (mild), blur σ 0.00? (none), ...; overall 0.21 (mild)``"""
    parts = [f"{x.name} {x.text()} ({x.level})" for x in readings(r)]
    return ", ".join(parts[:-1]) + "; " + parts[-1]
