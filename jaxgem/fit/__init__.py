"""Fitting the theory to measured learning curves by gradient (`jaxgem.fit`,
`jaxgem.fit_replica`)."""

from .curve import Curve
from .design import ScheduleDesign, design_schedule
from .fit import FitResult, fit
from .parameters import FITTABLE
from .replica import REPLICA_FITTABLE, fit_replica

__all__ = [
    "fit",
    "fit_replica",
    "design_schedule",
    "ScheduleDesign",
    "FitResult",
    "Curve",
    "FITTABLE",
    "REPLICA_FITTABLE",
]
