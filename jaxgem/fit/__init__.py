"""Fitting the theory to measured learning curves by gradient (`jaxgem.fit`)."""

from .curve import Curve
from .fit import FitResult, fit
from .parameters import FITTABLE

__all__ = ["fit", "FitResult", "Curve", "FITTABLE"]
