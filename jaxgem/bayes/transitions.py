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

__all__ = ["Branch", "Thresholds", "branch", "thresholds"]


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


@eqx.filter_jit
def _bisect(fn, lower, upper, args):
    """The root of `fn(u, args)` in `[lower, upper]` (a sign change) by optimistix's bisection."""
    solver = optx.Bisection(rtol=1e-13, atol=1e-13, flip="detect")
    y0 = (lower + upper) / 2
    sol = optx.root_find(fn, solver, y0, args, options=dict(lower=lower, upper=upper),
                         max_steps=200, throw=False)  # fmt: skip
    return sol.value


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
    points: int = 1200,
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


def _crossing(prior, channel, u, curve, turn, top, alpha_alg):
    """`alpha` where the low stable branch and the next stable branch have equal free entropy:
    bisection in `alpha`, each side's fixed point found by bisection in `mh`."""
    stable = np.asarray(curve.stable)
    rises = np.nonzero(stable & (np.arange(len(u)) > turn))[0]
    if rises.size == 0:
        return jnp.asarray(np.nan)
    start = rises[0]
    after = np.nonzero(~stable[start:])[0]
    stop = start + after[0] if after.size else len(u) - 1
    alpha = np.asarray(curve.alpha)
    low_lo, high_lo = max(alpha[0], alpha[start]), min(alpha_alg, alpha[stop])
    if not low_lo < high_lo:
        return jnp.asarray(np.nan)
    segments = ((jnp.asarray(u[0]), top), (jnp.asarray(u[start]), jnp.asarray(u[stop])))

    def difference(a):
        roots = [_bisect(_alpha_gap, lo, hi, (prior, channel, a)) for lo, hi in segments]
        f = [_point(prior, channel, root)[3] for root in roots]
        return float(f[0] - f[1])

    inset = 1e-9 * (high_lo - low_lo)  # the ends are fixed points of one segment only
    lo, hi = low_lo + inset, high_lo - inset
    d_lo = difference(lo)
    if np.sign(d_lo) == np.sign(difference(hi)):
        return jnp.asarray(np.nan)
    for _ in range(50):
        mid = (lo + hi) / 2
        d_mid = difference(mid)
        lo, hi, d_lo = (mid, hi, d_mid) if np.sign(d_mid) == np.sign(d_lo) else (lo, mid, d_lo)
    return jnp.asarray((lo + hi) / 2)
