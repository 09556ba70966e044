"""jaxgem: online learning and Gaussian equivalence of shallow networks on structured data, in JAX.

Goldt, Loureiro, Reeves, Krzakala, Mézard, Zdeborová, "The Gaussian equivalence of generative
models for learning with shallow neural networks" (MSML 2021).
"""

__version__ = "0.1.0"

from . import data, diagnostics, generators, ode, online, replica
from .activations import (
    ACTIVATIONS,
    Activation,
    Custom,
    Erf,
    Linear,
    Quadratic,
    ReLU,
    Sign,
    Tanh,
    get_activation,
)
from .data import DataModel, GaussianEquivalent, GeneratorData, HiddenManifold, IIDGaussian
from .networks import TwoLayerNetwork
from .online import Hyperparameters, simulate
from .order_parameters import OrderParameters, generalisation_error
from .regimes import REGIMES, RegimeScaling, regime_scaling
from .results import Trajectory

__all__ = [
    "Activation",
    "Erf",
    "Linear",
    "ReLU",
    "Tanh",
    "Sign",
    "Quadratic",
    "Custom",
    "get_activation",
    "ACTIVATIONS",
    "OrderParameters",
    "generators",
    "diagnostics",
    "GeneratorData",
    "regime_scaling",
    "RegimeScaling",
    "REGIMES",
    "generalisation_error",
    "TwoLayerNetwork",
    "DataModel",
    "IIDGaussian",
    "HiddenManifold",
    "GaussianEquivalent",
    "Hyperparameters",
    "simulate",
    "Trajectory",
    "data",
    "online",
    "ode",
    "replica",
]
