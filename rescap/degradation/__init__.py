"""Weights-free degradation estimation: noise, blur, JPEG quality and upsampling factor."""

from .estimate import estimate_degradation
from .report import DegradationLevel, DegradationReport

__all__ = ["DegradationLevel", "DegradationReport", "estimate_degradation"]
