"""The Gaussian covariate model (Loureiro et al., "Learning curves of generic features maps for
realistic datasets with a teacher-student model", NeurIPS 2021; THEORY.md Sec. 7).

Teacher features `u (k)`, student features `v (p)`, jointly Gaussian with covariances
`Psi = E u u^T`, `Phi = E u v^T (k x p)`, `Omega = E v v^T`; a teacher vector `theta`. The replica
learning curve depends on them only through `rho = theta^T Psi theta / k`, `gamma = k / p`, the
eigenvalues `omega_i` of `Omega` and `t_i = (e_i^T Phi^T theta)^2` with `e_i` the eigenvector of
`omega_i` (never pair sorted eigenvalues of different matrices: the teacher may sit on a
low-variance direction). A spectrum may also be a continuous density on quadrature nodes, with
weights summing to one.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..activations import Activation, get_activation
from ..ode.manifold_limit import marchenko_pastur

__all__ = ["GaussianCovariateModel", "random_teacher"]


def random_teacher(key, k: int, dtype=None) -> Array:
    """A random teacher vector rescaled to `|theta|^2 = k`, so `rho = 1` exactly when
    `Psi = I`."""
    theta = jax.random.normal(key, (k,), dtype)
    return theta * jnp.sqrt(k) / jnp.linalg.norm(theta)


class GaussianCovariateModel(eqx.Module):
    """A spectrum `(omega, t, weights)` with `rho` and `gamma`; optionally the covariances
    `(Psi, Phi, Omega, theta)` it came from (what finite-size ERM samples)."""

    omega: Float[Array, " P"]
    t: Float[Array, " P"]
    weights: Float[Array, " P"]
    rho: Float[Array, ""]
    gamma: Float[Array, ""]
    covariances: tuple | None = None

    def __check_init__(self):
        if self.omega.shape != self.t.shape or self.omega.shape != self.weights.shape:
            raise ValueError("omega, t and weights must have the same shape (P,)")

    # -------------------------------------------------------------------------- constructors
    @classmethod
    def from_spectrum(cls, omega, t, *, rho, gamma=1.0, weights=None) -> GaussianCovariateModel:
        """Eigenvalues `omega_i >= 0` of `Omega`, teacher weights `t_i >= 0` along them, `rho`,
        `gamma`; `weights` default to `1 / P` (a finite spectrum)."""
        omega, t = jnp.atleast_1d(jnp.asarray(omega)), jnp.atleast_1d(jnp.asarray(t))
        dtype = jnp.result_type(omega, t, float)
        omega, t = omega.astype(dtype), t.astype(dtype)
        weights = (
            jnp.full(omega.shape, 1.0 / omega.shape[0], dtype)
            if weights is None
            else jnp.asarray(weights, dtype)
        )
        if bool(jnp.any(omega < 0)) or bool(jnp.any(t < 0)):
            raise ValueError("omega and t must be non-negative")
        if not float(rho) > 0 or not float(gamma) > 0:
            raise ValueError(f"rho and gamma must be positive, got {rho}, {gamma}")
        return cls(omega, t, weights, jnp.asarray(rho, dtype), jnp.asarray(gamma, dtype))

    @classmethod
    def isotropic(cls, rho: float = 1.0) -> GaussianCovariateModel:
        """`Omega = Psi = Phi = I` (`gamma = 1`): ridge, logistic, hinge on iid Gaussian data."""
        return cls.from_spectrum([1.0], [rho], rho=rho, gamma=1.0)

    @classmethod
    def isotropic_sample(cls, key, p: int) -> GaussianCovariateModel:
        """The isotropic model at finite `p` with its covariances and a random teacher
        (`rho = 1`), for finite-size ERM."""
        eye = jnp.eye(p)
        return cls.from_covariances(eye, eye, eye, random_teacher(key, p))

    @classmethod
    def from_covariances(cls, Psi, Phi, Omega, theta) -> GaussianCovariateModel:
        """From `Psi (k, k)`, `Phi (k, p)`, `Omega (p, p)` and the teacher `theta (k,)`."""
        Psi, Phi, Omega, theta = (jnp.asarray(a) for a in (Psi, Phi, Omega, theta))
        k, p = Phi.shape
        if Psi.shape != (k, k) or Omega.shape != (p, p) or theta.shape != (k,):
            raise ValueError(
                f"need Psi (k, k), Phi (k, p), Omega (p, p), theta (k,) with k = {k}, p = {p}; "
                f"got {Psi.shape}, {Phi.shape}, {Omega.shape}, {theta.shape}"
            )
        omega, vectors = jnp.linalg.eigh(Omega)
        t = (vectors.T @ (Phi.T @ theta)) ** 2
        model = cls.from_spectrum(
            jnp.maximum(omega, 0.0), t, rho=theta @ Psi @ theta / k, gamma=k / p
        )
        return eqx.tree_at(
            lambda m: m.covariances, model, (Psi, Phi, Omega, theta), is_leaf=lambda x: x is None
        )

    @classmethod
    def random_features(
        cls, key, p: int, D: int, activation: Activation | str = "erf"
    ) -> GaussianCovariateModel:
        """Random features `v = g(F c / sqrt D)` (`F (p, D)` iid N(0, 1)) of Gaussian inputs
        `c ~ N(0, I_D)`, a teacher `theta` on `c` with `|theta|^2 = D` (`rho = 1`): the
        Gaussian equivalent `Psi = I`,
        `Phi = kappa1 F^T / sqrt D`, `Omega = kappa1^2 F F^T / D + kappa*^2 I` (features centred,
        THEORY.md Sec. 2, 7). `gamma = D / p`."""
        from .features import RandomFeatures

        return RandomFeatures.random(key, p, D, activation).model()

    @classmethod
    def random_features_limit(
        cls, gamma: float, activation: Activation | str = "erf", *, rho=1.0, n_nodes: int = 256
    ) -> GaussianCovariateModel:
        """The proportional limit `p, D -> infinity`, `D / p = gamma`, of `random_features`: the
        eigenvalues `s` of `F F^T / D` follow Marchenko–Pastur (quadrature nodes, plus a mass at
        0 when `p > D`), `omega = kappa1^2 s + kappa*^2`, `t = kappa1^2 rho s`."""
        g = get_activation(activation)
        _, k1, kstar = g.kappa()
        s, weights = marchenko_pastur(gamma, n_nodes)
        return cls.from_spectrum(
            k1**2 * s + kstar**2, k1**2 * rho * s, rho=rho, gamma=gamma, weights=weights
        )

    @classmethod
    def from_data_model(cls, data_model, theta) -> GaussianCovariateModel:
        """Student features `x` and teacher latent `c ~ N(0, I_D)` of a jaxgem data model
        (hidden manifold, generator with its moments): `Psi = I`, `Phi = Phi_model^T`."""
        Omega, Phi = data_model.covariances()
        return cls.from_covariances(jnp.eye(Phi.shape[1]), Phi.T, Omega, jnp.asarray(theta))

    @classmethod
    def from_dataset(cls, X, theta) -> GaussianCovariateModel:
        """A real dataset `X (n, p)` (e.g. standardised digits): `Omega` its empirical
        covariance, the teacher reading the same features (`Psi = Phi = Omega`)."""
        X = jnp.asarray(X)
        Xc = X - X.mean(0)
        Omega = Xc.T @ Xc / X.shape[0]
        return cls.from_covariances(Omega, Omega, Omega, jnp.asarray(theta))

    @property
    def p(self) -> int:
        return self.omega.shape[0]
