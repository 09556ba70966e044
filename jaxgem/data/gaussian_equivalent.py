"""The Gaussian equivalent model of a data model (Goldt et al., MSML 2021, THEORY.md Sec. 4), and
more generally any Gaussian covariate model (Loureiro et al., NeurIPS 2021, THEORY.md Sec. 7).

Gaussian inputs with the same covariances as the original: with `c ~ N(0, I_D)`,
`x = Phi c + L z`, `z ~ N(0, I_N)`, `L L^T = Omega - Phi Phi^T`. With a latent covariance
`Psi = E c c^T` (a teacher reading non-white features), `c = Psi^{1/2} z'` and
`x = Phi Psi^+ c + L z`, `L L^T = Omega - Phi Psi^+ Phi^T`. By the Gaussian equivalence property,
learning on it follows the same theory as on the original, so running the same experiment on
both tests the equivalence directly.
"""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import threefry
from ..gaussian import psd_root
from .base import CovarianceDataModel, DataModel

__all__ = ["GaussianEquivalent"]


def _rebuild(omega, phi, psi):
    return GaussianEquivalent(omega, phi, psi=psi, tolerance=float("inf"))


class GaussianEquivalent(CovarianceDataModel):
    """Jointly Gaussian `(x, c)` with `Cov(x) = Omega`, `Cov(x, c) = Phi`, `Cov(c) = Psi`
    (default the identity).

    **Arguments:**

    - `omega`: `(N, N)` symmetric input covariance.
    - `phi`: `(N, D)` input-latent covariance; `Omega - Phi Psi^+ Phi^T` must be positive
      semi-definite (it is for any real data).
    - `psi`: `(D, D)` latent covariance, or `None` for `I_D`.
    - `tolerance`: relative size of negative eigenvalues forgiven as rounding error (they are
      clipped to zero).

    Use `GaussianEquivalent.of(data_model)` for the equivalent of another data model.
    """

    omega: Float[Array, "N N"]
    phi: Float[Array, "N D"]
    psi: Float[Array, "D D"] | None
    latent_factor: Float[Array, "D D"] | None
    latent_map: Float[Array, "N D"] | None
    noise_factor: Float[Array, "N N"]
    is_gaussian: ClassVar[bool] = True

    def __init__(self, omega, phi, *, psi=None, tolerance: float = 1e-4):
        omega, phi = jnp.asarray(omega), jnp.asarray(phi)
        if omega.ndim != 2 or omega.shape[0] != omega.shape[1]:
            raise ValueError(f"Omega must be a square (N, N) matrix, got shape {omega.shape}")
        if phi.ndim != 2 or phi.shape[0] != omega.shape[0]:
            raise ValueError(
                f"Phi must have shape (N, D) with N={omega.shape[0]} rows like Omega, "
                f"got shape {phi.shape}"
            )
        arrays = (omega, phi) if psi is None else (omega, phi, jnp.asarray(psi))
        if not all(bool(jnp.all(jnp.isfinite(a))) for a in arrays):
            raise ValueError("Omega, Phi and Psi must be finite")
        scale = float(jnp.max(jnp.abs(omega)))
        if float(jnp.max(jnp.abs(omega - omega.T))) > tolerance * scale:
            raise ValueError("Omega must be symmetric")
        if psi is None:
            self.psi = self.latent_factor = self.latent_map = None
            explained = phi @ phi.T
        else:
            psi = jnp.asarray(psi, omega.dtype)
            D = phi.shape[1]
            if psi.shape != (D, D):
                raise ValueError(
                    f"Psi must have shape ({D}, {D}) like Phi's columns, got {psi.shape}"
                )
            self.psi = psi
            self.latent_factor, smallest = psd_root(psi)
            if float(smallest) < -tolerance * float(jnp.max(jnp.abs(psi))):
                raise ValueError(
                    f"Psi is not positive semi-definite (eigenvalue {float(smallest):.3g})"
                )
            self.latent_map = phi @ jnp.linalg.pinv(psi, hermitian=True)
            explained = self.latent_map @ phi.T
        self.omega, self.phi = omega, phi
        self.noise_factor, smallest = psd_root(omega - explained)
        if float(smallest) < -tolerance * scale:
            raise ValueError(
                f"Omega - Phi Psi^+ Phi^T is not positive semi-definite (smallest eigenvalue "
                f"{float(smallest):.3g}): no data have these covariances"
            )

    @classmethod
    def of(cls, data_model: DataModel, **kwargs) -> GaussianEquivalent:
        """The Gaussian equivalent of `data_model`, from its covariances."""
        return cls(*data_model.covariances(), psi=data_model.latent_covariance(), **kwargs)

    @property
    def input_dim(self) -> int:
        return self.omega.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.phi.shape[1]

    @property
    def max_samples(self) -> None:
        return None

    def __reduce__(self):
        """Pickled by its covariances (a trajectory carries its problem); the factors are
        rebuilt, without checking again what was checked when it was made."""
        return (_rebuild, (self.omega, self.phi, self.psi))

    def sample(self, key, n):
        ckey, zkey = jax.random.split(key)
        c = threefry.normal(ckey, (n, self.latent_dim), self.phi.dtype)
        z = threefry.normal(zkey, (n, self.input_dim), self.phi.dtype)
        if self.psi is None:
            return c @ self.phi.T + z @ self.noise_factor.T, c
        c = c @ self.latent_factor.T
        return c @ self.latent_map.T + z @ self.noise_factor.T, c

    def covariances(self):
        return self.omega, self.phi

    def latent_covariance(self):
        return self.psi
