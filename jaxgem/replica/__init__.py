"""Full-batch ERM on the Gaussian covariate model of a jaxgem data model: replica learning
curves and finite-size simulations to check them (Loureiro et al., NeurIPS 2021; THEORY.md
Sec. 7)."""

from .erm import ERMResult, fit, simulate_erm
from .fixed_point import CONVERGED, MAX_STEPS, NON_FINITE, FixedPoint, solve_fixed_point
from .gcm import GaussianCovariateModel, random_features, random_teacher
from .losses import LOSSES, Hinge, Logistic, Loss, Square, get_loss
from .saddle import LearningCurve, SaddlePointEquations, learning_curve, optimal_lambda
from .teachers import Channel, LinearChannel, SignChannel, get_channel

__all__ = [
    "GaussianCovariateModel",
    "random_features",
    "random_teacher",
    "ERMResult",
    "fit",
    "simulate_erm",
    "CONVERGED",
    "MAX_STEPS",
    "NON_FINITE",
    "FixedPoint",
    "solve_fixed_point",
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
