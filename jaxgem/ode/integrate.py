"""How the order-parameter ODEs are integrated: diffrax solver, step-size controller and adjoint
as objects, and one compiled, vmapped solve for any batch of runs."""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
from jaxtyping import Array

__all__ = ["Integration", "integrate", "solve_runs"]


class Integration(eqx.Module):
    """diffrax's choices for one solve.

    **Arguments:**

    - `solver`: a `diffrax.AbstractSolver` (default `diffrax.Tsit5()`).
    - `stepsize_controller`: default `diffrax.PIDController(rtol=1e-6, atol=1e-8)`; fixed steps
      with `diffrax.ConstantStepSize()` (as the reference C++ codes do, e.g. with
      `diffrax.Euler()` and `dt0=0.01`).
    - `adjoint`: how gradients flow through the solve (default
      `diffrax.RecursiveCheckpointAdjoint()`).
    - `dt0`: the first (or the fixed) step.
    - `max_steps`: the step budget; a solve that exhausts it reports failure (`eg = NaN`).
    """

    solver: diffrax.AbstractSolver = diffrax.Tsit5()
    stepsize_controller: diffrax.AbstractStepSizeController = diffrax.PIDController(
        rtol=1e-6, atol=1e-8
    )
    adjoint: diffrax.AbstractAdjoint = diffrax.RecursiveCheckpointAdjoint()
    dt0: float = 0.01
    max_steps: int = eqx.field(static=True, default=1_000_000)

    def __check_init__(self):
        checks = (
            ("solver", diffrax.AbstractSolver),
            ("stepsize_controller", diffrax.AbstractStepSizeController),
            ("adjoint", diffrax.AbstractAdjoint),
        )
        for name, kind in checks:
            if not isinstance(getattr(self, name), kind):
                raise TypeError(
                    f"{name} must be a diffrax.{kind.__name__} (e.g. diffrax.Tsit5(), "
                    f"diffrax.PIDController(rtol=1e-6, atol=1e-8)), got {getattr(self, name)!r}"
                )
        if not self.dt0 > 0 or not (isinstance(self.max_steps, int) and self.max_steps > 0):
            raise ValueError(
                f"dt0 must be positive and max_steps a positive integer, got {self.dt0!r}, "
                f"{self.max_steps!r}"
            )


def integrate(vector_field, y0, args, times, integration: Integration):
    """Solve `dy/dt = vector_field(t, y, args)` from `times[0]`, saving at `times`; returns the
    saved states and whether the solve succeeded (never raises on failure)."""
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        integration.solver,
        t0=times[0],
        t1=times[-1],
        dt0=integration.dt0,
        y0=y0,
        args=args,
        saveat=diffrax.SaveAt(ts=times),
        stepsize_controller=integration.stepsize_controller,
        adjoint=integration.adjoint,
        max_steps=integration.max_steps,
        throw=False,
    )
    return solution.ys, solution.result == diffrax.RESULTS.successful


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)
def solve_runs(
    vector_field: Callable,
    observe: Callable,
    y0,
    run_args,
    shared,
    times: Array,
    integration: Integration,
):
    """One compiled solve for a batch of runs: `y0` and `run_args` carry a leading run axis,
    `shared` is common to all; `observe(ys, run_args, shared, success)` turns the saved states
    of one run into what is returned. New values of any array reuse the compilation
    (`eqx.debug.get_num_traces(solve_runs)` counts traces)."""

    def one(y0, run_args):
        ys, success = integrate(vector_field, y0, (run_args, shared), times, integration)
        return observe(ys, run_args, shared, success)

    return jax.vmap(one)(y0, run_args)
