"""Full-batch ERM on the Gaussian covariate model: replica learning curves and finite-size
simulations to check them (Loureiro et al., NeurIPS 2021; THEORY.md Sec. 7)."""

from .erm import ERMResult, fit, simulate_erm
from .features import DataModelFeatures, DatasetFeatures, Features, RandomFeatures
from .fixed_point import CONVERGED, MAX_STEPS, NON_FINITE, FixedPoint, solve_fixed_point
from .gcm import GaussianCovariateModel
from .losses import LOSSES, Hinge, Logistic, Loss, Square, get_loss
from .saddle import LearningCurve, SaddlePointEquations, learning_curve, optimal_lambda
from .teachers import Channel, LinearChannel, SignChannel, get_channel

__all__ = [
    "Features",
    "RandomFeatures",
    "DataModelFeatures",
    "DatasetFeatures",
    "ERMResult",
    "fit",
    "simulate_erm",
    "CONVERGED",
    "MAX_STEPS",
    "NON_FINITE",
    "FixedPoint",
    "solve_fixed_point",
    "GaussianCovariateModel",
    "LOSSES",
    "Loss",
    "Square",
    "Logistic",
    "Hinge",
    "get_loss",
    "LearningCurve",
    "SaddlePointEquations",
    "learning_curve",
    "optimal_lambda",
    "Channel",
    "LinearChannel",
    "SignChannel",
    "get_channel",
]
