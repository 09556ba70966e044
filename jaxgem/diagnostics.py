"""How Gaussian are the local fields? The Gaussian equivalence (Goldt et al., MSML 2021, THEORY.md
Sec. 4) says the fields `lambda = w x / sqrt N`, `nu = B c / sqrt D` of a generator's data are
jointly Gaussian with covariance `(Q, R, T)` from `(Omega, Phi)`. `field_gaussianity` samples
them and compares with that Gaussian: means, covariance, third and fourth cumulants, and a
sliced Wasserstein distance with its error bar and its value between two Gaussian samples of the
same size (the floor a perfectly Gaussian law would show). It fails, as the theorem says it can,
when a student aligns with a few input directions.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .data.base import DataModel
from .gaussian import psd_cholesky
from .results import Trajectory

__all__ = [
    "FieldDiagnostics",
    "field_gaussianity",
    "field_gaussianity_along",
    "sliced_wasserstein",
]


class FieldDiagnostics(eqx.Module):
    """Fields `(lambda, nu)` of `K + M` units against their Gaussian equivalent.

    - `mean_z`: largest `|mean| / standard error` over fields (about 1 if Gaussian).
    - `covariance_error`: `|C^ - C|_F / |C|_F`, sampled against predicted covariance.
    - `skewness`, `excess_kurtosis`: standardised third and fourth cumulants per field;
      `cumulant_z`: the largest of them in units of their standard errors `sqrt(6/n)`,
      `sqrt(24/n)`.
    - `distance`, `distance_error`: sliced Wasserstein-1 distance between the sampled fields and
      the Gaussian, mean and standard error over blocks; `gaussian_floor`: the same between two
      Gaussian samples; `excess = (distance - floor) / error` (about 0 if Gaussian).
    """

    mean_z: Array
    covariance_error: Array
    skewness: Array
    excess_kurtosis: Array
    cumulant_z: Array
    distance: Array
    distance_error: Array
    gaussian_floor: Array

    @property
    def excess(self):
        return (self.distance - self.gaussian_floor) / self.distance_error

    def worst_z(self) -> Array:
        """The largest departure from the Gaussian in units of its error (per record if
        batched)."""
        return jnp.maximum(jnp.maximum(self.cumulant_z, self.excess), self.mean_z)

    def holds(self, z: float = 5.0) -> bool:
        """`True` when no statistic departs from the Gaussian by more than `z` errors."""
        return bool(jnp.all(self.worst_z() < z))

    def summary(self) -> dict[str, np.ndarray]:
        """The statistics as named arrays (one value, or one per record), ready for a table."""
        return {
            "mean_z": np.asarray(self.mean_z),
            "covariance_error": np.asarray(self.covariance_error),
            "max_abs_skewness": np.asarray(jnp.max(jnp.abs(self.skewness), -1)),
            "max_abs_excess_kurtosis": np.asarray(jnp.max(jnp.abs(self.excess_kurtosis), -1)),
            "cumulant_z": np.asarray(self.cumulant_z),
            "distance": np.asarray(self.distance),
            "distance_error": np.asarray(self.distance_error),
            "gaussian_floor": np.asarray(self.gaussian_floor),
            "excess_z": np.asarray(self.excess),
        }


def sliced_wasserstein(a: Array, b: Array, directions: Array) -> Array:
    """Mean over unit `directions (P, d)` of the 1-d Wasserstein-1 distance between the
    projections of samples `a (n, d)` and `b (n, d)` (sorted-sample formula)."""
    pa = jnp.sort(a @ directions.T, axis=0)
    pb = jnp.sort(b @ directions.T, axis=0)
    return jnp.mean(jnp.abs(pa - pb))


def field_gaussianity(
    data_model: DataModel,
    w: Array,
    B: Array,
    key,
    *,
    n_samples: int = 20_000,
    n_blocks: int = 10,
    n_directions: int = 64,
) -> FieldDiagnostics:
    """Sample the fields of student weights `w (K, N)` and teacher weights `B (M, D)` on
    `data_model` and compare with the Gaussian of covariance `(Q, R, T)` it predicts.

    Example:
    ```python
    diag = jaxgem.diagnostics.field_gaussianity(data, student.w, teacher.w, jax.random.key(0))
    diag.holds(), diag.excess_kurtosis
    ```
    """
    w, B = jnp.asarray(w), jnp.asarray(B)
    _check_weights(data_model, w, B, batched=False)
    block = _block_size(n_samples, n_blocks)
    return _statistics_jit(data_model, w, B, key, block, n_blocks, n_directions)


def field_gaussianity_along(
    trajectory: Trajectory,
    key,
    *,
    data_model: DataModel | None = None,
    run: tuple[int, int] = (0, 0),
    n_samples: int = 20_000,
    n_blocks: int = 10,
    n_directions: int = 64,
) -> tuple[np.ndarray, FieldDiagnostics]:
    """`field_gaussianity` at every record of run `(h, s)` of a trajectory simulated with
    `record_weights=True`, all records in one compiled, vmapped call, on the data model the
    trajectory ran on (or `data_model`, e.g. to test a trajectory's weights on other data).

    Returns the record times `(R,)` and `FieldDiagnostics` whose fields carry a leading record
    axis (`.summary()` gives the columns of a table).

    Example:
    ```python
    traj = jaxgem.simulate(key, data, teacher, student, lr=0.2, t_max=20, record_weights=True)
    t, diag = jaxgem.diagnostics.field_gaussianity_along(traj, jax.random.key(1))
    diag.worst_z()  # (R,): departure from Gaussian fields along training
    ```
    """
    if trajectory.w is None:
        raise ValueError("the trajectory has no weights: simulate it with record_weights=True")
    if data_model is None:
        if trajectory.problem is None:
            raise ValueError("the trajectory carries no problem: pass data_model=")
        data_model = trajectory.problem.data
    h, s = run
    w = jnp.asarray(trajectory.w[h, s, : trajectory.completed])
    B = jnp.asarray(trajectory.B0[s])
    _check_weights(data_model, w, B, batched=True)
    block = _block_size(n_samples, n_blocks)
    keys = jax.random.split(key, w.shape[0])
    along = _statistics_along(data_model, w, B, keys, block, n_blocks, n_directions)
    return np.asarray(trajectory.t[: trajectory.completed]), along


def _check_weights(data_model: DataModel, w: Array, B: Array, batched: bool) -> None:
    if w.ndim != 2 + batched or w.shape[-1] != data_model.input_dim:
        raise ValueError(f"w must be (K, N={data_model.input_dim}), got {w.shape}")
    if B.ndim != 2 or B.shape[1] != data_model.latent_dim:
        raise ValueError(f"B must be (M, D={data_model.latent_dim}), got {B.shape}")


def _block_size(n_samples: int, n_blocks: int) -> int:
    block = n_samples // n_blocks
    if block < 10:
        raise ValueError("n_samples must give at least 10 samples per block")
    return block


def _statistics(data_model, w, B, key, block, n_blocks, n_directions) -> FieldDiagnostics:
    """The statistics of `FieldDiagnostics` from `n_blocks` blocks of `block` samples."""
    n = block * n_blocks
    R = data_model.input_latent_overlap(w, B)
    C = jnp.block([[data_model.input_overlap(w, w), R], [R.T, data_model.latent_overlap(B, B)]])
    dim = C.shape[0]
    kx, kg, kg2, kd = jax.random.split(key, 4)
    fields = _sample_fields(data_model, w, B, kx, n, block)
    root = psd_cholesky(C)
    gaussian = jax.random.normal(kg, (n, dim), fields.dtype) @ root.T
    gaussian2 = jax.random.normal(kg2, (n, dim), fields.dtype) @ root.T
    directions = jax.random.normal(kd, (n_directions, dim), fields.dtype)
    directions = directions / jnp.linalg.norm(directions, axis=1, keepdims=True)
    blocks = lambda a: a.reshape(n_blocks, block, dim)  # noqa: E731
    per_block = jax.vmap(sliced_wasserstein, in_axes=(0, 0, None))
    d = per_block(blocks(fields), blocks(gaussian), directions)
    floor = per_block(blocks(gaussian2), blocks(gaussian), directions)
    mean = fields.mean(0)
    std = fields.std(0)
    standard = (fields - mean) / std
    skew = jnp.mean(standard**3, 0)
    kurt = jnp.mean(standard**4, 0) - 3.0
    cumulant_z = jnp.max(
        jnp.concatenate([jnp.abs(skew) / math.sqrt(6 / n), jnp.abs(kurt) / math.sqrt(24 / n)])
    )
    sampled_C = jnp.cov(fields.T)
    return FieldDiagnostics(
        mean_z=jnp.max(jnp.abs(mean) / (std / math.sqrt(n))),
        covariance_error=jnp.linalg.norm(sampled_C - C) / jnp.linalg.norm(C),
        skewness=skew,
        excess_kurtosis=kurt,
        cumulant_z=cumulant_z,
        distance=d.mean(),
        distance_error=jnp.sqrt(d.var(ddof=1) / n_blocks + floor.var(ddof=1) / n_blocks),
        gaussian_floor=floor.mean(),
    )


# Compiled once per shape and setting: one record, and every record of a trajectory vmapped.
_statistics_jit = eqx.filter_jit(_statistics)
_statistics_along = eqx.filter_jit(
    eqx.filter_vmap(_statistics, in_axes=(None, 0, None, 0, None, None, None))
)


def _sample_fields(data_model, w, B, key, n, block):
    def one(key):
        x, c = data_model.sample(key, block)
        return jnp.concatenate(
            [x @ w.T / math.sqrt(data_model.input_dim), c @ B.T / math.sqrt(data_model.latent_dim)],
            axis=1,
        )

    keys = jax.random.split(key, n // block)
    return jax.lax.map(one, keys).reshape(n, -1)
