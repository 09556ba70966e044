"""The Gaussian equivalent model of a data model (Goldt et al., MSML 2021, THEORY.md Sec. 4).

Gaussian inputs with the same `Omega` and `Phi` as the original: `x = Phi c + L z` with
`c ~ N(0, I_D)`, `z ~ N(0, I_N)` and `L L^T = Omega - Phi Phi^T`. By the Gaussian equivalence
property, online learning on it follows the same order-parameter dynamics as on the original, so
running the same experiment on both tests the equivalence directly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .base import DataModel

__all__ = ["GaussianEquivalent"]


class GaussianEquivalent(DataModel):
    """Jointly Gaussian `(x, c)` with `Cov(x) = Omega`, `Cov(x, c) = Phi`, `Cov(c) = I`.

    **Arguments:**

    - `omega`: `(N, N)` symmetric input covariance.
    - `phi`: `(N, D)` input-latent covariance; `Omega - Phi Phi^T` must be positive
      semi-definite (it is for any real generator).
    - `tolerance`: relative size of negative eigenvalues of `Omega - Phi Phi^T` forgiven as
      rounding error (they are clipped to zero).

    Use `GaussianEquivalent.of(data_model)` for the equivalent of another data model.
    """

    omega: Float[Array, "N N"]
    phi: Float[Array, "N D"]
    noise_factor: Float[Array, "N N"]

    def __init__(self, omega, phi, *, tolerance: float = 1e-4):
        omega, phi = jnp.asarray(omega), jnp.asarray(phi)
        if omega.ndim != 2 or omega.shape[0] != omega.shape[1]:
            raise ValueError(f"Omega must be a square (N, N) matrix, got shape {omega.shape}")
        if phi.ndim != 2 or phi.shape[0] != omega.shape[0]:
            raise ValueError(
                f"Phi must have shape (N, D) with N={omega.shape[0]} rows like Omega, "
                f"got shape {phi.shape}"
            )
        scale = jnp.max(jnp.abs(omega))
        if not bool(jnp.all(jnp.isfinite(omega))) or not bool(jnp.all(jnp.isfinite(phi))):
            raise ValueError("Omega and Phi must be finite")
        if float(jnp.max(jnp.abs(omega - omega.T))) > tolerance * float(scale):
            raise ValueError("Omega must be symmetric")
        residual = omega - phi @ phi.T
        eigenvalues, eigenvectors = jnp.linalg.eigh(0.5 * (residual + residual.T))
        smallest = float(eigenvalues[0])
        if smallest < -tolerance * float(scale):
            raise ValueError(
                f"Omega - Phi Phi^T is not positive semi-definite (smallest eigenvalue "
                f"{smallest:.3g}): no generator has these covariances"
            )
        self.omega, self.phi = omega, phi
        self.noise_factor = eigenvectors * jnp.sqrt(jnp.maximum(eigenvalues, 0.0))

    @classmethod
    def of(cls, data_model: DataModel, **kwargs) -> GaussianEquivalent:
        """The Gaussian equivalent of `data_model`, from its `covariances()`."""
        return cls(*data_model.covariances(), **kwargs)

    @property
    def input_dim(self) -> int:
        return self.omega.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.phi.shape[1]

    def sample(self, key, n):
        ckey, zkey = jax.random.split(key)
        c = jax.random.normal(ckey, (n, self.latent_dim), self.phi.dtype)
        z = jax.random.normal(zkey, (n, self.input_dim), self.phi.dtype)
        return c @ self.phi.T + z @ self.noise_factor.T, c

    def covariances(self):
        return self.omega, self.phi
