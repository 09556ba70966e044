"""How the order-parameter ODEs are integrated: diffrax solver, step-size controller and adjoint
as objects, and one compiled, vmapped solve for any batch of runs."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..checks import is_traced
from ..sweep.layout import RunLayout

__all__ = [
    "Integration",
    "integrate",
    "solve_runs",
    "SOLVED",
    "DIVERGED",
    "FAILED",
    "STEPS_PER_TIME",
]


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
    - `max_steps`: the step budget of each run; a solve that exhausts it stops there
      (status `FAILED`, `eg = NaN` from then on). Under `vmap` the runs step together, so the
      budget also bounds what one failing run costs the others. Default (`None`): fixed steps
      get exactly the steps to the last time; an adaptive solve gets `STEPS_PER_TIME = 128`
      steps per unit of time (at least 4096, rounded up to a power of two so that nearby
      spans share a compilation), about 100 times what healthy solves of these equations
      take (1-2 per unit of time on every preset, up to eta = 2), so a defeated controller
      gives up in seconds instead of walking to a fixed large budget (`for_times`); `2^16`
      steps when the times are traced (a theory inside `jit`).
    - `divergence_threshold`: a run whose state has an entry above it in magnitude, or a
      non-finite one, stops at once (status `DIVERGED`, `eg = NaN` from then on) instead of
      walking to its step budget.
    """

    solver: diffrax.AbstractSolver = diffrax.Tsit5()
    stepsize_controller: diffrax.AbstractStepSizeController = diffrax.PIDController(
        rtol=1e-6, atol=1e-8
    )
    adjoint: diffrax.AbstractAdjoint = diffrax.RecursiveCheckpointAdjoint()
    dt0: float = 0.01
    max_steps: int | None = eqx.field(static=True, default=None)
    divergence_threshold: float = 1e6

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
        steps_ok = self.max_steps is None or (
            isinstance(self.max_steps, int) and self.max_steps > 0
        )
        if not self.dt0 > 0 or not steps_ok:
            raise ValueError(
                f"dt0 must be positive and max_steps a positive integer, got {self.dt0!r}, "
                f"{self.max_steps!r}"
            )
        if not self.divergence_threshold > 0:
            raise ValueError(
                f"divergence_threshold must be positive, got {self.divergence_threshold!r}"
            )

    def for_times(self, times) -> Integration:
        """This integration with its default step budget (`max_steps=None`) resolved for
        solving over `times` (concrete)."""
        if self.max_steps is not None:
            return self
        if is_traced(times):  # theory under jit: the span is unknown, a fixed budget
            return dataclasses.replace(self, max_steps=TRACED_TIMES_STEPS)
        span = float(np.asarray(times)[-1] - np.asarray(times)[0])
        if isinstance(self.stepsize_controller, diffrax.ConstantStepSize):
            steps = math.ceil(span / self.dt0 * (1 + 1e-6)) + 1
        else:
            steps = 1 << max(12, math.ceil(math.log2(max(STEPS_PER_TIME * span, 1.0))))
        return dataclasses.replace(self, max_steps=steps)


#: The default step budget of an adaptive solve per unit of time (`Integration.max_steps`),
#: and the budget when the times are traced (their span unknown at compile time).
STEPS_PER_TIME = 128
TRACED_TIMES_STEPS = 1 << 16

#: `ODESolution.status` codes of one run's solve.
SOLVED, DIVERGED, FAILED = 0, 1, 2
STATUS_NAMES = ("solved", "diverged", "failed")


def _diverged(t, y, args, *, threshold, **kwargs) -> Array:
    """The event that stops a blowing-up solve: a non-finite or too large state entry."""
    del t, args, kwargs
    leaves = [jnp.abs(leaf) for leaf in jax.tree.leaves(y)]
    return jnp.any(jnp.stack([~jnp.all(leaf <= threshold) for leaf in leaves]))


def integrate(vector_field, y0, args, times, integration: Integration):
    """Solve `dy/dt = vector_field(t, y, args)` from `times[0]`, saving at `times`; returns the
    saved states (non-finite after a stop) and the status code (`SOLVED`, `DIVERGED` or
    `FAILED`); never raises. `integration.max_steps` must be set (`Integration.for_times`)."""
    if integration.max_steps is None:
        raise ValueError("integrate needs a step budget: pass integration.for_times(times)")
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
        event=diffrax.Event(
            functools.partial(_diverged, threshold=integration.divergence_threshold)
        ),
        throw=False,
    )
    status = jnp.where(
        solution.result == diffrax.RESULTS.successful,
        SOLVED,
        jnp.where(solution.result == diffrax.RESULTS.event_occurred, DIVERGED, FAILED),
    )
    return solution.ys, status


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
    layout: RunLayout | None = None,
    chunk: int | None = None,
    cost: Array | None = None,
):
    """One compiled solve for a batch of runs: `y0` and `run_args` carry a leading run axis,
    `shared` is common to all; `observe(ys, run_args, shared, status)` turns the saved states
    of one run into what is returned. New values of any array reuse the compilation
    (`eqx.debug.get_num_traces(solve_runs)` counts traces).

    An adaptive solve under `vmap` steps all its runs together until the stiffest is done. With
    `chunk`, the runs are solved `chunk` at a time (one after another), ordered by `cost` (e.g.
    the learning rate: larger rates take more steps) so that each chunk holds runs of similar
    stiffness. With a `layout`, the runs are dealt out over its devices (round robin in the
    order of `cost`, so that every device gets a similar share of stiff runs)."""

    def one(y0, run_args):
        ys, status = integrate(vector_field, y0, (run_args, shared), times, integration)
        return observe(ys, run_args, shared, status)

    def local(runs, _):
        if chunk is None:
            return jax.vmap(one)(*runs)
        return jax.lax.map(lambda pair: one(*pair), runs, batch_size=chunk)

    n = jax.tree.leaves(y0)[0].shape[0]
    order = jnp.arange(n) if cost is None else jnp.argsort(cost)
    if layout is not None and layout.size > 1:  # device d: every d-th run in cost order
        order = jnp.concatenate([order[d :: layout.size] for d in range(layout.size)])
    runs = jax.tree.map(lambda a: a[order], (y0, run_args))
    out = local(runs, None) if layout is None else layout.map(local, runs)
    return jax.tree.map(lambda a: a[jnp.argsort(order)], out)
