"""Order-parameter ODEs of online SGD (THEORY.md Sec. 2, 3, 5), solved with diffrax; one entry
point, `theory`, chooses the equations by the problem's data model."""

from .iid import OrderParameterState, RunArgs, iid_vector_field
from .integrals import IntegralTensors, field_covariance, integral_tensors
from .integrate import Integration, integrate, solve_runs
from .manifold_limit import limit_densities
from .predict import InitialNetworks, theory
from .solution import ODESolution
from .spectral import SpectralRunArgs, SpectralState, coarse_grain, spectral_vector_field
from .steady_state import SteadyState, steady_state

__all__ = [
    "theory",
    "ODESolution",
    "InitialNetworks",
    "Integration",
    "integrate",
    "solve_runs",
    "steady_state",
    "SteadyState",
    "coarse_grain",
    "limit_densities",
    "iid_vector_field",
    "spectral_vector_field",
    "OrderParameterState",
    "SpectralState",
    "RunArgs",
    "SpectralRunArgs",
    "integral_tensors",
    "IntegralTensors",
    "field_covariance",
]
