"""AMP for the committee machine: GAMP with K-vector messages (THEORY.md Sec. 9), on finite
instances, vmapped over seeds, against its state evolution iteration by iteration.

With `F = X / sqrt d`, estimates `a_i (K)` and covariances `v_i (K, K)`:
```
V_mu  = sum_i F_mi^2 v_i                  omega_mu = sum_i F_mi a_i - V_mu g_mu(old)
g_mu, dg_mu = grad, Hessian of ln Z_out(Y_mu; omega_mu, V_mu) in omega
A_i   = -sum_mu F_mi^2 dg_mu              B_i = sum_mu F_mi g_mu + A_i a_i
a_i, v_i = mean, covariance of P0(w) exp(B_i . w - w . A_i w / 2)
```
The overlap `a^T W* / d` follows the state evolution's `q^t` (Bayes optimality: it also equals
`a^T a / d`). From `a = 0` AMP stays on the non-specialised plateau (both units' estimates are
equal); a small informed start (`start_overlap`) lets it specialise where that is stable.

Aubin, Maillard, Barbier, Krzakala, Macris, Zdeborová, NeurIPS 2018; Rangan, ISIT 2011.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .channels import CommitteeChannel
from .evolution import state_step, symmetric_parts
from .priors import CommitteePrior

__all__ = ["CommitteeAMPRun", "committee_amp", "committee_amp_experiment", "evolution_steps"]


class CommitteeAMPRun(eqx.Module):
    """Per iteration `t = 0..T` (rows), mean and standard error over seeds of the overlap
    `M = a^T W* / d`'s committee-symmetric parts `q_d`, `q_a`, and the state evolution's
    prediction from the same start (`predicted_q_d`, `predicted_q_a`)."""

    q_d: jax.Array
    q_d_sem: jax.Array
    q_a: jax.Array
    q_a_sem: jax.Array
    predicted_q_d: jax.Array
    predicted_q_a: jax.Array


def committee_amp(prior, channel, F, Y, a0, v0, *, iterations: int = 30, damping: float = 0.0,
                  teacher=None):  # fmt: skip
    """Run AMP on one instance (`F = X / sqrt d` `(n, d)`, labels `Y (n,)`) from estimates
    `a0 (d, K)`, covariances `v0 (d, K, K)`; returns the final `(a, v)` and, per iteration
    (including the start), the overlaps `a^T W* / d` with `teacher` `(d, K)` if given."""
    n, d = F.shape
    K = prior.K
    F2 = F**2
    outputs = jax.vmap(channel.output)
    denoise = jax.vmap(prior.denoiser)

    def step(state, _):
        a, v, g = state
        V = (F2 @ v.reshape(d, K * K)).reshape(n, K, K)
        omega = F @ a - jnp.einsum("mkl,ml->mk", V, g)
        g_new, dg = outputs(Y, omega, V)
        # transposed products as (K, n) @ (n, d): XLA on the CPU is far slower at F.T @ g
        A = -(dg.reshape(n, K * K).T @ F2).T.reshape(d, K, K)
        B = (g_new.T @ F).T + jnp.einsum("ikl,il->ik", A, a)
        a_new, v_new = denoise(B, A)
        a_new = (1 - damping) * a_new + damping * a
        v_new = (1 - damping) * v_new + damping * v
        overlap = a_new.T @ teacher / d if teacher is not None else jnp.zeros((K, K), a.dtype)
        return (a_new, v_new, g_new), overlap

    start = a0.T @ teacher / d if teacher is not None else jnp.zeros((K, K), a0.dtype)
    g0 = jnp.zeros((n, K), a0.dtype)
    (a, v, _), overlaps = jax.lax.scan(step, (a0, v0, g0), None, length=iterations)
    return a, v, jnp.concatenate([start[None], overlaps])


def evolution_steps(prior: CommitteePrior, channel: CommitteeChannel, alpha, q0, steps: int):
    """The state evolution's iterates `q^0..q^steps` from `q0` (AMP's prediction per
    iteration), compiled once per number of steps."""
    dtype = jnp.result_type(float)
    return _evolution(prior, channel, jnp.asarray(alpha, dtype), jnp.asarray(q0, dtype), steps)


@eqx.filter_jit
def _evolution(prior, channel, alpha, q0, steps):
    def step(q, _):
        new = state_step(prior, channel, alpha, q)
        return new, new

    _, qs = jax.lax.scan(step, q0, None, length=steps)
    return jnp.concatenate([q0[None], qs])


def _instance(prior, channel, alpha, d, key, start_overlap, dtype):
    """A teacher, data, labels and AMP's informed start `a0 = s W* + sqrt(s - s^2) noise`."""
    n = int(round(alpha * d))
    k_w, k_x, k_y, k_a = jax.random.split(key, 4)
    W = prior.sample(k_w, d, dtype)
    F = jax.random.normal(k_x, (n, d), dtype) / np.sqrt(d)
    Y = channel.sample(k_y, F @ W)
    s = start_overlap
    noise = jax.random.normal(k_a, W.shape, dtype)
    a0 = s * W + np.sqrt(max(s - s * s, 0.0)) * noise
    v0 = jnp.broadcast_to((1 - s) * prior.rho.astype(dtype), (d, prior.K, prior.K))
    return W, F, Y, a0, v0


@eqx.filter_jit
def _overlaps(prior, channel, alpha, d, keys, start_overlap, iterations, damping):
    """Each seed's overlaps per iteration, one seed after another in one compiled call (the same
    alpha, d and options compile once)."""
    dtype = jnp.result_type(float)

    def one(key):
        W, F, Y, a0, v0 = _instance(prior, channel, alpha, d, key, start_overlap, dtype)
        _, _, overlaps = committee_amp(prior, channel, F, Y, a0, v0, iterations=iterations,
                                       damping=damping, teacher=W)  # fmt: skip
        return overlaps

    return jax.lax.map(one, keys)


def committee_amp_experiment(
    prior: CommitteePrior,
    channel: CommitteeChannel,
    alpha: float,
    d: int,
    key,
    *,
    seeds: int = 4,
    iterations: int = 30,
    damping: float = 0.0,
    start_overlap: float = 0.0,
) -> CommitteeAMPRun:
    """AMP on `seeds` random instances (teacher rows from the prior, `n = alpha d` Gaussian
    inputs, labels from the channel), vmapped, against the state evolution from `q0 =
    start_overlap rho`. Use float64 for d in the thousands.

    Example:
    ```python
    run = committee.committee_amp_experiment(committee.GaussianWeights(2),
        committee.SignCommittee(2), 1.5, 2000, jax.random.key(0))
    run.q_a[-1], run.predicted_q_a[-1]
    ```"""
    if not 0 <= start_overlap < 1:
        raise ValueError(f"start_overlap must be in [0, 1), got {start_overlap!r}")
    keys = jax.random.split(key, seeds)  # overlaps (seeds, T + 1, K, K):
    overlaps = _overlaps(prior, channel, float(alpha), d, keys, float(start_overlap), iterations,
                         float(damping))  # fmt: skip
    q_d, q_a = symmetric_parts(overlaps)
    predicted = evolution_steps(prior, channel, alpha, start_overlap * prior.rho, iterations)
    p_d, p_a = symmetric_parts(predicted)

    def sem(x):
        return jnp.std(x, axis=0, ddof=1) / np.sqrt(seeds) if seeds > 1 else jnp.zeros_like(x[0])

    return CommitteeAMPRun(
        q_d=q_d.mean(0), q_d_sem=sem(q_d), q_a=q_a.mean(0), q_a_sem=sem(q_a),
        predicted_q_d=p_d, predicted_q_a=p_a,
    )  # fmt: skip
