"""Fitting the theory to measured learning curves by gradient (`jaxgem.fit`,
`jaxgem.fit_replica`)."""

from .curve import Curve
from .fit import FitResult, fit
from .parameters import FITTABLE
from .replica import REPLICA_FITTABLE, fit_replica

__all__ = ["fit", "fit_replica", "FitResult", "Curve", "FITTABLE", "REPLICA_FITTABLE"]
