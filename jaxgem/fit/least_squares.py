"""Levenberg–Marquardt (optimistix) on standardised residuals, in rounds with a convergence test
that tolerates the small jumps of an adaptive solve: the optimiser shared by the ODE fit and the
replica fit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

__all__ = ["LeastSquares", "levenberg_marquardt", "laplace", "CHUNK"]

#: Levenberg-Marquardt steps per round between convergence tests.
CHUNK = 10


@dataclasses.dataclass(frozen=True)
class LeastSquares:
    """Where the optimiser stopped: parameters `u (P,)`, residuals `r (R,)`, their Jacobian
    `J (R, P)`, the inverse curvature `(J^T J)^+ (P, P)` (float64), steps taken, whether it
    converged (`finite` says whether residuals and Jacobian are finite there), and `aux`, the
    caller's extra output there."""

    u: jax.Array
    r: jax.Array
    J: jax.Array
    curvature: np.ndarray
    steps: int
    converged: bool
    finite: bool
    aux: object = None

    @property
    def chi2(self) -> float:
        return float(jnp.sum(self.r**2))


def levenberg_marquardt(
    outputs: Callable,
    u: jax.Array,
    *,
    max_steps: int,
    rtol: float,
    atol: float,
    mode: str = "fwd",
) -> LeastSquares:
    """Minimise `sum(r^2)` from `u`, where `outputs(u) = (r, aux)`: the residuals and what the
    caller wants back at the optimum (e.g. each start's curve), evaluated with the Jacobian in
    one compiled call. The optimiser differentiates in `mode` (`"fwd"`: an ODE solve in
    diffrax's forward mode; `"bwd"`: a saddle point with optimistix's implicit adjoint, whose
    forward-mode transpose is not available).

    Runs rounds of `CHUNK` steps (one compilation), each ending with a test. Converged: the
    optimiser met its tolerances, or the Gauss–Newton step still to go is below 1 % of every
    parameter's statistical error (an adaptive ODE solve makes the loss jump at the level of
    its tolerance, which can keep the optimiser's own test from ever passing)."""

    def residuals(u, args):
        del args
        return outputs(u)[0]

    def with_values(u):
        r, aux = outputs(u)
        return r, (r, aux)

    solver = optx.LevenbergMarquardt(rtol=rtol, atol=atol)
    jacobian = eqx.filter_jit(jax.jacfwd(with_values, has_aux=True))
    steps, converged, finite = 0, False, True
    while steps < max_steps and not converged:
        round_steps = min(CHUNK, max_steps - steps)
        solution = optx.least_squares(
            residuals, solver, u, max_steps=round_steps, throw=False, options=dict(jac=mode)
        )
        u, steps = solution.value, steps + int(solution.stats["num_steps"])
        J, (r, aux) = jacobian(u)
        finite = bool(jnp.all(jnp.isfinite(r)) & jnp.all(jnp.isfinite(J)))
        if not finite:  # e.g. a diverged solve: reported, with no curvature to speak of
            curvature = np.full((u.shape[0],) * 2, np.nan)
            break
        curvature = np.linalg.pinv(np.asarray(J.T @ J, np.float64))
        newton = curvature @ np.asarray(J.T @ r, np.float64)
        spread = np.sqrt(np.maximum(np.diag(curvature), 0.0))
        succeeded = bool(solution.result == optx.RESULTS.successful)
        converged = succeeded or bool(np.all(np.abs(newton) < 0.01 * spread))
    return LeastSquares(u, r, J, curvature, steps, converged, finite, aux)


def laplace(found: LeastSquares, has_sem: bool, dof: int) -> tuple[np.ndarray, str]:
    """The Laplace covariance of the parameters `u` and its label: the inverse curvature when
    the residuals were standardised by measured standard errors, else scaled by the scatter
    `chi2 / dof` (least squares without error bars)."""
    if has_sem:
        return found.curvature, "laplace"
    return found.curvature * found.chi2 / max(dof, 1), "laplace, scaled"
