"""Data models: where inputs come from, and the covariances and spectra the theories need."""

from .base import CovarianceDataModel, DataModel
from .dataset import Dataset
from .gaussian_equivalent import GaussianEquivalent
from .generator_data import GeneratorData
from .hidden_manifold import MOMENT_METHODS, HiddenManifold, kappa_form
from .iid import IIDGaussian
from .manifold_limit import HiddenManifoldLimit, marchenko_pastur
from .spectrum import Spectrum

__all__ = [
    "DataModel",
    "CovarianceDataModel",
    "IIDGaussian",
    "HiddenManifold",
    "HiddenManifoldLimit",
    "GaussianEquivalent",
    "GeneratorData",
    "Dataset",
    "Spectrum",
    "MOMENT_METHODS",
    "kappa_form",
    "marchenko_pastur",
]
