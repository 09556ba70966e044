"""Streaming Monte Carlo estimate of a generator's moments: the mean, `Omega = Cov(x)` and
`Phi = Cov(x, c)` (THEORY.md Sec. 4), with a running error estimate, a stopping accuracy,
checkpoints to resume from and a progress bar.

Batches are merged with Chan et al.'s parallel update of centred sums (stable in float32).
The error of `Omega_ij` is estimated from the fourth moments (accumulated on a subset of
batches), `Var(Omega^_ij) = (E[x~_i^2 x~_j^2] - Omega_ij^2) / n`, so the reported relative
Frobenius error `sqrt(sum_ij Var) / |Omega|_F` is the expected distance to the true `Omega`
(tested against the closed forms); likewise for `Phi` (there an upper bound: whitening by the
sample latent covariance cancels part of the noise, see `_estimates`), relative to
`max(|Phi|_F, sqrt(tr Omega) / 10)` so that a vanishing `Phi` (an even generator) still
converges.
"""

from __future__ import annotations

import math
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, PRNGKeyArray
from tqdm.auto import tqdm

from ..io import save_npz
from .base import Generator

__all__ = ["Moments", "MomentState", "estimate_moments", "moments_from_state"]


class MomentState(eqx.Module):
    """Running sums: sample count, means, centred second-moment sums and fourth-moment sums."""

    count: Array
    mean_x: Array
    mean_c: Array
    cxx: Array
    cxc: Array
    ccc: Array
    fourth_count: Array
    fourth_xx: Array
    fourth_xc: Array

    @classmethod
    def empty(cls, N: int, D: int, dtype=jnp.float32) -> MomentState:
        z = lambda *shape: jnp.zeros(shape, dtype)  # noqa: E731
        return cls(z(), z(N), z(D), z(N, N), z(N, D), z(D, D), z(), z(N, N), z(N, D))


class Moments(eqx.Module):
    """A generator's estimated moments and their estimated relative Frobenius errors."""

    mean: Array
    omega: Array
    phi: Array
    n_samples: int
    omega_error: float
    phi_error: float
    converged: bool


def _merge(state: MomentState, x: Array, c: Array, with_fourth) -> MomentState:
    """Add one batch of samples (Chan et al. 1979 pairwise update); the fourth-moment sums (for
    the error estimate only) when `with_fourth`."""
    nb = x.shape[0]
    n = state.count + nb
    bx, bc = x.mean(0), c.mean(0)
    xc, cc = x - bx, c - bc
    dx, dc = bx - state.mean_x, bc - state.mean_c
    weight = state.count * nb / n
    mean_x = state.mean_x + dx * nb / n
    mean_c = state.mean_c + dc * nb / n
    cxx = state.cxx + xc.T @ xc + weight * jnp.outer(dx, dx)
    cxc = state.cxc + xc.T @ cc + weight * jnp.outer(dx, dc)
    ccc = state.ccc + cc.T @ cc + weight * jnp.outer(dc, dc)

    def fourth(_):
        x2 = (x - mean_x) ** 2
        return (
            state.fourth_count + nb,
            state.fourth_xx + x2.T @ x2,
            state.fourth_xc + x2.T @ (c - mean_c) ** 2,
        )

    def skip(_):
        return state.fourth_count, state.fourth_xx, state.fourth_xc

    counts = jax.lax.cond(with_fourth, fourth, skip, None)
    return MomentState(n, mean_x, mean_c, cxx, cxc, ccc, *counts)


@eqx.filter_jit
def _chunk(
    generator: Generator, state: MomentState, key, first_batch, n_batches, batch_size, every
):
    def step(state, i):
        c = jax.random.normal(
            jax.random.fold_in(key, first_batch + i),
            (batch_size, generator.latent_dim),
            state.mean_x.dtype,
        )
        x = generator.batch(c).astype(state.mean_x.dtype)
        return _merge(state, x, c, (first_batch + i) % every == 0), None

    state, _ = jax.lax.scan(step, state, jnp.arange(n_batches))
    return state


def _estimates(state: MomentState):
    """`(Omega, Phi)`. `Phi` is whitened by the sample latent covariance,
    `Phi = Cov^(x, c) Cov^(c)^{-1/2}`: consistent like `Cov^(x, c)`, and `Omega - Phi Phi^T` is
    then the Schur complement of the joint sample covariance, positive semi-definite at any
    sample size, so the Gaussian equivalent model always exists."""
    n = state.count
    omega = state.cxx / (n - 1)
    values, vectors = jnp.linalg.eigh(state.ccc / (n - 1))
    inverse_root = (vectors / jnp.sqrt(jnp.maximum(values, 1e-12))) @ vectors.T
    return 0.5 * (omega + omega.T), state.cxc / (n - 1) @ inverse_root


def _relative_errors(state: MomentState, omega, phi):
    """Estimated relative Frobenius errors of the estimates `omega`, `phi` of `state`."""
    n, m = state.count, jnp.maximum(state.fourth_count, 1.0)
    var_omega = jnp.maximum(state.fourth_xx / m - omega**2, 0.0) / n
    var_phi = jnp.maximum(state.fourth_xc / m - phi**2, 0.0) / n
    omega_norm = jnp.maximum(jnp.linalg.norm(omega), 1e-30)
    # |Phi|_F <= sqrt(tr Omega) always; a Phi far below that (an even generator has Phi = 0) is
    # measured against a tenth of it, so a vanishing Phi does not stall the estimate.
    phi_norm = jnp.maximum(jnp.linalg.norm(phi), 0.1 * jnp.sqrt(jnp.trace(omega)))
    return (
        float(jnp.sqrt(var_omega.sum()) / omega_norm),
        float(jnp.sqrt(var_phi.sum()) / jnp.maximum(phi_norm, 1e-30)),
    )


def moments_from_state(state: MomentState, rtol: float = math.inf) -> Moments:
    """The estimate a `MomentState` holds."""
    omega, phi = _estimates(state)
    omega_error, phi_error = _relative_errors(state, omega, phi)
    return Moments(
        mean=state.mean_x,
        omega=omega,
        phi=phi,
        n_samples=int(state.count),
        omega_error=omega_error,
        phi_error=phi_error,
        converged=max(omega_error, phi_error) <= rtol,
    )


def estimate_moments(
    generator: Generator,
    key: PRNGKeyArray,
    *,
    rtol: float = 0.05,
    batch_size: int = 1000,
    batches_per_chunk: int = 10,
    min_samples: int = 10_000,
    max_samples: int = 1_000_000,
    fourth_every: int = 4,
    checkpoint: str | Path | None = None,
    progress: bool = False,
    dtype=jnp.float32,
) -> Moments:
    """Monte Carlo moments of `generator` until the estimated relative Frobenius errors of `Omega`
    and `Phi` fall below `rtol` (or `max_samples`; `converged` says which).

    **Arguments:**

    - `generator`: any `Generator` (`FunctionGenerator` wraps a function or module).
    - `key`: the random key; the samples are a fixed function of it, whatever the stopping
      point or interruptions.
    - `batch_size`, `batches_per_chunk`: samples per jitted update and updates per compiled
      chunk (the error is checked, and the checkpoint written, between chunks).
    - `fourth_every`: fourth moments (for the error estimate only) on every this-many batches;
      they cost as much as the covariance itself.
    - `checkpoint`: an `.npz` path; written atomically after every chunk, and resumed from if it
      exists.
    - `progress`: show a progress bar with the current errors.

    Example:
    ```python
    gen = jaxgem.generators.DeepRandomGenerator.random(jax.random.key(0), [100, 500, 1000])
    moments = jaxgem.generators.estimate_moments(gen, jax.random.key(1), rtol=0.05)
    data = jaxgem.GeneratorData.from_moments(gen, moments)
    ```
    """
    if not rtol > 0:
        raise ValueError(f"rtol must be positive, got {rtol}")
    if batch_size < 2 or batches_per_chunk < 1 or fourth_every < 1:
        raise ValueError(
            "batch_size must be at least 2, batches_per_chunk and fourth_every at least 1"
        )
    N, D = generator.output_dim, generator.latent_dim
    state, first = MomentState.empty(N, D, dtype), 0
    path = None if checkpoint is None else Path(checkpoint)
    if path is not None and path.exists():
        with np.load(path) as saved:
            fields = set(MomentState.__dataclass_fields__) | {"next_batch", "batch_size"}
            if (
                set(saved.files) != fields
                or tuple(saved["cxc"].shape) != (N, D)
                or int(saved["batch_size"]) != batch_size
            ):
                raise ValueError(
                    f"the checkpoint {path} belongs to another estimate (its fields, shape or "
                    "batch size differ): remove it or choose another path"
                )
            state = MomentState(
                *(jnp.asarray(saved[f], dtype) for f in MomentState.__dataclass_fields__)
            )
            first = int(saved["next_batch"])
    bar = tqdm(total=max_samples, initial=first * batch_size, disable=not progress, unit="sample")
    try:
        while True:
            if first * batch_size >= min_samples and first > 0:
                errors = _relative_errors(state, *_estimates(state))
                bar.set_postfix(omega_error=f"{errors[0]:.3g}", phi_error=f"{errors[1]:.3g}")
                if max(errors) <= rtol or first * batch_size >= max_samples:
                    break
            elif first * batch_size >= max_samples:
                break
            state = _chunk(
                generator,
                state,
                key,
                jnp.asarray(first),
                batches_per_chunk,
                batch_size,
                fourth_every,
            )
            first += batches_per_chunk
            bar.update(batches_per_chunk * batch_size)
            if path is not None:
                sums = {f: np.asarray(getattr(state, f)) for f in MomentState.__dataclass_fields__}
                save_npz(path, **sums, next_batch=first, batch_size=batch_size)
    finally:
        bar.close()
    return moments_from_state(state, rtol)
