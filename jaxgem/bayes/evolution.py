"""State evolution of AMP for a Bayes-optimal generalised linear model, its free entropy and errors
(THEORY.md Sec. 8).

`m <- m(mh)` (the prior's overlap), `mh = alpha E g_out^2` (the channel's), iterated undamped (the
dynamics AMP follows; a point that fails is retried with damping) under `lax.while_loop`, a whole
grid of `alpha` (and of the prior's and channel's scalar parameters) in one vmapped call,
differentiable through the fixed point (implicit function theorem). From an uninformative start
(small `m`) it gives what AMP reaches; from an informed start (`m` near `rho`) the other branch; the
MMSE is the branch of larger free entropy `f_RS = Phi_Pw(mh) + alpha Phi_Pout(m) - m mh / 2`.

Barbier, Krzakala, Macris, Miolane, Zdeborová, PNAS 116 (2019); Zdeborová & Krzakala, "Statistical
physics of inference", Adv. Phys. 65 (2016).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..checks import require, shown
from ..replica.fixed_point import FixedPointGrid, solve_fixed_point
from .channels import OutputChannel, Sign
from .priors import Prior

__all__ = ["StateEvolution", "BayesOptimal", "state_evolution", "bayes_optimal", "free_entropy"]

#: `m` stays below `rho (1 - GAP)`: at perfect recovery the channel's variance `rho - m` is 0.
GAP = 1e-12


def free_entropy(prior: Prior, channel: OutputChannel, alpha, m, mh):
    """The replica-symmetric free entropy `f_RS(m, mh)`; its stationary points are the fixed
    points of the state evolution."""
    return prior.free_entropy(mh) + alpha * channel.free_entropy(m, prior.rho) - m * mh / 2


def _conjugate(prior, channel, alpha, m):
    rho = prior.rho
    return alpha * channel.g_squared(jnp.clip(m, 0.0, rho * (1 - GAP)), rho)


class _Update(eqx.Module):
    """One state-evolution step `m -> m(alpha E g_out^2(m))`, for `solve_fixed_point`."""

    def __call__(self, x, args):
        alpha, prior, channel = args
        m = jnp.clip(x[0], 0.0, prior.rho * (1 - GAP))
        return jnp.reshape(prior.overlap(_conjugate(prior, channel, alpha, m)), (1,))

    def valid(self, x):
        return x[0] >= 0


class StateEvolution(FixedPointGrid):
    """Fixed points of the state evolution on a grid (each field has the grid's shape).

    `m` (overlap, = `q` at the Bayes-optimal fixed point), `mh`, `mse = rho - m` (the weight
    MSE), `free_entropy` (`f_RS`), `output_error` (test error of the posterior-mean output,
    THEORY Sec. 8), `classification_error` and `gibbs_error` (sign-like channels, else NaN:
    `arccos(sqrt(m/rho))/pi` and `arccos(m/rho)/pi`), `status` (0 converged, 1 max steps,
    2 non-finite), `steps`."""

    alpha: jax.Array
    m: jax.Array
    mh: jax.Array
    mse: jax.Array
    free_entropy: jax.Array
    output_error: jax.Array
    classification_error: jax.Array
    gibbs_error: jax.Array
    status: jax.Array
    steps: jax.Array

    grid_field: ClassVar[str] = "alpha"


class BayesOptimal(eqx.Module):
    """Both branches and the Bayes-optimal one: `amp` (from an uninformative start: what AMP
    reaches), `informed` (from `m` near `rho`), `mmse` (at each point the branch of larger free
    entropy: the information-theoretic optimum) and `hard` (where they differ: a hard phase)."""

    amp: StateEvolution
    informed: StateEvolution
    mmse: StateEvolution
    hard: jax.Array


def _grid(alpha, prior, channel):
    """Broadcast alpha and every scalar parameter of the prior and channel to one flat grid."""
    dtype = jnp.result_type(float)
    dynamic, static = eqx.partition((alpha, prior, channel), eqx.is_array_like)
    leaves, tree = jax.tree.flatten(dynamic)
    shape = np.broadcast_shapes(*(np.shape(leaf) for leaf in leaves))
    flat = [jnp.broadcast_to(jnp.asarray(leaf, dtype), shape).reshape(-1) for leaf in leaves]
    return eqx.combine(jax.tree.unflatten(tree, flat), static), shape


def _check(prior, channel, alpha):
    if not isinstance(prior, Prior):
        raise TypeError(f"prior must be a jaxgem.bayes Prior, got {type(prior).__name__}")
    if not isinstance(channel, OutputChannel):
        raise TypeError(
            f"channel must be a jaxgem.bayes OutputChannel, got {type(channel).__name__}"
        )
    require(alpha, jnp.asarray(alpha) > 0, f"alpha must be positive, got {shown(alpha)}")


def _evaluate(prior, channel, alpha, m):
    """All reported quantities at overlap `m` (one point)."""
    rho = prior.rho
    mh = _conjugate(prior, channel, alpha, m)
    nan = jnp.full_like(m, jnp.nan)
    sign_like = isinstance(channel, Sign)
    return dict(
        alpha=alpha,
        m=m,
        mh=mh,
        mse=rho - m,
        free_entropy=free_entropy(prior, channel, alpha, m, mh),
        output_error=channel.output_error(m, rho),
        classification_error=channel.classification_error(m, rho) if sign_like else nan,
        gibbs_error=channel.gibbs_error(m, rho) if sign_like else nan,
    )


def state_evolution(
    prior: Prior,
    channel: OutputChannel,
    alpha,
    *,
    start: str | float = "uninformative",
    rtol: float = 1e-10,
    atol: float = 1e-13,
    max_steps: int = 5_000,
) -> StateEvolution:
    """The fixed point of the state evolution at each `alpha` (any shape; the prior's and
    channel's scalar parameters may be arrays that broadcast against it).

    `start`: `"uninformative"` (`m = 1e-6 rho`: what AMP reaches from a random start; a small
    `m > 0` so that even channels can leave `m = 0` when it is unstable), `"informed"`
    (`m = rho (1 - 1e-6)`) or an overlap. Tolerances are on `m`; float64 (`jax.config.update(
    "jax_enable_x64", True)`) gives the published values to 1e-7, float32 to about 1e-4.

    Example:
    ```python
    from jaxgem import bayes
    se = bayes.state_evolution(bayes.Gaussian(), bayes.Sign(), jnp.array([1.0, 2.0, 5.0]))
    se.classification_error   # 0.25437, 0.17453, 0.08394
    ```
    """
    _check(prior, channel, alpha)
    (alpha, prior, channel), shape = _grid(alpha, prior, channel)
    rho = jax.vmap(lambda p, a: p.rho * jnp.ones_like(a))(prior, alpha)
    if start == "uninformative":
        m0 = 1e-6 * rho
    elif start == "informed":
        m0 = (1 - 1e-6) * rho
    elif isinstance(start, (int, float)) and 0 <= start:
        m0 = jnp.minimum(jnp.full_like(alpha, start), rho * (1 - GAP))
    else:
        raise ValueError(
            f"start must be 'uninformative', 'informed' or an overlap >= 0, got {start!r}"
        )
    values, status, steps = _solve(prior, channel, alpha, m0, rtol, atol, max_steps)
    values = {k: v.reshape(shape) for k, v in values.items()}
    return StateEvolution(**values, status=status.reshape(shape), steps=steps.reshape(shape))


@eqx.filter_jit
def _solve(prior, channel, alpha, m0, rtol, atol, max_steps):
    """The fixed points and everything reported at them, in one compiled call."""
    solution = solve_fixed_point(
        _Update(), m0[:, None], (alpha, prior, channel), damping=0.0, anderson=0,
        rtol=rtol, atol=atol, max_steps=max_steps, retries=0,
    )  # fmt: skip
    rho = jax.vmap(lambda p, a: p.rho * jnp.ones_like(a))(prior, alpha)
    m = jnp.clip(solution.value[:, 0], 0.0, rho * (1 - GAP))
    return jax.vmap(_evaluate)(prior, channel, alpha, m), solution.status, solution.steps


def bayes_optimal(prior: Prior, channel: OutputChannel, alpha, **options) -> BayesOptimal:
    """The state evolution from both starts, and the MMSE branch (larger free entropy) at each
    point. Example: `bayes.bayes_optimal(bayes.Rademacher(), bayes.Sign(), alphas).mmse.mse`."""
    amp = state_evolution(prior, channel, alpha, start="uninformative", **options)
    informed = state_evolution(prior, channel, alpha, start="informed", **options)
    better = informed.free_entropy > amp.free_entropy + 1e-9
    hard = better & (jnp.abs(informed.m - amp.m) > 1e-6 * (1 + jnp.abs(amp.m)))
    mmse = jax.tree.map(lambda a, b: jnp.where(better, b, a), amp, informed)
    return BayesOptimal(amp=amp, informed=informed, mmse=mmse, hard=hard)
