"""Any generator as a data model: `x = G(c) - mu` with `c ~ N(0, I_D)`, the teacher reading `c`,
and the generator's moments `(mu, Omega, Phi)` from a closed form or a Monte Carlo estimate
(Goldt et al., MSML 2021, THEORY.md Sec. 4)."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import threefry
from ..generators.base import Generator
from ..generators.moments import Moments, estimate_moments
from .base import CovarianceDataModel

__all__ = ["GeneratorData"]


class GeneratorData(CovarianceDataModel):
    """Inputs from a generator, centred by its mean, with its covariances.

    **Arguments:**

    - `generator`: a `jaxgem.generators.Generator`.
    - `mean (N,)`, `omega (N, N)`, `phi (N, D)`: its moments.

    Build it with `GeneratorData.estimate(generator, key)` (Monte Carlo moments),
    `GeneratorData.from_moments(generator, moments)`, or with closed-form moments, e.g.
    `GeneratorData(gen, mean=0, omega=omega, phi=phi)` from `sign_layer_recursion`.
    `GaussianEquivalent.of(data)` is its Gaussian equivalent model.
    """

    generator: Generator
    mean: Float[Array, " N"]
    omega: Float[Array, "N N"]
    phi: Float[Array, "N D"]
    moments: Moments | None = eqx.field(default=None)
    is_gaussian: ClassVar[bool] = False

    def __init__(self, generator: Generator, *, mean, omega, phi, moments: Moments | None = None):
        N, D = generator.output_dim, generator.latent_dim
        omega, phi = jnp.asarray(omega), jnp.asarray(phi)
        mean = jnp.broadcast_to(jnp.asarray(mean, omega.dtype), (N,))
        if omega.shape != (N, N) or phi.shape != (N, D):
            raise ValueError(
                f"the generator maps D={D} to N={N}: Omega must be ({N}, {N}) and Phi ({N}, {D}), "
                f"got {omega.shape} and {phi.shape}"
            )
        self.generator, self.mean, self.omega, self.phi = generator, mean, omega, phi
        self.moments = moments

    @classmethod
    def from_moments(cls, generator: Generator, moments: Moments) -> GeneratorData:
        """With moments estimated by `jaxgem.generators.estimate_moments`."""
        return cls(
            generator, mean=moments.mean, omega=moments.omega, phi=moments.phi, moments=moments
        )

    @classmethod
    def estimate(cls, generator: Generator, key, **options) -> GeneratorData:
        """Estimate the moments by Monte Carlo (`options` as in `estimate_moments`)."""
        return cls.from_moments(generator, estimate_moments(generator, key, **options))

    @property
    def input_dim(self) -> int:
        return self.generator.output_dim

    @property
    def latent_dim(self) -> int:
        return self.generator.latent_dim

    @property
    def max_samples(self) -> None:
        return None

    def sample(self, key, n):
        c = threefry.normal(key, (n, self.latent_dim), self.omega.dtype)
        return self.generator.batch(c).astype(self.omega.dtype) - self.mean, c

    def covariances(self):
        return self.omega, self.phi

    def latent_covariance(self):
        return None
