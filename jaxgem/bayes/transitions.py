"""Phase transitions of Bayes-optimal GLMs from the branch of fixed points, without bisecting on
state-evolution outcomes (THEORY.md Sec. 8).

Since `mh = alpha E g_out^2(m)` is linear in alpha, the fixed points form one explicit curve
parametrised by `mh`: `m = m(mh)`, `alpha(mh) = mh / E g_out^2(m(mh))`, with free entropy
`f(mh)`. A fixed point is stable where `alpha(mh)` increases. Then

- `alpha_wr` (weak recovery, even channels): `alpha(mh -> 0)`, where `m = 0` loses stability;
- `alpha_alg`: the first turning point (local maximum) of `alpha(mh)`: the spinodal where the
  branch AMP follows from small `m` ends;
- `alpha_it`: where the free entropy of that branch equals the informative one's: perfect
  recovery with `f = -entropy(prior)` (discrete prior, noiseless discrete labels), the next
  stable branch (noisy channels), or, for a noiseless real-valued channel, where the divergent
  free entropy of perfect recovery changes sign: the prior's information dimension.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from .channels import OutputChannel
from .evolution import GAP, _grid, free_entropy
from .priors import Prior

__all__ = ["Branch", "Thresholds", "PhaseDiagram", "branch", "thresholds", "phase_diagram"]


class Branch(eqx.Module):
    """Fixed points of the state evolution along `mh`: `m`, `alpha`, `free_entropy`, `stable`
    (where `alpha(mh)` increases)."""

    mh: jax.Array
    m: jax.Array
    alpha: jax.Array
    free_entropy: jax.Array
    stable: jax.Array


class Thresholds(eqx.Module):
    """`alpha_wr`, `alpha_alg`, `alpha_it` (NaN where there is no such transition) and the rule
    that gave `alpha_it` (`"perfect recovery"`, `"branch crossing"`, `"information dimension"`
    or `"none"`)."""

    alpha_wr: jax.Array
    alpha_alg: jax.Array
    alpha_it: jax.Array
    it_rule: str = eqx.field(static=True)


def _alpha_of(prior, channel, u):
    """`alpha` at `mh = exp(u)`."""
    mh = jnp.exp(u)
    rho = prior.rho
    m = jnp.clip(prior.overlap(mh), 0.0, rho * (1 - GAP))
    return mh / channel.g_squared(m, rho)


def _point(prior, channel, u):
    mh = jnp.exp(u)
    rho = prior.rho
    m = jnp.clip(prior.overlap(mh), 0.0, rho * (1 - GAP))
    alpha, slope = jax.jvp(lambda u: _alpha_of(prior, channel, u), (u,), (jnp.ones_like(u),))
    return mh, m, alpha, free_entropy(prior, channel, alpha, m, mh), slope > 0


@eqx.filter_jit
def branch(prior: Prior, channel: OutputChannel, mh) -> Branch:
    """The fixed points at the values `mh` (1-d), in one vmapped call."""
    u = jnp.log(jnp.asarray(mh, jnp.result_type(float)))
    return Branch(*jax.vmap(_point, (None, None, 0))(prior, channel, u))


def _root(fn, lower, upper, args):
    """The root of `fn(u, args)` in `[lower, upper]` (a sign change) by optimistix's bisection."""
    solver = optx.Bisection(rtol=1e-13, atol=1e-13, flip="detect")
    y0 = (lower + upper) / 2
    sol = optx.root_find(fn, solver, y0, args, options=dict(lower=lower, upper=upper),
                         max_steps=200, throw=False)  # fmt: skip
    return sol.value


_bisect = eqx.filter_jit(_root)


def _slope(u, args):
    prior, channel = args
    return jax.grad(lambda u: _alpha_of(prior, channel, u))(u)


def _gap_to_perfect(u, args):
    prior, channel, perfect = args
    mh, m, alpha, f, _ = _point(prior, channel, u)
    return f - perfect


def _alpha_gap(u, args):
    prior, channel, alpha = args
    return _alpha_of(prior, channel, u) - alpha


def thresholds(
    prior: Prior,
    channel: OutputChannel,
    *,
    mh_range: tuple[float, float] = (1e-6, 1e6),
    points: int = 600,
) -> Thresholds:
    """The weak-recovery, algorithmic and information-theoretic thresholds of one model.

    The branch is scanned at `points` values of `mh` (log-spaced in `mh_range`) and each
    transition is then located to 1e-10 by bisection of an exact condition (the turning point
    `d alpha / d mh = 0`, equal free entropies). Example:
    `bayes.thresholds(bayes.Rademacher(), bayes.Sign())` gives alpha_IT 1.2449, alpha_alg 1.4925.
    """
    (_, prior, channel), shape = _grid(1.0, prior, channel)
    if shape not in ((), (1,)):
        raise ValueError("thresholds takes one model; use phase_diagram for a grid of them")
    prior, channel = jax.tree.map(lambda a: a[0], (prior, channel))
    u = np.linspace(np.log(mh_range[0]), np.log(mh_range[1]), points)
    curve = branch(prior, channel, np.exp(u))
    alpha, stable = np.asarray(curve.alpha), np.asarray(curve.stable)
    nan = jnp.asarray(np.nan)
    alpha_wr = jnp.asarray(alpha[0]) if channel.even else nan
    falls = np.nonzero(~stable & (np.arange(points) > 0))[0]
    if falls.size == 0 or not stable[: falls[0]].any():
        alpha_alg, turn = nan, None
    else:
        turn = falls[0]
        top = _bisect(_slope, jnp.asarray(u[turn - 1]), jnp.asarray(u[turn]), (prior, channel))
        alpha_alg = _alpha_of(prior, channel, top)
    alpha_it, rule = nan, "none"
    if turn is not None:  # a first-order transition: which branch is the optimum?
        if channel.deterministic and channel.discrete and np.isfinite(prior.entropy()):
            perfect = -jnp.asarray(prior.entropy(), u.dtype)
            gap = np.asarray(curve.free_entropy[:turn]) - float(perfect)
            crossing = np.nonzero(np.diff(np.sign(gap)))[0]
            if crossing.size:
                i = crossing[0]
                root = _bisect(_gap_to_perfect, jnp.asarray(u[i]), jnp.asarray(u[i + 1]),
                               (prior, channel, perfect))  # fmt: skip
                alpha_it, rule = _alpha_of(prior, channel, root), "perfect recovery"
        elif channel.deterministic and not channel.discrete:
            alpha_it, rule = jnp.asarray(prior.information_dimension), "information dimension"
        else:
            crossing = _crossing(prior, channel, u, curve, turn, top, float(alpha_alg))
            alpha_it, rule = crossing, "branch crossing"
    return Thresholds(alpha_wr=alpha_wr, alpha_alg=alpha_alg, alpha_it=alpha_it, it_rule=rule)


def _free_entropy_gap(alpha, args):
    """`f` of the low branch minus `f` of the high one at `alpha` (each fixed point found by
    bisection in `u = ln mh` within its segment)."""
    prior, channel, segments = args
    f = [
        _point(prior, channel, _root(_alpha_gap, lo, hi, (prior, channel, alpha)))[3]
        for lo, hi in segments
    ]
    return f[0] - f[1]


def _crossing(prior, channel, u, curve, turn, top, alpha_alg):
    """`alpha` where the low stable branch and the next stable branch have equal free entropy:
    one compiled nested bisection (in `alpha` outside, in `mh` on each branch inside)."""
    stable = np.asarray(curve.stable)
    rises = np.nonzero(stable & (np.arange(len(u)) > turn))[0]
    if rises.size == 0:
        return jnp.asarray(np.nan)
    start = rises[0]
    after = np.nonzero(~stable[start:])[0]
    stop = start + after[0] if after.size else len(u) - 1
    alpha = np.asarray(curve.alpha)
    low, high = max(alpha[0], alpha[start]), min(alpha_alg, alpha[stop])
    if not low < high:
        return jnp.asarray(np.nan)
    segments = ((jnp.asarray(u[0]), top), (jnp.asarray(u[start]), jnp.asarray(u[stop])))
    inset = 1e-9 * (high - low)  # the ends are fixed points of one segment only
    low, high = jnp.asarray(low + inset), jnp.asarray(high - inset)
    args = (prior, channel, segments)
    ends = [float(eqx.filter_jit(_free_entropy_gap)(a, args)) for a in (low, high)]
    if np.sign(ends[0]) == np.sign(ends[1]):
        return jnp.asarray(np.nan)
    return _bisect(_free_entropy_gap, low, high, args)


class PhaseDiagram(eqx.Module):
    """`alpha_alg` and `alpha_it` over a grid of models (the prior's and channel's scalar
    parameters as arrays, e.g. `GaussBernoulli(density=densities)`), each with the grid's
    shape; `it_rule` as in `Thresholds`."""

    alpha_alg: jax.Array
    alpha_it: jax.Array
    it_rule: str = eqx.field(static=True)


@eqx.filter_jit
def _tops(prior, channel, lower, upper):
    return jax.vmap(lambda p, c, lo, hi: _alpha_of(p, c, _root(_slope, lo, hi, (p, c))))(
        prior, channel, lower, upper
    )


def phase_diagram(
    prior: Prior,
    channel: OutputChannel,
    *,
    mh_range: tuple[float, float] = (1e-6, 1e6),
    points: int = 600,
) -> PhaseDiagram:
    """`alpha_alg` (and `alpha_it`) of a grid of models in one vmapped scan of their branches
    and one vmapped bisection of their turning points, e.g. the compressed-sensing phase
    diagram `bayes.phase_diagram(bayes.GaussBernoulli(density=jnp.linspace(0.1, 0.9, 9)),
    bayes.Linear())`. `alpha_it` is given by the information dimension (noiseless real-valued
    channels); other models need `thresholds` one at a time (NaN here)."""
    (_, prior, channel), shape = _grid(1.0, prior, channel)
    u = np.linspace(np.log(mh_range[0]), np.log(mh_range[1]), points)
    curves = jax.vmap(branch, (0, 0, None))(prior, channel, np.exp(u))
    stable = np.asarray(curves.stable)
    rows = np.arange(stable.shape[0])
    falls = ~stable & (np.arange(points) > 0)
    turn = np.where(falls.any(1), falls.argmax(1), 1)
    has_turn = falls.any(1) & np.array([stable[r, : turn[r]].any() for r in rows])
    tops = _tops(prior, channel, jnp.asarray(u[turn - 1]), jnp.asarray(u[turn]))
    alpha_alg = jnp.where(jnp.asarray(has_turn), tops, jnp.nan).reshape(shape)
    noiseless_real = bool(np.all(np.asarray(channel.deterministic))) and not channel.discrete
    if noiseless_real:
        dims = jax.vmap(lambda p: jnp.asarray(p.information_dimension, float))(prior)
        alpha_it, rule = (
            jnp.where(jnp.asarray(has_turn), dims, jnp.nan).reshape(shape),
            ("information dimension"),
        )
    else:
        alpha_it, rule = jnp.full(shape, jnp.nan), "none"
    return PhaseDiagram(alpha_alg=alpha_alg, alpha_it=alpha_it, it_rule=rule)
