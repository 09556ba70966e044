"""A damped fixed-point solver for saddle-point equations, vmappable and differentiable.

`x <- (1 - damping) T(x) + damping x`, Anderson-accelerated, is iterated under `lax.while_loop`
(so a grid of points, vmapped, is one compiled call) and polished by optimistix's
`FixedPointIteration` with implicit differentiation of the fixed point (`optx.ImplicitAdjoint`),
so gradients with respect to the
arguments (sample complexity, regularisation, spectrum) cost one linear solve, not a backward
pass through the iterations. Points that fail (too many steps, or a non-finite iterate) are
retried from their start with more damping, the grid keeping its shape, so nothing recompiles.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ..sweep.layout import RunLayout, grid_layout

__all__ = [
    "FixedPoint",
    "FixedPointGrid",
    "solve_fixed_point",
    "CONVERGED",
    "MAX_STEPS",
    "NON_FINITE",
]

#: Status codes of a fixed point.
CONVERGED, MAX_STEPS, NON_FINITE = 0, 1, 2
STATUS_NAMES = {CONVERGED: "converged", MAX_STEPS: "max steps", NON_FINITE: "non-finite"}


class FixedPoint(eqx.Module):
    """`value`, `status` (`CONVERGED`, `MAX_STEPS` or `NON_FINITE`), the damping that reached it
    and the number of iterations of the last attempt, each with the grid's leading axes."""

    value: jax.Array
    status: jax.Array
    damping: jax.Array
    steps: jax.Array

    @property
    def converged(self) -> jax.Array:
        return self.status == CONVERGED


def failure_lines(alpha, status, name: str = "alpha") -> list[str]:
    """One line per grid point whose status is not `CONVERGED`: `<name> = ...: <reason>`."""
    status = np.asarray(status)
    alpha = np.broadcast_to(np.asarray(alpha), status.shape)
    return [
        f"{name} = {alpha[i]:.6g}: {STATUS_NAMES[int(status[i])]}" for i in zip(*np.nonzero(status))
    ]


class FixedPointGrid(eqx.Module):
    """Fixed points on a grid of one variable (the field named by `grid_field`), with a
    `status` per point: which converged, and a line for each that did not."""

    status: eqx.AbstractVar[jax.Array]
    grid_field: eqx.AbstractClassVar[str]

    @property
    def converged(self) -> jax.Array:
        return self.status == CONVERGED

    def failures(self) -> list[str]:
        """One line per grid point that did not converge."""
        return failure_lines(getattr(self, self.grid_field), self.status, self.grid_field)


def _anderson(update, x0, args, damping, rtol, atol, max_steps, memory):
    """Anderson acceleration (type II) of the damped iteration, memory `memory`: the next
    iterate mixes the last few so that their residuals `T(x) - x` cancel in least squares. It
    turns the slow contraction near an interpolation peak or a small penalty (thousands of
    damped steps) into tens. An extrapolation that is non-finite, or outside the domain the
    update declares with a `valid(x)` method (e.g. positive variances), falls back to the
    damped step, so the iteration cannot jump to an unphysical branch."""
    beta = 1 - damping
    n = x0.shape[0]
    valid = getattr(update, "valid", lambda x: True)

    def residual(x):
        return update(x, args) - x

    def converged(x, f):
        return jnp.all(jnp.abs(f) <= atol + rtol * jnp.abs(x))

    def body(state):
        k, x, f, dX, dF = state
        gram = dF @ dF.T
        scale = jnp.trace(gram) + jnp.finfo(x.dtype).tiny
        gamma = jnp.linalg.solve(gram + 1e-10 * scale * jnp.eye(memory, dtype=x.dtype), dF @ f)
        accelerated = x + beta * f - (dX + beta * dF).T @ gamma
        plain = x + beta * f
        usable = jnp.all(jnp.isfinite(accelerated)) & valid(accelerated)
        x_new = jnp.where(usable, accelerated, plain)
        f_new = residual(x_new)
        dX = jnp.roll(dX, 1, axis=0).at[0].set(x_new - x)
        dF = jnp.roll(dF, 1, axis=0).at[0].set(f_new - f)
        return k + 1, x_new, f_new, dX, dF

    def cond(state):
        k, x, f, _, _ = state
        return (k < max_steps) & ~converged(x, f) & jnp.all(jnp.isfinite(f))

    empty = jnp.zeros((memory, n), x0.dtype)
    k, x, f, _, _ = jax.lax.while_loop(cond, body, (0, x0, residual(x0), empty, empty))
    return x, k


def _attempt(update, x0, args, damping, rtol, atol, max_steps, memory=0):
    steps = 0
    if memory:  # accelerate, then let optimistix polish it (and differentiate it implicitly)
        x0, steps = _anderson(update, x0, args, damping, rtol, atol, max_steps, memory)
        x0 = jax.lax.stop_gradient(x0)

    def damped(x, args):
        return (1 - damping) * update(x, args) + damping * x

    solution = optx.fixed_point(
        damped,
        optx.FixedPointIteration(rtol=rtol, atol=atol),
        x0,
        args=args,
        max_steps=max_steps,
        throw=False,
        adjoint=optx.ImplicitAdjoint(),
    )
    finite = jnp.all(jnp.isfinite(solution.value))
    ok = solution.result == optx.RESULTS.successful
    status = jnp.where(~finite, NON_FINITE, jnp.where(ok, CONVERGED, MAX_STEPS))
    return solution.value, status, steps + solution.stats["num_steps"]


@eqx.filter_jit
def _grid_attempt(update, x0, args, damping, rtol, atol, max_steps, memory, layout):
    def local(points, _):
        def one(x0, args, d):
            return _attempt(update, x0, args, d, rtol, atol, max_steps, memory)

        return jax.vmap(one)(*points)

    points = (x0, args, damping)
    return local(points, None) if layout is None else layout.map(local, points)


def solve_fixed_point(
    update: Callable,
    x0: jax.Array,
    args,
    *,
    damping: float = 0.5,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 10_000,
    retries: int = 3,
    anderson: int = 5,
    layout: RunLayout | None = None,
) -> FixedPoint:
    """Solve `x = update(x, args)` for a batch of problems.

    `x0 (B, n)` and every leaf of `args` carry a leading batch axis `B`. The damped iteration
    is Anderson-accelerated with memory `anderson` (0 turns it off), then polished by
    optimistix's fixed-point iteration, which also supplies the implicit gradient. Each failed
    point is retried up to `retries` times from `x0` with the damping moved halfway to 1
    (0.5 -> 0.75 -> 0.875 ...). Differentiable with respect to `args` (implicit function
    theorem). The points are dealt out over the devices of `layout` (default: this process's
    devices), each device iterating its own.
    """
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    x0 = jnp.asarray(x0)
    batch = x0.shape[0]
    damp = jnp.full((batch,), damping, x0.dtype)
    layout = grid_layout(layout, x0, args)
    options = (rtol, atol, max_steps, anderson, layout)
    value, status, steps = _grid_attempt(update, x0, args, damp, *options)
    for _ in range(retries):
        failed = status != CONVERGED
        try:  # under jit, grad or vmap the status is not known yet: no retries there
            if not np.any(np.asarray(failed)):
                break
        except jax.errors.TracerArrayConversionError:
            break
        damp = jnp.where(failed, (1 + damp) / 2, damp)
        start = jnp.where(failed[:, None], x0, value)
        value, status, steps = _grid_attempt(update, start, args, damp, *options)
    return FixedPoint(value=value, status=status, damping=damp, steps=steps)
