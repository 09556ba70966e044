"""A real dataset as a data model: its rows are the inputs and the teacher reads the same features
(`c = x`), so `Omega = Phi = Psi` is the empirical covariance. Its Gaussian covariate model
(Loureiro et al., NeurIPS 2021) predicts learning on the actual rows; where the rows do not look
Gaussian enough in the directions that matter, the prediction fails, and jaxgem shows it."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .base import CovarianceDataModel

__all__ = ["Dataset"]


class Dataset(CovarianceDataModel):
    """Rows of `X (n_data, p)`, centred, as inputs `x` and as what the teacher reads (`c = x`).

    `sample` draws rows without replacement, so one call gives at most `n_data` distinct samples
    (`max_samples`): a training set and a disjoint test set.

    **Arguments:**

    - `X`: the data matrix, one sample per row.

    Example: `jaxgem.Dataset.digits()` (scikit-learn's 1797 bundled 8 x 8 digits, p = 61).
    """

    X: Float[Array, "n p"]
    omega: Float[Array, "p p"]
    is_gaussian: ClassVar[bool] = False

    def __init__(self, X):
        X = jnp.asarray(X)
        if X.ndim != 2 or X.shape[0] < 2:
            raise ValueError(f"Dataset.X must be an (n, p) matrix with n >= 2, got shape {X.shape}")
        if not bool(jnp.all(jnp.isfinite(X))):
            raise ValueError("Dataset.X must be finite")
        self.X = X - X.mean(0)
        self.omega = self.X.T @ self.X / X.shape[0]

    @classmethod
    def digits(cls) -> Dataset:
        """scikit-learn's 1797 bundled digits (shipped with it, no download), each pixel
        standardised, constant pixels dropped (p = 61)."""
        from ..generators.digits import digits

        X = digits()
        X = X[:, X.std(0) > 0]
        return cls((X - X.mean(0)) / X.std(0))

    @property
    def input_dim(self) -> int:
        return self.X.shape[1]

    @property
    def latent_dim(self) -> int:
        return self.X.shape[1]

    @property
    def max_samples(self) -> int:
        return self.X.shape[0]

    def sample(self, key, n):
        rows = self.X[jax.random.choice(key, self.X.shape[0], (n,), replace=False)]
        return rows, rows

    def covariances(self):
        return self.omega, self.omega

    def latent_covariance(self):
        return self.omega
