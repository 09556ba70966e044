"""Data models: where inputs come from, and the covariances the theory needs."""

from .base import DataModel
from .gaussian_equivalent import GaussianEquivalent
from .generator_data import GeneratorData
from .hidden_manifold import MOMENT_METHODS, HiddenManifold
from .iid import IIDGaussian

__all__ = [
    "DataModel",
    "IIDGaussian",
    "HiddenManifold",
    "GaussianEquivalent",
    "GeneratorData",
    "MOMENT_METHODS",
]
