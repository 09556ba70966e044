"""The sign committee machine with Gaussian weights for many hidden units: the committee-symmetric
state evolution in the limit `K -> infinity` with `alpha = alpha~ K` (THEORY.md Sec. 9).

With `alpha = O(K)` samples per dimension the teacher's sum direction `1 1^T / K` is learned
exactly (its conjugate grows like K), so `q = q_d I + (1 - q_d) 1 1^T / K` and one order parameter
`q_d` is left. Given the student's fields the teacher's vote `T = sum_k sign(z_k) / sqrt K` is
Gaussian by the central limit theorem (the constraint that the unknown part of the fields sums to
zero enters through its correlation with T), so the output is a perceptron with the overlap

    Q(q_d) = (2 / pi) (1 - q_d + arcsin q_d),

`2/pi` without specialisation (the teacher's sum alone) and 1 at `q_d = 1`. Per hidden unit the
free entropy and the state evolution are

    f(q_d)      = q_d / 2 + ln(1 - q_d) / 2 + alpha~ Psi(Q(q_d))       (Psi: perceptron, Sec. 8)
    q_d / (1 - q_d) = alpha~ E[g_out^2](Q) Q'(q_d),    Q'(q_d) = (2/pi) (1/sqrt(1 - q_d^2) - 1).

`Q'(0) = 0`, so `q_d = 0` is a fixed point that stays stable at every `alpha~`: from an
uninformative start the state evolution (and AMP) does not specialise with `alpha = O(K)`
samples (Aubin et al.: it needs `alpha ~ K^2`). The specialised branch appears at a spinodal and
takes over where the free entropies cross. The Bayes-optimal error (half the squared error of
the posterior-mean output) is `1/2 - arcsin(Q)/pi`.

Aubin, Maillard, Barbier, Krzakala, Macris, Zdeborová, NeurIPS 2018 (Sec. 4 and the large-K
appendix; the talk quotes `n > 7.65 K d`).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ..bayes.channels import Sign
from ..checks import require, shown
from ..replica.fixed_point import FixedPointGrid, solve_fixed_point

__all__ = [
    "LargeKEvolution",
    "LargeKTransitions",
    "large_k_overlap",
    "large_k_free_entropy",
    "large_k_alpha",
    "large_k_evolution",
    "large_k_transitions",
]

#: `q_d` stays in `[0, 1 - GAP]`.
GAP = 1e-12
#: `q_d` above this counts as specialised.
SPECIALISED = 1e-3
_PERCEPTRON = Sign()


def large_k_overlap(q_d):
    """`Q(q_d) = (2/pi)(1 - q_d + arcsin q_d)`: the overlap of the effective perceptron."""
    return 2 / jnp.pi * (1 - q_d + jnp.arcsin(q_d))


def _overlap_slope(q_d):
    """`Q'(q_d) = (2/pi)(1/sqrt(1 - q_d^2) - 1)`, zero at `q_d = 0`."""
    return 2 / jnp.pi * (1 / jnp.sqrt(1 - q_d**2) - 1)


def large_k_free_entropy(alpha_tilde, q_d):
    """`f(q_d) = q_d/2 + ln(1 - q_d)/2 + alpha~ Psi(Q(q_d))` per hidden unit (the prior's term at
    its stationary conjugate `r_d = q_d / (1 - q_d)`); broadcasts over both arguments."""

    def one(alpha_tilde, q_d):
        psi = _PERCEPTRON.free_entropy(large_k_overlap(q_d), 1.0)
        return q_d / 2 + jnp.log1p(-q_d) / 2 + alpha_tilde * psi

    dtype = jnp.result_type(float)
    return jnp.vectorize(one)(jnp.asarray(alpha_tilde, dtype), jnp.asarray(q_d, dtype))


def _conjugate_per_sample(q_d):
    """`r_d / alpha~ = E[g_out^2](Q) Q'(q_d)`."""
    return _PERCEPTRON.g_squared(large_k_overlap(q_d), 1.0) * _overlap_slope(q_d)


def large_k_alpha(q_d):
    """`alpha~(q_d) = q_d / ((1 - q_d) E[g_out^2] Q')`: the sample ratio at which `q_d` is a
    fixed point of the state evolution (explicit: the branches as curves in `q_d`)."""
    q_d = jnp.asarray(q_d, jnp.result_type(float))
    return jnp.vectorize(lambda q: q / ((1 - q) * _conjugate_per_sample(q)))(q_d)


def _generalisation_error(q_d):
    return 0.5 - jnp.arcsin(jnp.clip(large_k_overlap(q_d), 0.0, 1.0)) / jnp.pi


class LargeKEvolution(FixedPointGrid):
    """One branch on a grid of `alpha_tilde = alpha / K`: `q_d`, `overlap` (`Q`), `free_entropy`
    per hidden unit, `generalisation_error`, `specialised`, `status` (0 converged), `steps`."""

    alpha_tilde: jax.Array
    q_d: jax.Array
    overlap: jax.Array
    free_entropy: jax.Array
    generalisation_error: jax.Array
    specialised: jax.Array
    status: jax.Array
    steps: jax.Array

    grid_field: ClassVar[str] = "alpha_tilde"


def _update(x, alpha_tilde):
    q_d = jnp.clip(x[0], 0.0, 1 - GAP)
    r = alpha_tilde * _conjugate_per_sample(q_d)
    return jnp.atleast_1d(jnp.clip(r / (1 + r), 0.0, 1 - GAP))


def large_k_evolution(
    alpha_tilde, start: str | float = "uninformative", *, rtol: float = 1e-10, atol: float = 1e-12
) -> LargeKEvolution:
    """The state evolution of `q_d` at each `alpha_tilde = alpha / K` (any shape), from
    `start`: `"uninformative"` (`q_d = 1e-6`, where AMP starts), `"informed"` (`q_d` near 1) or a
    value in `[0, 1)`.

    Example: `large_k_evolution(jnp.linspace(4, 12, 9), "informed").q_d` is the specialised
    branch from its spinodal `alpha~ = 7.17` on (0 below it)."""
    dtype = jnp.result_type(float)
    alpha_tilde = jnp.asarray(alpha_tilde, dtype)
    require(alpha_tilde, alpha_tilde > 0, f"alpha_tilde must be positive, got {shown(alpha_tilde)}")
    starts = {"uninformative": 1e-6, "informed": 1 - 1e-6}
    if isinstance(start, str):
        if start not in starts:
            raise ValueError(f"start must be one of {sorted(starts)} or a number, got {start!r}")
        start = starts[start]
    if not 0.0 <= float(start) < 1.0:
        raise ValueError(f"start must lie in [0, 1), got {start!r}")
    flat = alpha_tilde.reshape(-1)
    x0 = jnp.full((flat.size, 1), start, dtype)
    solved = solve_fixed_point(
        _update, x0, flat, damping=0.0, rtol=rtol, atol=atol, max_steps=20_000, anderson=0
    )
    q_d = solved.value[:, 0]
    q_d = jnp.where(q_d < SPECIALISED, 0.0, q_d)  # the branch is q_d = 0 exactly
    shape = alpha_tilde.shape
    return LargeKEvolution(
        alpha_tilde=alpha_tilde,
        q_d=q_d.reshape(shape),
        overlap=large_k_overlap(q_d).reshape(shape),
        free_entropy=large_k_free_entropy(flat, q_d).reshape(shape),
        generalisation_error=_generalisation_error(q_d).reshape(shape),
        specialised=(q_d > SPECIALISED).reshape(shape),
        status=solved.status.reshape(shape),
        steps=solved.steps.reshape(shape),
    )


class LargeKTransitions(eqx.Module):
    """The thresholds in `alpha~ = alpha / K` for `K -> infinity`: `spinodal` (the specialised
    branch appears, with `q_d = spinodal_q_d`), `alpha_spec` (its free entropy overtakes the
    non-specialised one, with `q_d = spec_q_d`) and the errors of both branches there."""

    spinodal: float
    spinodal_q_d: float
    alpha_spec: float
    spec_q_d: float
    error_non_specialised: float
    error_specialised: float


def _apply(x, fn):
    return fn(x)


def _root(fn, lower, upper, rtol=1e-12):
    """A root of the scalar `fn` (a module-level function: compiled once) bracketed by
    `[lower, upper]` (optimistix bisection)."""
    solver = optx.Bisection(rtol=rtol, atol=rtol)
    dtype = jnp.result_type(float)
    return optx.root_find(
        _apply,
        solver,
        jnp.asarray((lower + upper) / 2, dtype),
        args=fn,
        options=dict(lower=jnp.asarray(lower, dtype), upper=jnp.asarray(upper, dtype)),
        max_steps=200,
    ).value


_slope = jax.grad(large_k_alpha)


def _gap(q_d):
    """Free entropy of the fixed point `q_d` minus the non-specialised one, at `alpha~(q_d)`."""
    alpha_tilde = large_k_alpha(q_d)
    return large_k_free_entropy(alpha_tilde, q_d) - large_k_free_entropy(alpha_tilde, 0.0)


def large_k_transitions(points: int = 400) -> LargeKTransitions:
    """The spinodal (the minimum of `alpha~(q_d)`) and `alpha_spec` (the free-entropy crossing on
    the stable upper branch), bracketed on a grid of `points` values of `q_d` and refined by
    bisection on the derivative and on the gap."""
    grid = 1 - np.geomspace(0.9, 1e-6, points)  # dense towards q_d = 1
    alphas = np.asarray(jax.jit(large_k_alpha)(grid))
    i = int(np.argmin(alphas))
    q_spin = float(_root(_slope, grid[max(i - 1, 0)], grid[min(i + 1, points - 1)]))
    gaps = np.asarray(jax.jit(jax.vmap(_gap))(jnp.asarray(grid)))
    upper = (grid > q_spin) & (gaps > 0)
    j = int(np.argmax(upper))  # the first point of the upper branch with a positive gap
    q_spec = float(_root(_gap, grid[j - 1], grid[j]))
    return LargeKTransitions(
        spinodal=float(large_k_alpha(q_spin)),
        spinodal_q_d=q_spin,
        alpha_spec=float(large_k_alpha(q_spec)),
        spec_q_d=q_spec,
        error_non_specialised=float(_generalisation_error(0.0)),
        error_specialised=float(_generalisation_error(q_spec)),
    )
