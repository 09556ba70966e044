"""State evolution of the committee machine over K x K overlaps, its free entropy and the
Bayes-optimal generalisation error (THEORY.md Sec. 9).

`q <- q(r)` (the prior's overlap), `r = alpha E g_out g_out^T` (the channel's), iterated undamped
(the dynamics AMP follows) under `lax.while_loop`, a whole grid of `alpha` in one vmapped call.
From an uninformative start (`q` near 0) the iteration stays on the **non-specialised** branch
(`q = q_a/K 1 1^T`: the student learns the teacher's sum) until that branch ends; from an informed
start (`q` near `rho`) it finds the **specialised** branch (`q_d > 0`). The Bayes-optimal
estimator is on the branch of larger free entropy
`f_RS = -Tr(r q)/2 + psi_P0(r) + alpha Psi_out(q; rho)`.

Aubin, Maillard, Barbier, Krzakala, Macris, Zdeborová, NeurIPS 2018; Schwarze, J. Phys. A 26
(1993).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..bayes.evolution import _grid
from ..checks import require, shown
from ..replica.fixed_point import FixedPointGrid, solve_fixed_point
from .channels import CommitteeChannel
from .priors import CommitteePrior

__all__ = [
    "CommitteeEvolution",
    "CommitteeOptimal",
    "committee_evolution",
    "committee_optimal",
    "committee_free_entropy",
    "symmetric_parts",
]

#: The eigenvalues of `rho^{-1/2} q rho^{-1/2}` stay in `[0, 1 - GAP]` (`rho - q` invertible).
GAP = 1e-10
#: `q_d` above this (relative to `rho`) counts as specialised.
SPECIALISED = 1e-3


def symmetric_parts(q):
    """`(q_d, q_a)` of `q = q_d I + (q_a / K) 1 1^T` (from the means of the diagonal and the
    off-diagonal entries; exact on committee-symmetric matrices)."""
    K = q.shape[-1]
    diagonal = jnp.trace(q, axis1=-2, axis2=-1) / K
    if K == 1:
        return diagonal, jnp.zeros_like(diagonal)
    off = (jnp.sum(q, axis=(-2, -1)) - K * diagonal) / (K * (K - 1))
    return diagonal - off, K * off


def committee_free_entropy(prior: CommitteePrior, channel: CommitteeChannel, alpha, q, r):
    """`f_RS(q, r) = -Tr(r q)/2 + psi_P0(r) + alpha Psi_out(q; rho)`; its stationary points are
    the fixed points of the state evolution."""
    return (
        -jnp.trace(r @ q) / 2
        + prior.free_entropy(r)
        + alpha * channel.free_entropy(q, prior.rho.astype(q.dtype))
    )


def _project(q, rho):
    """Symmetrise `q` and clip it between 0 and `rho (1 - GAP)` (in the `rho`-whitened basis)."""
    values, vectors = jnp.linalg.eigh(rho)
    half = (vectors * jnp.sqrt(values)) @ vectors.T
    inverse = (vectors / jnp.sqrt(values)) @ vectors.T
    white = inverse @ ((q + q.T) / 2) @ inverse
    lam, u = jnp.linalg.eigh((white + white.T) / 2)
    white = (u * jnp.clip(lam, 0.0, 1 - GAP)) @ u.T
    return half @ white @ half


def _to_vector(q):
    """The upper triangle of symmetric matrices `(..., K, K)`, `(..., K (K + 1) / 2)`."""
    rows, cols = np.triu_indices(q.shape[-1])
    return q[..., rows, cols]


def _to_matrix(x, K):
    rows, cols = np.triu_indices(K)
    q = jnp.zeros(x.shape[:-1] + (K, K), x.dtype).at[..., rows, cols].set(x)
    return q + jnp.swapaxes(q, -1, -2) - q * jnp.eye(K, dtype=x.dtype)


def state_step(prior: CommitteePrior, channel: CommitteeChannel, alpha, q, rank_one=False):
    """One step of the state evolution, `q -> q(alpha E g_out g_out^T (q))`, from `q` projected
    into `[0, rho]` (`rank_one`: `q` lies on the non-specialised subspace). The one update that
    the fixed points, the instability and the per-iteration predictions for AMP iterate."""
    rho = prior.rho.astype(q.dtype)
    return prior.overlap(alpha * channel.moments(_project(q, rho), rho, rank_one)[0])


class _Update(eqx.Module):
    """One state-evolution step `q -> q(alpha E g g^T(q))` on the upper triangle of `q`
    (`rank_one`: the iteration stays in the non-specialised subspace)."""

    rank_one: bool = eqx.field(static=True, default=False)

    def __call__(self, x, args):
        alpha, prior, channel = args
        return _to_vector(state_step(prior, channel, alpha, _to_matrix(x, prior.K), self.rank_one))

    def valid(self, x):
        return jnp.all(jnp.isfinite(x))


class CommitteeEvolution(FixedPointGrid):
    """Fixed points of the committee state evolution on a grid of `alpha` (fields have the
    grid's shape, `q` and `r` two more axes K x K): `q_d`, `q_a` (committee-symmetric parts),
    `specialised` (`q_d > 1e-3`), `free_entropy`, `generalisation_error` (half the squared error
    of the posterior-mean output), `status` (0 converged, 1 max steps, 2 non-finite), `steps`."""

    alpha: jax.Array
    q: jax.Array
    r: jax.Array
    q_d: jax.Array
    q_a: jax.Array
    specialised: jax.Array
    free_entropy: jax.Array
    generalisation_error: jax.Array
    status: jax.Array
    steps: jax.Array

    grid_field: ClassVar[str] = "alpha"


class CommitteeOptimal(eqx.Module):
    """Both branches and the Bayes-optimal one: `uninformed` (from `q` near 0: what AMP
    reaches), `informed` (from `q` near `rho`), `optimal` (at each point the branch of larger free
    entropy) and `hard` (the branches differ and the informed one wins: AMP is suboptimal)."""

    uninformed: CommitteeEvolution
    informed: CommitteeEvolution
    optimal: CommitteeEvolution
    hard: jax.Array


def _check(prior, channel, alpha):
    if not isinstance(prior, CommitteePrior):
        raise TypeError(f"prior must be a committee prior, got {type(prior).__name__}")
    if not isinstance(channel, CommitteeChannel):
        raise TypeError(f"channel must be a committee channel, got {type(channel).__name__}")
    if prior.K != channel.K:
        raise ValueError(f"the prior has K = {prior.K} units but the channel K = {channel.K}")
    require(alpha, jnp.asarray(alpha) > 0, f"alpha must be positive, got {shown(alpha)}")


def _evaluate(prior, channel, alpha, q, rank_one=False):
    """All reported quantities at overlap `q` (one point)."""
    rho = prior.rho.astype(q.dtype)
    gg, psi_out = channel.moments(q, rho, rank_one)
    r = alpha * gg
    q_d, q_a = symmetric_parts(q)
    scale = jnp.trace(rho) / prior.K
    return dict(
        alpha=alpha,
        q=q,
        r=r,
        q_d=q_d,
        q_a=q_a,
        specialised=q_d > SPECIALISED * scale,
        free_entropy=-jnp.trace(r @ q) / 2 + prior.free_entropy(r) + alpha * psi_out,
        generalisation_error=channel.generalisation_error(q, rho, rank_one),
    )


def committee_evolution(
    prior: CommitteePrior,
    channel: CommitteeChannel,
    alpha,
    *,
    start="uninformative",
    rtol: float = 1e-9,
    atol: float = 1e-12,
    max_steps: int = 5_000,
) -> CommitteeEvolution:
    """The fixed point of the committee state evolution at each `alpha` (any shape).

    `start`: `"uninformative"` (`q = 1e-6 rho`: what AMP reaches from a random start),
    `"non-specialised"` (`q = 1e-6 1 1^T / K`: this subspace is invariant, so the iteration
    follows the non-specialised branch even where it is unstable), `"informed"`
    (`q = (1 - 1e-6) rho`: the specialised branch where it exists), a number `s` (`q = s rho`)
    or a K x K matrix. The iteration is the plain one AMP follows (critical slowing down near a
    transition costs hundreds of steps; Anderson acceleration stalls on it). Tolerances are on
    the entries of `q`; use float64. The points run one after another in one compiled call
    (each stops when it converges).

    Example:
    ```python
    from jaxgem import committee
    se = committee.committee_evolution(
        committee.GaussianWeights(2), committee.SignCommittee(2), jnp.linspace(0.5, 4, 8),
        start="informed")
    se.q_d, se.generalisation_error
    ```
    """
    _check(prior, channel, alpha)
    (alpha, prior, channel), shape = _grid(alpha, prior, channel)
    rho = np.asarray(prior.rho, float)
    K = prior.K
    if isinstance(start, str) and start in ("uninformative", "informed"):
        q0 = (1e-6 if start == "uninformative" else 1 - 1e-6) * rho
    elif isinstance(start, str) and start == "non-specialised":
        q0 = 1e-6 * np.full((K, K), np.trace(rho) / K**2)
    elif np.ndim(start) == 0 and not isinstance(start, str) and 0 <= float(start) < 1:
        q0 = float(start) * rho
    elif np.shape(start) == rho.shape:
        q0 = np.asarray(start, float)
    else:
        raise ValueError(
            "start must be 'uninformative', 'non-specialised', 'informed', a fraction in "
            f"[0, 1) of rho or a {rho.shape} matrix, got {start!r}"
        )
    dtype = jnp.result_type(float)
    x0 = _to_vector(jnp.asarray(q0, dtype))
    x0 = jnp.broadcast_to(x0, (alpha.shape[0], x0.size))
    rank_one = isinstance(start, str) and start == "non-specialised"
    values, status, steps = _solve(prior, channel, alpha, x0, rtol, atol, max_steps, rank_one)
    values = {k: v.reshape(shape + ((K, K) if k in ("q", "r") else ())) for k, v in values.items()}
    return CommitteeEvolution(**values, status=status.reshape(shape), steps=steps.reshape(shape))


@eqx.filter_jit
def _solve(prior, channel, alpha, x0, rtol, atol, max_steps, rank_one):
    """The fixed points and everything reported at them, one point after another (a vmapped
    loop would run every point as long as the slowest) in one compiled call."""
    dynamic, static = eqx.partition((prior, channel), eqx.is_array)
    K = static[0].K

    def one(inputs):
        a, x, leaves = inputs
        p, c = eqx.combine(leaves, static)
        batch = jax.tree.map(lambda leaf: leaf[None], (a, p, c))
        solution = solve_fixed_point(
            _Update(rank_one), x[None], batch, damping=0.0, anderson=0,
            rtol=rtol, atol=atol, max_steps=max_steps, retries=0,
        )  # fmt: skip
        rho = p.rho.astype(x.dtype)
        q = _project(_to_matrix(solution.value[0], K), rho)
        return _evaluate(p, c, a, q, rank_one), solution.status[0], solution.steps[0]

    return jax.lax.map(one, (alpha, x0, dynamic))


def committee_optimal(
    prior: CommitteePrior, channel: CommitteeChannel, alpha, **options
) -> CommitteeOptimal:
    """The state evolution from both starts and, at each point, the branch of larger free
    entropy (the Bayes-optimal error)."""
    uninformed = committee_evolution(prior, channel, alpha, start="uninformative", **options)
    informed = committee_evolution(prior, channel, alpha, start="informed", **options)
    better = informed.free_entropy > uninformed.free_entropy + 1e-9
    differ = jnp.max(jnp.abs(informed.q - uninformed.q), axis=(-2, -1)) > 1e-6
    optimal = jax.tree.map(lambda a, b: jnp.where(_expand(better, a), b, a), uninformed, informed)
    return CommitteeOptimal(
        uninformed=uninformed, informed=informed, optimal=optimal, hard=better & differ
    )


def _expand(mask, like):
    return mask.reshape(mask.shape + (1,) * (jnp.ndim(like) - mask.ndim))
