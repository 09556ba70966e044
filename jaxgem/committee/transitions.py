"""The specialisation transition of the committee machine (THEORY.md Sec. 9).

- `alpha_alg`: where the non-specialised branch (`q = q_a/K 1 1^T`) becomes unstable to
  specialisation, so that AMP from an uninformative start leaves it: the largest eigenvalue
  `lambda` of the state evolution's Jacobian in the specialising direction (`I - 1 1^T/K`,
  orthogonal to the non-specialised subspace, which is invariant) crosses 1.
- `alpha_spec`: the information-theoretic threshold, where the specialised branch's free
  entropy overtakes the non-specialised one. For a discrete prior and a discrete channel the
  specialised branch is perfect recovery (`q = rho`, free entropy `-H(P0)`, e.g. `-K ln 2` for
  binary weights); otherwise it is followed from an informed start. When the specialised branch
  grows continuously out of the non-specialised one (a second-order transition, as for K = 2
  with Gaussian weights) the two thresholds coincide.

Each threshold is a root of a smooth function of alpha (`lambda - 1`, a free-entropy gap),
bracketed on a grid and refined on finer grids in one compiled, vmapped call per grid (no
bisection on the outcomes of slowly converging iterations).

Aubin, Maillard, Barbier, Krzakala, Macris, Zdeborová, NeurIPS 2018.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .channels import CommitteeChannel, SignCommittee
from .evolution import committee_evolution, state_step, symmetric_parts
from .priors import CommitteePrior, DiscreteWeights

__all__ = ["CommitteeTransitions", "committee_transitions", "instability"]

#: Relative size of the specialising perturbation of the finite-difference eigenvalue.
STEP = 1e-6


class CommitteeTransitions(eqx.Module):
    """`alpha_alg` (AMP leaves the non-specialised branch), `alpha_spec` (the specialised branch
    has the larger free entropy), `continuous` (a second-order transition: they coincide) and
    `rule` (how `alpha_spec` was found: `continuous`, `perfect recovery` or `branch crossing`)."""

    alpha_alg: float
    alpha_spec: float
    continuous: bool
    rule: str


def _nonspecialised(prior, channel, alpha, **options):
    return committee_evolution(prior, channel, alpha, start="non-specialised", **options)


@eqx.filter_jit
def _eigenvalue(prior, channel, alpha, q):
    """`lambda`: the growth of a specialising perturbation `q + eps (I - 1 1^T/K)` over one
    step of the state evolution, by a one-sided difference (q_d >= 0)."""
    K = prior.K
    rho = prior.rho.astype(q.dtype)
    direction = jnp.eye(K, dtype=q.dtype) - jnp.ones((K, K), q.dtype) / K
    scale = jnp.trace(rho) / K

    def one(a, q):
        new = state_step(prior, channel, a, q + STEP * scale * direction)
        return symmetric_parts(new)[0] / (STEP * scale)

    return jax.vmap(one)(alpha, q)


def instability(prior: CommitteePrior, channel: CommitteeChannel, alpha) -> jax.Array:
    """`lambda(alpha)`: the eigenvalue of the state evolution at the non-specialised fixed point
    in the specialising direction (stable below 1). `alpha` is a 1-d array."""
    alpha = jnp.atleast_1d(jnp.asarray(alpha, jnp.result_type(float)))
    q = _nonspecialised(prior, channel, alpha).q
    return _eigenvalue(prior, channel, alpha, q)


def _root(fn, low, high, points, rounds):
    """The first sign change of `fn` (vectorised over a 1-d grid) on `[low, high]`, refined on
    `rounds` finer grids of `points` and located by linear interpolation; `inf` if none."""
    grid = np.geomspace(low, high, points)
    values = np.asarray(fn(grid))
    for round_ in range(rounds + 1):
        change = np.nonzero(np.sign(values[1:]) != np.sign(values[:-1]))[0]
        if change.size == 0:
            return np.inf
        i = change[0]
        a, b, fa, fb = grid[i], grid[i + 1], values[i], values[i + 1]
        if round_ == rounds:
            break
        grid = np.linspace(a, b, points)
        values = np.asarray(fn(grid))
        values[0], values[-1] = fa, fb
    return float(a - fa * (b - a) / (fb - fa))


def committee_transitions(
    prior: CommitteePrior,
    channel: CommitteeChannel,
    *,
    low: float = 0.2,
    high: float = 12.0,
    points: int = 12,
    rounds: int = 2,
) -> CommitteeTransitions:
    """`alpha_alg` and `alpha_spec` searched on `[low, high]` (scaled by K for `high`).

    Example: `committee.committee_transitions(committee.GaussianWeights(2),
    committee.SignCommittee(2))` gives a continuous transition near alpha = 2."""
    high = high * prior.K / 2

    def gap(grid):
        return np.asarray(instability(prior, channel, grid)) - 1

    alpha_alg = _root(gap, low, high, points, rounds)
    perfect = isinstance(prior, DiscreteWeights) and isinstance(channel, SignCommittee)
    if perfect:
        entropy = -float(np.sum(np.exp(prior.log_weights) * np.asarray(prior.log_weights)))

        def crossing(grid):
            f = _nonspecialised(prior, channel, jnp.asarray(grid)).free_entropy
            return np.asarray(f) + entropy

        return CommitteeTransitions(
            alpha_alg=alpha_alg,
            alpha_spec=_root(crossing, low, high, points, rounds),
            continuous=False,
            rule="perfect recovery",
        )
    below = committee_evolution(prior, channel, jnp.asarray([0.99 * alpha_alg]), start="informed")
    if np.isfinite(alpha_alg) and not bool(below.specialised[0]):
        return CommitteeTransitions(
            alpha_alg=alpha_alg, alpha_spec=alpha_alg, continuous=True, rule="continuous"
        )

    def branch_gap(grid):
        grid = jnp.asarray(grid)
        informed = committee_evolution(prior, channel, grid, start="informed")
        other = _nonspecialised(prior, channel, grid)
        gap = np.asarray(informed.free_entropy - other.free_entropy)
        return np.where(np.asarray(informed.specialised), gap, -1.0)

    top = alpha_alg if np.isfinite(alpha_alg) else high
    return CommitteeTransitions(
        alpha_alg=alpha_alg,
        alpha_spec=_root(branch_gap, low, top, points, rounds),
        continuous=False,
        rule="branch crossing",
    )
