"""Generalised approximate message passing (GAMP) on finite instances, and the state evolution
per iteration that predicts it (THEORY.md Sec. 8; Rangan 2011).

One GAMP run is a `lax.scan` over iterations of matrix–vector products, vmapped over seeds and
device-agnostic (the same code runs at N = 10^5 on a GPU). Instances are drawn from the same
prior and channel objects as the theory: `w* ~ P_w`, `X` iid `N(0, 1)`, `y ~ P_out(. | X w* /
sqrt d)`. The input and output functions are the derivatives of the prior's and channel's
log-partitions (autodiff).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..checks import require, shown
from .channels import OutputChannel
from .evolution import _Update
from .priors import Prior

__all__ = ["GAMPRun", "GAMPExperiment", "gamp", "gamp_experiment", "evolution_per_iteration"]


class GAMPRun(eqx.Module):
    """GAMP's estimate `a (..., N)`, its variances `v`, and per iteration (axis -1, iteration 0
    being the start) the MSE `mean((a - w*)^2)` and overlap `mean(a w*)` when the truth was
    given (else NaN)."""

    a: jax.Array
    v: jax.Array
    mse: jax.Array
    overlap: jax.Array


class GAMPExperiment(eqx.Module):
    """GAMP on `seeds` instances and the state evolution from the same start: `mse (S, T+1)`
    per seed and iteration, its mean and standard error over seeds, `predicted (T+1,)`."""

    mse: jax.Array
    mean: jax.Array
    sem: jax.Array
    predicted: jax.Array


def gamp(
    prior: Prior,
    channel: OutputChannel,
    F,
    y,
    *,
    iterations: int = 30,
    damping: float = 0.0,
    a0=None,
    v0=None,
    truth=None,
    variances: str = "full",
) -> GAMPRun:
    """GAMP for `y ~ P_out(. | F w)`, `F = X / sqrt d` of shape `(n, d)`, from `a0` (default
    the prior mean, 0) and `v0` (default `rho`). `damping` mixes each new `(a, v)` with the old.
    `variances`: `"full"` (the sums over `F^2` of THEORY Sec. 8; stores `F^2` beside `F`) or
    `"uniform"` (`F_mi^2` replaced by its mean `1/d`, exact as `d -> infinity` for iid `F`:
    half the memory and matrix products, for the largest instances).
    Returns a `GAMPRun`; with `truth` (w*) it records the MSE and overlap per iteration."""
    if variances not in ("full", "uniform"):
        raise ValueError(f"variances must be 'full' or 'uniform', got {variances!r}")
    F = jnp.asarray(F)
    dtype = F.dtype
    n, d = F.shape
    uniform = variances == "uniform"
    F2 = None if uniform else F * F
    a = jnp.zeros(d, dtype) if a0 is None else jnp.asarray(a0, dtype)
    v = (
        jnp.full(d, prior.rho, dtype)
        if v0 is None
        else jnp.broadcast_to(jnp.asarray(v0, dtype), (d,))
    )
    tiny = jnp.finfo(dtype).tiny ** 0.5

    def measure(a):
        if truth is None:
            return jnp.asarray(jnp.nan, dtype), jnp.asarray(jnp.nan, dtype)
        return jnp.mean((a - truth) ** 2), jnp.mean(a * truth)

    def step(carry, _):
        a, v, g = carry
        V = jnp.full(n, jnp.mean(v)) if uniform else F2 @ v
        V = jnp.maximum(V, tiny)
        omega = F @ a - V * g
        g_new, dg = channel.output(y, omega, V)
        precision = jnp.full(d, -jnp.sum(dg) / d) if uniform else -(dg @ F2)
        Sigma = 1 / jnp.maximum(precision, tiny)
        R = a + Sigma * (g_new @ F)  # not F.T @ g: XLA on CPU reads the transpose slowly
        a_new, v_new = prior.denoiser(Sigma, R)
        a_new = damping * a + (1 - damping) * a_new
        v_new = damping * v + (1 - damping) * v_new
        return (a_new, v_new, g_new), measure(a_new)

    mse0, overlap0 = measure(a)  # at the start
    (a, v, _), (mse, overlap) = jax.lax.scan(
        step, (a, v, jnp.zeros(n, dtype)), None, length=iterations
    )
    return GAMPRun(
        a=a,
        v=v,
        mse=jnp.concatenate([mse0[None], mse]),
        overlap=jnp.concatenate([overlap0[None], overlap]),
    )


def evolution_per_iteration(prior: Prior, channel: OutputChannel, alpha, m0, iterations: int):
    """The state evolution's MSE `rho - m_t`, t = 0..iterations, from overlap `m0`: what GAMP
    started at overlap `m0` reaches after t iterations, as N -> infinity."""
    rho = prior.rho

    def step(m, _):  # the very update the fixed-point solve iterates
        m_new = _Update()(m[None], (alpha, prior, channel))[0]
        return m_new, rho - m_new

    m0 = jnp.asarray(m0, jnp.result_type(float))
    _, mse = jax.lax.scan(step, m0, None, length=iterations)
    return jnp.concatenate([(rho - m0)[None], mse])


@eqx.filter_jit
def _experiment(prior, channel, alpha, N, key, seeds, iterations, damping, m0, dtype):
    n = int(round(alpha * N))
    rho = prior.rho

    def one(key):
        k_w, k_x, k_y, k_a = jax.random.split(key, 4)
        w = prior.sample(k_w, (N,), dtype)
        F = jax.random.normal(k_x, (n, N), dtype) / np.sqrt(N)
        y = channel.sample(k_y, F @ w)
        spread = jnp.sqrt(jnp.maximum(m0 - m0**2 / rho, 0.0))
        a0 = (m0 / rho) * w + spread * jax.random.normal(k_a, (N,), dtype)
        run = gamp(prior, channel, F, y, iterations=iterations, damping=damping, a0=a0,
                   v0=rho - m0, truth=w)  # fmt: skip
        return run.mse

    return jax.lax.map(one, jax.random.split(key, seeds))


def gamp_experiment(
    prior: Prior,
    channel: OutputChannel,
    alpha: float,
    N: int,
    key,
    *,
    seeds: int = 8,
    iterations: int = 30,
    damping: float = 0.0,
    start_overlap: float = 0.0,
    dtype=None,
) -> GAMPExperiment:
    """GAMP on `seeds` instances of size `N`, `n = alpha N` samples, started at overlap
    `start_overlap` (`a0 = (m0/rho) w* + noise`, `v0 = rho - m0`; 0: the uninformative start;
    even channels such as abs need `m0 > 0`, as their state evolution does), beside the state
    evolution from the same overlap. Seeds run one after another (`lax.map`: one instance's
    matrix in memory at a time). Example:
    `bayes.gamp_experiment(bayes.Gaussian(), bayes.Sign(), 2.0, 2000, jax.random.key(0))`."""
    require(alpha, jnp.asarray(alpha) > 0, f"alpha must be positive, got {shown(alpha)}")
    checks = (
        ("N", N, isinstance(N, int) and N > 0),
        ("seeds", seeds, isinstance(seeds, int) and seeds > 0),
        ("iterations", iterations, isinstance(iterations, int) and iterations > 0),
        ("damping", damping, 0 <= damping < 1),
        ("start_overlap", start_overlap, 0 <= start_overlap < float(prior.rho)),
    )
    for name, value, ok in checks:
        if not ok:
            raise ValueError(f"gamp_experiment: {name} = {value!r} is not accepted")
    dtype = jnp.result_type(float) if dtype is None else dtype
    mse = _experiment(prior, channel, float(alpha), N, key, seeds, iterations, damping,
                      float(start_overlap), dtype)  # fmt: skip
    predicted = evolution_per_iteration(prior, channel, alpha, start_overlap, iterations)
    mean = mse.mean(0)
    sem = mse.std(0, ddof=1) / np.sqrt(seeds) if seeds > 1 else jnp.full_like(mean, jnp.nan)
    return GAMPExperiment(mse=mse, mean=mean, sem=sem, predicted=predicted)
