"""jaxgem: online learning and Gaussian equivalence of shallow networks on structured data, in JAX.

One problem object (data model, teacher, student, hyperparameters) feeds the simulation
(`simulate`) and every theory (`theory`); the same data models feed full-batch ERM and its
replica curves (`jaxgem.replica`).

Goldt, Loureiro, Reeves, Krzakala, Mézard, Zdeborová, "The Gaussian equivalence of generative
models for learning with shallow neural networks" (MSML 2021).
"""

__version__ = "0.2.0"

from . import bayes, committee, data, diagnostics, generators, ode, online, replica
from .activations import (
    ACTIVATIONS,
    Activation,
    Custom,
    Erf,
    Linear,
    Quadratic,
    Quadrature,
    ReLU,
    Sign,
    Tanh,
    get_activation,
)
from .data import (
    CovarianceDataModel,
    DataModel,
    Dataset,
    GaussianEquivalent,
    GeneratorData,
    HiddenManifold,
    HiddenManifoldLimit,
    IIDGaussian,
)
from .hyperparameters import Hyperparameters
from .initialisers import GaussianInit, InformedInit, NetworkInit
from .networks import TwoLayerNetwork
from .ode import ODESolution, theory
from .online import simulate
from .order_parameters import OrderParameters, generalisation_error
from .problem import Problem
from .regimes import REGIMES, RegimeScaling, regime_scaling
from .results import Trajectory
from .schedules import Piecewise, PowerLaw, Schedule, ScheduleFunction
from .fit import Curve, FitResult, ScheduleDesign, design_schedule, fit, fit_replica

__all__ = [
    "Problem",
    "Hyperparameters",
    "Schedule",
    "PowerLaw",
    "Piecewise",
    "ScheduleFunction",
    "fit",
    "fit_replica",
    "design_schedule",
    "ScheduleDesign",
    "FitResult",
    "Curve",
    "simulate",
    "theory",
    "Trajectory",
    "ODESolution",
    "Activation",
    "Erf",
    "Linear",
    "ReLU",
    "Tanh",
    "Sign",
    "Quadratic",
    "Custom",
    "Quadrature",
    "get_activation",
    "ACTIVATIONS",
    "OrderParameters",
    "generalisation_error",
    "TwoLayerNetwork",
    "NetworkInit",
    "GaussianInit",
    "InformedInit",
    "DataModel",
    "CovarianceDataModel",
    "IIDGaussian",
    "HiddenManifold",
    "HiddenManifoldLimit",
    "GaussianEquivalent",
    "GeneratorData",
    "Dataset",
    "regime_scaling",
    "RegimeScaling",
    "REGIMES",
    "data",
    "diagnostics",
    "generators",
    "online",
    "ode",
    "replica",
    "bayes",
    "committee",
    "schedules",
]
