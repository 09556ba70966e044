"""Feature maps whose samples ERM can be run on, each with its Gaussian covariate model: the
Gaussian equivalence for full-batch learning says the replica curve of the model predicts ERM on
the actual (non-Gaussian) features (Goldt et al., MSML 2021; Loureiro et al., NeurIPS 2021).

Every feature map samples `(u, v)`: the teacher's features `u (n, k)` and the student's `v (n, p)`,
and gives `.model()`, its `GaussianCovariateModel`.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..activations import Activation, get_activation
from ..data.base import DataModel
from .gcm import GaussianCovariateModel, random_teacher

__all__ = ["Features", "RandomFeatures", "DataModelFeatures", "DatasetFeatures"]


class Features(eqx.Module):
    """A source of `(u, v)` samples with a teacher vector `theta` on `u`."""

    theta: eqx.AbstractVar[Array]

    def sample(self, key, n: int) -> tuple[Array, Array]:
        raise NotImplementedError

    def model(self) -> GaussianCovariateModel:
        raise NotImplementedError

    @property
    def max_samples(self) -> int | None:
        """How many distinct samples exist (a finite dataset), or `None`."""
        return None


class RandomFeatures(Features):
    """`v = g(F c / sqrt D) - kappa0` with `F (p, D)` iid N(0, 1), `u = c ~ N(0, I_D)`."""

    F: Array
    theta: Array
    activation: Activation

    @classmethod
    def random(cls, key, p: int, D: int, activation: Activation | str = "erf"):
        """Random `F` and a teacher with `|theta|^2 = D` (`rho = 1`)."""
        kf, kt = jax.random.split(key)
        theta = random_teacher(kt, D)
        F = jax.random.normal(kf, (p, D))
        return cls(F=F, theta=theta, activation=get_activation(activation))

    def sample(self, key, n):
        c = jax.random.normal(key, (n, self.F.shape[1]), self.F.dtype)
        k0, _, _ = self.activation.kappa()
        return c, self.activation(c @ self.F.T / math.sqrt(self.F.shape[1])) - k0

    def model(self):
        """The Gaussian equivalent: `Psi = I`, `Phi = kappa1 F^T / sqrt D`,
        `Omega = kappa1^2 F F^T / D + kappa*^2 I`."""
        _, k1, kstar = self.activation.kappa()
        p, D = self.F.shape
        Omega = k1**2 * self.F @ self.F.T / D + kstar**2 * jnp.eye(p, dtype=self.F.dtype)
        Phi = k1 * self.F.T / math.sqrt(D)
        return GaussianCovariateModel.from_covariances(jnp.eye(D), Phi, Omega, self.theta)


class DataModelFeatures(Features):
    """Inputs `x` of a jaxgem data model (hidden manifold, a generator) as student features,
    its latent `c` as the teacher's: `u = c`, `v = x`."""

    data_model: DataModel
    theta: Array

    @classmethod
    def random(cls, key, data_model: DataModel):
        return cls(data_model=data_model, theta=random_teacher(key, data_model.latent_dim))

    def sample(self, key, n):
        x, c = self.data_model.sample(key, n)
        return c, x

    def model(self):
        return GaussianCovariateModel.from_data_model(self.data_model, self.theta)


class DatasetFeatures(Features):
    """Rows of a real dataset `X (n_data, p)`, centred, as features of teacher and student
    (`u = v`): samples are drawn without replacement, so `n + n_test <= n_data`."""

    X: Array
    theta: Array

    @classmethod
    def random(cls, key, X):
        X = jnp.asarray(X)
        return cls(X=X - X.mean(0), theta=random_teacher(key, X.shape[1], X.dtype))

    def sample(self, key, n):
        rows = jax.random.choice(key, self.X.shape[0], (n,), replace=False)
        return self.X[rows], self.X[rows]

    def model(self):
        return GaussianCovariateModel.from_dataset(self.X, self.theta)

    @classmethod
    def digits(cls, key):
        """scikit-learn's 1797 bundled digits, each pixel standardised (constant pixels
        dropped, p = 61), with a random linear teacher on the pixels."""
        from ..generators.digits import digits

        X = digits()
        X = X[:, X.std(0) > 0]
        return cls.random(key, (X - X.mean(0)) / X.std(0))

    @property
    def max_samples(self):
        return self.X.shape[0]
