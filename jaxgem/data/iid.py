"""iid standard Gaussian inputs, read by both teacher and student (Saad & Solla 1995)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .base import DataModel, check_dimension

__all__ = ["IIDGaussian"]


class IIDGaussian(DataModel):
    """`x ~ N(0, I_N)` and the teacher reads `c = x`: `Omega = Phi = I`.

    **Arguments:**

    - `N`: input dimension.
    - `dtype`: floating dtype of the samples.

    Example: `jaxgem.IIDGaussian(N=1000).sample(jax.random.key(0), 4)`.
    """

    N: int = eqx.field(static=True)
    dtype: type = eqx.field(static=True, default=jnp.float32)

    def __check_init__(self):
        check_dimension("N", self.N)

    @property
    def input_dim(self) -> int:
        return self.N

    @property
    def latent_dim(self) -> int:
        return self.N

    def sample(self, key, n):
        x = jax.random.normal(key, (n, self.N), self.dtype)
        return x, x

    def covariances(self):
        eye = jnp.eye(self.N, dtype=self.dtype)
        return eye, eye

    def input_overlap(self, w1, w2):
        return w1 @ w2.T / self.N

    def input_latent_overlap(self, w, B):
        return w @ B.T / self.N
