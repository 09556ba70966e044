"""The hidden manifold model `x = f(F c / sqrt D)` (Goldt, Mézard, Krzakala, Zdeborová, PRX 2020).

The teacher reads the latent `c ~ N(0, I_D)`; the student sees `x in R^N`, centred by the data
model. Its covariances (THEORY.md Sec. 4) come in two flavours:

- `moments="exact"`: `Omega_ij = E f(u_i) f(u_j) - mu_i mu_j` and `Phi_i = F_i E[u_i f(u_i)] /
  (sqrt D s_i^2)` for the actual `F`, with `u = F c / sqrt D`, `s_i^2 = |F_i|^2 / D`; closed form
  for sign (the arcsine law), erf, ReLU, linear, quadratic, quadrature otherwise;
- `moments="gaussian_equivalent"`: the kappa form `Omega = kappa1^2 F F^T / D + kappa*^2 I`,
  `Phi = kappa1 F / sqrt D`, exact only as `N, D -> infinity`.
"""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .. import threefry
from ..activations import Activation, get_activation
from ..networks import check_size
from ..order_parameters import pair_covariances
from .base import CovarianceDataModel

__all__ = ["HiddenManifold", "MOMENT_METHODS", "kappa_form"]

MOMENT_METHODS = ("exact", "gaussian_equivalent")


def _exact_moments(F: Array, activation: Activation) -> tuple[Array, Array, Array]:
    N, D = F.shape
    gram = F @ F.T / D
    # The variances are the Gram diagonal itself, so each (i, i) pair is exactly singular and the
    # arcsine forms stay accurate in float32.
    variances = jnp.diagonal(gram)
    mean, projection = activation.gaussian_moments(variances)
    phi = F / math.sqrt(D) * (projection / variances)[:, None]

    def row(i_gram_var):
        gram_row, var_i = i_gram_var
        covariance = pair_covariances(var_i[None], variances, gram_row[None])[0]
        return activation.i2(covariance)

    second = jax.lax.map(row, (gram, variances), batch_size=32)
    omega = second - mean[:, None] * mean[None, :]
    return mean, 0.5 * (omega + omega.T), phi


def kappa_form(activation: Activation, gram: Array) -> Array:
    """The Gaussian-equivalent input covariance `Omega = kappa1^2 G + kappa*^2 I` of features
    `f(F c / sqrt D)` (THEORY.md Sec. 4, 7), from the Gram matrix `G = F F^T / D` `(N, N)` or, in
    its eigenbasis, from its eigenvalues `s (P,)` (the `N, D -> infinity` limit on
    Marchenko–Pastur nodes). The one place this form is written."""
    _, k1, kstar = (jnp.asarray(k, gram.dtype) for k in activation.kappa())
    if gram.ndim == 2:
        return k1**2 * gram + kstar**2 * jnp.eye(gram.shape[0], dtype=gram.dtype)
    return k1**2 * gram + kstar**2


def _equivalent_moments(F: Array, activation: Activation) -> tuple[Array, Array, Array]:
    N, D = F.shape
    k0, k1, _ = (jnp.asarray(k, F.dtype) for k in activation.kappa())
    omega = kappa_form(activation, F @ F.T / D)
    return jnp.full((N,), k0, F.dtype), omega, k1 * F / math.sqrt(D)


def _rebuild(F, activation, moments):
    return HiddenManifold(F, activation, moments=moments)


class HiddenManifold(CovarianceDataModel):
    """Inputs on a `D`-dimensional manifold embedded in `R^N` by one non-linear layer.

    **Arguments:**

    - `F`: `(N, D)` feature matrix.
    - `activation`: the generator's non-linearity `f` (an `Activation` or its name).
    - `moments`: `"exact"` or `"gaussian_equivalent"` (see the module docstring).

    Use `HiddenManifold.random(key, N, D)` for `F` with iid `N(0, 1)` entries, and `.limit()`
    for its `N, D -> infinity` limit at the same `delta = D / N`. With
    `moments="gaussian_equivalent"` it is the random-features model of full-batch ERM (features
    `f(F c / sqrt D) - kappa0`, teacher on `c`).
    """

    F: Float[Array, "N D"]
    activation: Activation
    mean: Float[Array, " N"]
    omega: Float[Array, "N N"]
    phi: Float[Array, "N D"]
    moments: str = eqx.field(static=True)
    is_gaussian: ClassVar[bool] = False

    def __init__(self, F, activation: Activation | str = "sign", *, moments: str = "exact"):
        F = jnp.asarray(F)
        if F.ndim != 2:
            raise ValueError(f"HiddenManifold.F must be an (N, D) matrix, got shape {F.shape}")
        if moments not in MOMENT_METHODS:
            raise ValueError(f"moments must be one of {MOMENT_METHODS}, got {moments!r}")
        self.F = F
        self.activation = get_activation(activation)
        self.moments = moments
        compute = _exact_moments if moments == "exact" else _equivalent_moments
        self.mean, self.omega, self.phi = compute(F, self.activation)

    @classmethod
    def random(
        cls,
        key: PRNGKeyArray,
        N: int,
        D: int,
        activation: Activation | str = "sign",
        *,
        moments: str = "exact",
        dtype=jnp.float32,
    ) -> HiddenManifold:
        """A hidden manifold model with `F_ij ~ N(0, 1)` iid."""
        N, D = check_size("N", N), check_size("D", D)
        return cls(jax.random.normal(key, (N, D), dtype), activation, moments=moments)

    @property
    def input_dim(self) -> int:
        return self.F.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.F.shape[1]

    @property
    def max_samples(self) -> None:
        return None

    def __reduce__(self):
        """Pickled by `F` alone (a trajectory carries its problem): the moments are rebuilt."""
        return (_rebuild, (self.F, self.activation, self.moments))

    def limit(self, n_nodes: int = 128):
        """The `N, D -> infinity` limit at this model's `delta = D / N` and non-linearity
        (`HiddenManifoldLimit`): its theory runs on Marchenko–Pastur nodes."""
        from .manifold_limit import HiddenManifoldLimit

        return HiddenManifoldLimit(self.delta, self.activation, n_nodes=n_nodes)

    def sample(self, key, n):
        c = threefry.normal(key, (n, self.latent_dim), self.F.dtype)
        x = self.activation(c @ self.F.T / math.sqrt(self.latent_dim)) - self.mean
        return x, c

    def covariances(self):
        return self.omega, self.phi

    def latent_covariance(self):
        return None
