"""K-dimensional priors `P0` of the rows `w_i in R^K` of a committee teacher's weights
(THEORY.md Sec. 9): the K-dimensional versions of the Bayes-optimal GLM's priors.

A prior is defined by its log-partition `ln Z_P0(gamma, L) = ln E_{w ~ P0} exp(gamma . w -
w . L w / 2)`. Autodiff gives AMP's input functions (the mean and covariance of the prior tilted by
a Gaussian: the gradient and Hessian in `gamma`) and, over the Nishimori distribution `gamma =
r^{1/2} xi + r w0` (`xi ~ N(0, I_K)`, `w0 ~ P0`), the free entropy `psi_P0(r) = E ln Z_P0` and the
state evolution's overlap `q(r) = E f_a f_a^T = 2 grad_r psi_P0`.

Aubin, Maillard, Barbier, Krzakala, Macris, Zdeborová, "The committee machine: computational to
statistical gaps in learning a two-layers neural network", NeurIPS 2018.
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..bayes.priors import GridPrior, Prior, Rademacher
from ..gaussian import hermite_rule, psd_root

__all__ = ["CommitteePrior", "GaussianWeights", "DiscreteWeights", "get_committee_prior"]

#: Gauss–Hermite nodes per dimension of the Nishimori expectation over `xi`.
ORDER = {1: 128, 2: 48, 3: 20}


def product_rule(K: int, dtype, order: int | None = None):
    """A product Gauss–Hermite rule for `E f(xi)`, `xi ~ N(0, I_K)`: nodes `(P, K)`, weights."""
    order = order or ORDER.get(K, 8)
    nodes, weights = hermite_rule(order)
    grid = np.stack([g.ravel() for g in np.meshgrid(*([nodes] * K), indexing="ij")], -1)
    total = np.prod(np.meshgrid(*([weights] * K), indexing="ij"), axis=0).ravel()
    return jnp.asarray(grid, dtype), jnp.asarray(total, dtype)


class CommitteePrior(eqx.Module):
    """A prior `P0` on `R^K` (abstract): its log-partition, second moment `rho = E w w^T`,
    samples, and the Nishimori expectation over `gamma = r^{1/2} xi + r w0`."""

    K: eqx.AbstractVar[int]

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The prior's name (a class constant)."""

    @property
    @abc.abstractmethod
    def rho(self) -> jax.Array:
        """`E w w^T` (K x K)."""

    @abc.abstractmethod
    def log_partition(self, gamma, L):
        """`ln E_w exp(gamma . w - w . L w / 2)` for one `gamma (K,)` and `L (K, K)`."""

    @abc.abstractmethod
    def expect(self, fn: Callable, r):
        """`E fn(gamma)` over `gamma = r^{1/2} xi + r w0`, `xi ~ N(0, I_K)`, `w0 ~ P0`."""

    @abc.abstractmethod
    def sample(self, key, d: int, dtype=jnp.float32) -> jax.Array:
        """`d` rows `w_i ~ P0`: a `(d, K)` matrix."""

    def denoiser(self, gamma, L):
        """AMP's input functions: mean `(K,)` and covariance `(K, K)` of the prior tilted by
        `exp(gamma . w - w . L w / 2)`."""
        grad = jax.grad(self.log_partition)
        return grad(gamma, L), jax.jacfwd(grad)(gamma, L)

    def free_entropy(self, r):
        """`psi_P0(r) = E ln Z_P0(gamma, r)`."""
        return self.expect(lambda gamma: self.log_partition(gamma, r), r)

    def overlap(self, r):
        """`q(r) = E f_a f_a^T`: the state evolution's update of the overlap."""
        mean = jax.grad(self.log_partition)
        return self.expect(lambda gamma: jnp.outer(mean(gamma, r), mean(gamma, r)), r)


class GaussianWeights(CommitteePrior):
    """`w ~ N(0, I_K)`. Closed forms: `q = (I + r)^{-1} r`, `psi = Tr r / 2 - ln det(I + r) / 2`."""

    name: ClassVar[str] = "gaussian"
    K: int = eqx.field(static=True, default=2)

    @property
    def rho(self):
        return jnp.eye(self.K)

    def log_partition(self, gamma, L):
        A = jnp.eye(self.K, dtype=L.dtype) + L
        return gamma @ jnp.linalg.solve(A, gamma) / 2 - jnp.linalg.slogdet(A)[1] / 2

    def expect(self, fn, r):
        # gamma ~ N(0, r (I + r))
        nodes, weights = product_rule(self.K, r.dtype)
        root, _ = psd_root(r + r @ r)
        return jnp.tensordot(weights, jax.vmap(fn)(nodes @ root.T), axes=1)

    def free_entropy(self, r):
        return jnp.trace(r) / 2 - jnp.linalg.slogdet(jnp.eye(self.K, dtype=r.dtype) + r)[1] / 2

    def overlap(self, r):
        return jnp.linalg.solve(jnp.eye(self.K, dtype=r.dtype) + r, r)

    def sample(self, key, d, dtype=jnp.float32):
        return jax.random.normal(key, (d, self.K), dtype)


class DiscreteWeights(CommitteePrior):
    """Weights on points of `R^K`: binary weights (`DiscreteWeights.binary(K)`, each entry ±1),
    the product of a scalar grid prior (`DiscreteWeights.product`), or any points and weights.
    The log-partition is a log-sum-exp over the points (static, like `bayes.GridPrior`)."""

    name: ClassVar[str] = "discrete"
    points: tuple[tuple[float, ...], ...] = eqx.field(static=True)
    log_weights: tuple[float, ...] = eqx.field(static=True)
    K: int = eqx.field(static=True)

    def __init__(self, points, weights=None):
        points = np.asarray(points, float)
        if points.ndim != 2:
            raise ValueError(f"points must be a (P, K) array, got shape {points.shape}")
        weights = np.ones(len(points)) if weights is None else np.asarray(weights, float)
        if weights.shape != (len(points),) or not np.all(weights >= 0) or weights.sum() <= 0:
            raise ValueError(
                f"need {len(points)} non-negative weights (not all 0), got shape {weights.shape}"
            )
        with np.errstate(divide="ignore"):
            log_weights = np.log(weights / weights.sum())
        self.points = tuple(map(tuple, points.tolist()))
        self.log_weights = tuple(log_weights.tolist())
        self.K = points.shape[1]

    @classmethod
    def binary(cls, K: int) -> DiscreteWeights:
        """Each entry ±1 with equal probability: the `2^K` sign vectors."""
        return cls(list(itertools.product((-1.0, 1.0), repeat=K)))

    @classmethod
    def product(cls, prior: Prior, K: int) -> DiscreteWeights:
        """Independent entries from a scalar prior on points (`bayes.Rademacher`,
        `bayes.GridPrior`): the `P^K` points of the product grid."""
        if isinstance(prior, Rademacher):
            return cls.binary(K)
        if not isinstance(prior, GridPrior):
            raise TypeError(f"need a bayes.Rademacher or bayes.GridPrior, got {prior!r}")
        values, logw = np.asarray(prior.points), np.asarray(prior.log_weights)
        points = list(itertools.product(values, repeat=K))
        weights = np.exp([sum(c) for c in itertools.product(logw, repeat=K)])
        return cls(points, weights)

    def _arrays(self, dtype):
        return jnp.asarray(self.points, dtype), jnp.asarray(self.log_weights, dtype)

    @property
    def rho(self):
        x, logw = self._arrays(float)
        return jnp.einsum("p,pk,pl->kl", jnp.exp(logw), x, x)

    def log_partition(self, gamma, L):
        x, logw = self._arrays(jnp.result_type(gamma, L, float))
        return jax.nn.logsumexp(logw + x @ gamma - jnp.einsum("pk,kl,pl->p", x, L, x) / 2)

    def expect(self, fn, r):
        x, logw = self._arrays(r.dtype)
        nodes, weights = product_rule(self.K, r.dtype)
        root, _ = psd_root(r)
        noise = nodes @ root.T  # (P, K)
        per_point = jax.vmap(lambda w0: weights @ jax.vmap(fn)(w0 @ r + noise).reshape(
            len(weights), -1))(x)  # fmt: skip
        shape = jax.eval_shape(fn, x[0]).shape
        return (jnp.exp(logw) @ per_point).reshape(shape)

    def sample(self, key, d, dtype=jnp.float32):
        x, logw = self._arrays(dtype)
        return x[jax.random.categorical(key, logw, shape=(d,))]


def get_committee_prior(name: str | CommitteePrior, K: int) -> CommitteePrior:
    """A committee prior by name: `gaussian` (`N(0, I_K)`) or `binary` (entries ±1)."""
    if isinstance(name, CommitteePrior):
        return name
    if name == "gaussian":
        return GaussianWeights(K)
    if name == "binary":
        return DiscreteWeights.binary(K)
    raise ValueError(f"unknown committee prior {name!r}; choose from gaussian, binary")
