"""Order-parameter ODEs of online SGD (THEORY.md Sec. 2, 3), solved with diffrax."""

from .iid import ODEParameters, OrderParameterState, iid_vector_field
from .integrals import IntegralTensors, field_covariance, integral_tensors
from .manifold_limit import manifold_limit_spectrum, marchenko_pastur, solve_manifold_limit
from .predict import theory_for
from .solve import SOLVERS, TRACE_COUNTS, ODESolution, solve
from .spectral import Spectrum, coarse_grain, spectral_vector_field, spectrum_of
from .spectral_solve import solve_densities, solve_spectral, solve_spectral_arrays
from .steady_state import SteadyState, steady_state

__all__ = [
    "solve",
    "solve_spectral",
    "solve_spectral_arrays",
    "solve_densities",
    "solve_manifold_limit",
    "manifold_limit_spectrum",
    "marchenko_pastur",
    "spectrum_of",
    "Spectrum",
    "coarse_grain",
    "spectral_vector_field",
    "steady_state",
    "SteadyState",
    "theory_for",
    "TRACE_COUNTS",
    "ODESolution",
    "SOLVERS",
    "iid_vector_field",
    "OrderParameterState",
    "ODEParameters",
    "integral_tensors",
    "IntegralTensors",
    "field_covariance",
]
