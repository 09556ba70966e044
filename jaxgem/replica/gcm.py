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

from ..activations import Activation
from ..checks import is_traced
from ..data.base import DataModel
from ..data.gaussian_equivalent import GaussianEquivalent
from ..data.hidden_manifold import HiddenManifold
from ..data.iid import IIDGaussian
from ..data.manifold_limit import HiddenManifoldLimit

__all__ = ["GaussianCovariateModel", "random_teacher"]


def random_teacher(key, k: int, dtype=None) -> Array:
    """A random teacher vector rescaled to `|theta|^2 = k`, so `rho = 1` exactly when
    `Psi = I`."""
    theta = jax.random.normal(key, (k,), dtype)
    return theta * jnp.sqrt(k) / jnp.linalg.norm(theta)


class GaussianCovariateModel(eqx.Module):
    """A spectrum `(omega, t, weights)` with `rho` and `gamma`, and optionally the data model
    and teacher vector `theta` it came from (what finite-size ERM samples: the student's
    features are the data model's `x`, the teacher's its `c`)."""

    omega: Float[Array, " P"]
    t: Float[Array, " P"]
    weights: Float[Array, " P"]
    rho: Float[Array, ""]
    gamma: Float[Array, ""]
    data: DataModel | None = None
    theta: Array | None = None

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
        if not is_traced(omega, t, rho, gamma):  # a fitted spectrum is checked by its fit
            if bool(jnp.any(omega < 0)) or bool(jnp.any(t < 0)):
                raise ValueError("omega and t must be non-negative")
            if not float(rho) > 0 or not float(gamma) > 0:
                raise ValueError(f"rho and gamma must be positive, got {rho}, {gamma}")
        return cls(omega, t, weights, jnp.asarray(rho, dtype), jnp.asarray(gamma, dtype))

    @classmethod
    def of(cls, data, theta=None, *, rho=None) -> GaussianCovariateModel:
        """The Gaussian covariate model of a jaxgem data model with a teacher vector `theta (D,)`
        on its `c`: student features `x`, teacher features `c`, `Psi` the data model's latent
        covariance, `Phi = Cov(c, x)`, `Omega = Cov(x)`, `gamma = D / N`; `t_i` from the
        eigenvectors of `Omega`. For `HiddenManifoldLimit` (random features as
        `p, D -> infinity`) give the teacher's `rho` instead: `t(s) = kappa1^2 rho s`.

        Example: `GaussianCovariateModel.of(jaxgem.Dataset.digits(), theta)`."""
        if isinstance(data, HiddenManifoldLimit):
            if rho is None or theta is not None:
                raise ValueError("the N, D -> infinity limit takes the teacher's rho=, no theta")
            spectrum = data.spectrum()
            t = data.teacher_density(jnp.full((1, 1), rho, spectrum.rho.dtype))[:, 0, 0]
            return cls.from_spectrum(
                spectrum.rho, t, rho=rho, gamma=data.delta, weights=spectrum.weights
            )
        if not isinstance(data, DataModel) or theta is None or rho is not None:
            raise ValueError("GaussianCovariateModel.of(data_model, theta): a teacher vector on c")
        theta = jnp.asarray(theta)
        if theta.shape != (data.latent_dim,):
            raise ValueError(
                f"theta must have shape ({data.latent_dim},) like the data's c, got {theta.shape}"
            )
        spectrum = data.spectrum()
        t = data.teacher_projections(spectrum, theta[None])[0] ** 2
        rho = data.latent_overlap(theta[None], theta[None])[0, 0]
        model = cls.from_spectrum(jnp.maximum(spectrum.rho, 0.0), t, rho=rho, gamma=data.delta)
        return eqx.tree_at(
            lambda m: (m.data, m.theta), model, (data, theta), is_leaf=lambda x: x is None
        )

    @classmethod
    def isotropic(cls, rho: float = 1.0) -> GaussianCovariateModel:
        """`Omega = Psi = Phi = I` (`gamma = 1`): ridge, logistic, hinge on iid Gaussian data."""
        return cls.from_spectrum([1.0], [rho], rho=rho, gamma=1.0)

    @classmethod
    def isotropic_sample(cls, key, p: int) -> GaussianCovariateModel:
        """The isotropic model at finite `p`: iid Gaussian inputs read by a random teacher
        (`rho = 1`), for finite-size ERM."""
        return cls.of(IIDGaussian(N=p), random_teacher(key, p))

    @classmethod
    def from_covariances(cls, Psi, Phi, Omega, theta) -> GaussianCovariateModel:
        """From `Psi (k, k)`, `Phi (k, p)`, `Omega (p, p)` and the teacher `theta (k,)`, in the
        replica papers' notation (`Phi = E u v^T`, teacher features `u`, student `v`): the
        Gaussian data model with these covariances (`GaussianEquivalent`, `x = v`, `c = u`)."""
        Psi, Phi, Omega, theta = (jnp.asarray(a) for a in (Psi, Phi, Omega, theta))
        k, p = Phi.shape
        if Psi.shape != (k, k) or Omega.shape != (p, p) or theta.shape != (k,):
            raise ValueError(
                f"need Psi (k, k), Phi (k, p), Omega (p, p), theta (k,) with k = {k}, p = {p}; "
                f"got {Psi.shape}, {Phi.shape}, {Omega.shape}, {theta.shape}"
            )
        return cls.of(GaussianEquivalent(Omega, Phi.T, psi=Psi), theta)

    @classmethod
    def random_features(
        cls, key, p: int, D: int, activation: Activation | str = "erf"
    ) -> GaussianCovariateModel:
        """The Gaussian equivalent of random features `x = g(F c / sqrt D) - kappa0`
        (`F (p, D)` iid N(0, 1); the hidden manifold model with kappa-form moments) of inputs
        `c ~ N(0, I_D)`, with a teacher `theta` on `c`, `|theta|^2 = D` (`rho = 1`):
        `Omega = kappa1^2 F F^T / D + kappa*^2 I`, `Phi = kappa1 F / sqrt D`, `gamma = D / p`
        (THEORY.md Sec. 2, 7). ERM on it samples the Gaussian features; ERM on the actual
        features is `of(HiddenManifold(...), theta)`."""
        features, theta = random_features(key, p, D, activation)
        return cls.of(GaussianEquivalent.of(features), theta)

    @classmethod
    def random_features_limit(
        cls, gamma: float, activation: Activation | str = "erf", *, rho=1.0, n_nodes: int = 256
    ) -> GaussianCovariateModel:
        """The proportional limit `p, D -> infinity`, `D / p = gamma`, of `random_features`:
        `of(HiddenManifoldLimit(gamma, activation, n_nodes=n_nodes), rho=rho)`. With the default
        256 Marchenko–Pastur nodes the replica errors are converged to 1e-6 (relative) at
        `gamma` = 0.5, 1 and 2 (`data.marchenko_pastur`)."""
        return cls.of(HiddenManifoldLimit(gamma, activation, n_nodes=n_nodes), rho=rho)

    @property
    def p(self) -> int:
        return self.omega.shape[0]


def random_features(key, p: int, D: int, activation: Activation | str = "erf"):
    """Actual random features and a teacher on their inputs: `(HiddenManifold (N = p) with
    kappa-form moments, theta (D,))`, `|theta|^2 = D`."""
    kf, kt = jax.random.split(key)
    features = HiddenManifold.random(kf, p, D, activation, moments="gaussian_equivalent")
    return features, random_teacher(kt, D)
