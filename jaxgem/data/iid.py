"""iid standard Gaussian inputs, read by both teacher and student (Saad & Solla 1995)."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .. import threefry
from ..networks import check_size
from .base import DataModel

__all__ = ["IIDGaussian"]


class IIDGaussian(DataModel):
    """`x ~ N(0, I_N)` and the teacher reads `c = x`: `Omega = Phi = Psi = I`.

    **Arguments:**

    - `N`: input dimension.
    - `dtype`: floating dtype of the samples.

    Its theory is the Saad–Solla ODEs (`jaxgem.theory`); its overlaps are computed without
    forming the `N x N` identity.

    Example: `jaxgem.IIDGaussian(N=1000).sample(jax.random.key(0), 4)`.
    """

    N: int = eqx.field(static=True)
    dtype: type = eqx.field(static=True, default=jnp.float32)
    is_gaussian: ClassVar[bool] = True

    def __check_init__(self):
        check_size("N", self.N)

    @property
    def input_dim(self) -> int:
        return self.N

    @property
    def latent_dim(self) -> int:
        return self.N

    @property
    def max_samples(self) -> None:
        return None

    def sample(self, key, n):
        x = threefry.normal(key, (n, self.N), self.dtype)
        return x, x

    def covariances(self):
        eye = jnp.eye(self.N, dtype=self.dtype)
        return eye, eye

    def latent_covariance(self):
        return None

    def input_overlap(self, w1, w2):
        return w1 @ w2.T / self.N

    def input_latent_overlap(self, w, B):
        return w @ B.T / self.N
