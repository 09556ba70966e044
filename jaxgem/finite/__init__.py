"""Learning from a finite training set: full-batch gradient descent and multi-pass SGD that
reuse `n = alpha N` samples, beside one-pass SGD; and the exact theory of linear least squares
by gradient descent: on iid Gaussian inputs from the Marchenko–Pastur law, on any data model
from its Gaussian covariate model (deterministic equivalents of the sample covariance,
`resolvent`) (issue 16, item 4; Loureiro, lecture notes 2023, THEORY.md Sec. 4, 6)."""

from .covariate_theory import LinearStart, covariate_gd_theory, gd_theory, is_linear, linear_start
from .descent import FiniteDataRun, TrainingSet, gradient_descent, multipass_sgd
from .linear_theory import LinearGDTheory, linear_gd_theory

__all__ = [
    "TrainingSet",
    "FiniteDataRun",
    "gradient_descent",
    "multipass_sgd",
    "LinearGDTheory",
    "linear_gd_theory",
    "covariate_gd_theory",
    "gd_theory",
    "is_linear",
    "LinearStart",
    "linear_start",
]
