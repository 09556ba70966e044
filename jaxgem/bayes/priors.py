"""Priors `P_w` of the teacher's weights for Bayes-optimal inference (THEORY.md Sec. 8).

A prior is defined by its log-partition `ln Z(A, B) = ln E_{w ~ P_w} exp(B w - A w^2 / 2)`,
the normaliser of the scalar posterior of `w` seen through a Gaussian channel of precision `A`.
Everything else follows from it by autodiff: GAMP's input denoiser `f_a = d_B ln Z` (posterior
mean) and `f_v = d_B^2 ln Z` (posterior variance) at `A = 1/Sigma, B = R/Sigma`; and, over the
"Nishimori" distribution `B = mh w0 + sqrt(mh) z` (`w0 ~ P_w`, `z ~ N(0, 1)`), the free entropy
`Phi_Pw(mh) = E ln Z(mh, B)` and the overlap `m(mh) = E f_a^2 = 2 d Phi_Pw / d mh`.

Barbier, Krzakala, Macris, Miolane, Zdeborová, "Optimal errors and phase transitions in
high-dimensional generalized linear models", PNAS 116 (2019).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..checks import require, shown
from ..gaussian import hermite_rule, piecewise_gaussian_rule

__all__ = ["Prior", "Gaussian", "Rademacher", "GaussBernoulli", "GridPrior", "get_prior"]

#: Gauss–Hermite nodes of the expectations over `z` (float64 sums are exact to ~1e-12 for the
#: smooth integrands of the priors here).
ORDER = 128


def _logcosh(x):
    x = jnp.abs(x)
    return x + jnp.log1p(jnp.exp(-2 * x)) - math.log(2.0)


def _rule(dtype):
    nodes, weights = hermite_rule(ORDER)
    return jnp.asarray(nodes, dtype), jnp.asarray(weights, dtype)


class Prior(eqx.Module):
    """A prior `P_w` of the teacher's weights (abstract): its log-partition, its second moment
    `rho = E w^2`, samples, and the expectation over `B = mh w0 + sqrt(mh) z`."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The prior's name (a class constant)."""

    @property
    @abc.abstractmethod
    def rho(self):
        """`E w^2`."""

    @property
    @abc.abstractmethod
    def information_dimension(self) -> float:
        """Rényi information dimension: 1 for a density, the weight of the continuous part of a
        mixture, 0 for a discrete prior (it sets alpha_IT of noiseless real-valued channels)."""

    @abc.abstractmethod
    def log_partition(self, A, B):
        """`ln E_w exp(B w - A w^2 / 2)`, elementwise."""

    @abc.abstractmethod
    def expect(self, fn: Callable, mh):
        """`E fn(B)` over `B = mh w0 + sqrt(mh) z`, `w0 ~ P_w`, `z ~ N(0, 1)`."""

    @abc.abstractmethod
    def sample(self, key, shape, dtype=jnp.float32):
        """Draws of `w`."""

    def entropy(self):
        """Shannon entropy of a discrete prior (the free entropy of perfect recovery is
        `-entropy`); infinite for a continuous one."""
        return jnp.inf

    def denoiser(self, Sigma, R):
        """GAMP's input functions `(f_a, f_v)`: posterior mean and variance of `w` observed as
        `R = w + sqrt(Sigma) xi`."""
        A = 1 / Sigma
        first = jax.grad(lambda b, a: self.log_partition(a, b))
        second = jax.grad(first)
        fa = jnp.vectorize(first)(R * A, A)
        fv = jnp.vectorize(second)(R * A, A)
        return fa, fv

    def free_entropy(self, mh):
        """`Phi_Pw(mh) = E ln Z(mh, B)`."""
        return self.expect(lambda B: self.log_partition(mh, B), mh)

    def overlap(self, mh):
        """`m(mh) = E f_a(B)^2`: the state evolution's update of the overlap."""
        mean = jnp.vectorize(jax.grad(lambda b: self.log_partition(mh, b)))
        return self.expect(lambda B: mean(B) ** 2, mh)

    def _gaussian_expect(self, fn, variance, breaks=None):
        """`E fn(B)`, `B ~ N(0, variance)`: Gauss–Hermite, or Gauss–Legendre on the pieces
        between `breaks` (values of `B` where `fn` turns sharply)."""
        if breaks is None:
            nodes, weights = _rule(jnp.result_type(variance, float))
        else:
            scale = jnp.sqrt(variance)
            nodes, weights = piecewise_gaussian_rule(list(breaks / scale), 48, half_width=12.0)
        B = jnp.sqrt(variance) * nodes
        return jnp.sum(weights * jax.vmap(fn)(B))


class Gaussian(Prior):
    """`w ~ N(0, rho)`. Closed forms: `m = rho^2 mh / (1 + rho mh)`,
    `Phi = rho mh / 2 - ln(1 + rho mh) / 2`."""

    name: ClassVar[str] = "gaussian"
    variance: float | jax.Array = 1.0
    information_dimension: ClassVar[float] = 1.0

    def __check_init__(self):
        require(self.variance, jnp.asarray(self.variance) > 0,
                f"prior variance must be positive, got {shown(self.variance)}")  # fmt: skip

    @property
    def rho(self):
        return self.variance

    def log_partition(self, A, B):
        r = self.variance
        return r * B**2 / (2 * (1 + r * A)) - jnp.log1p(r * A) / 2

    def expect(self, fn, mh):
        return self._gaussian_expect(fn, mh**2 * self.variance + mh)

    def free_entropy(self, mh):
        r = self.variance
        return r * mh / 2 - jnp.log1p(r * mh) / 2

    def overlap(self, mh):
        r = self.variance
        return r**2 * mh / (1 + r * mh)

    def sample(self, key, shape, dtype=jnp.float32):
        return jnp.sqrt(jnp.asarray(self.variance, dtype)) * jax.random.normal(key, shape, dtype)


class Rademacher(Prior):
    """`w = ±1` with equal probability (the binary perceptron). `m = E tanh(mh + sqrt(mh) z)`."""

    name: ClassVar[str] = "rademacher"
    information_dimension: ClassVar[float] = 0.0

    @property
    def rho(self):
        return 1.0

    def log_partition(self, A, B):
        return _logcosh(B) - A / 2

    def expect(self, fn, mh):
        # w0 = +1 and -1 with equal weight
        nodes, weights = _rule(jnp.result_type(mh, float))
        B = mh + jnp.sqrt(mh) * nodes
        return jnp.sum(weights * (jax.vmap(fn)(B) + jax.vmap(fn)(-B))) / 2

    def entropy(self):
        return math.log(2.0)

    def sample(self, key, shape, dtype=jnp.float32):
        return jax.random.rademacher(key, shape, dtype)


class GaussBernoulli(Prior):
    """Sparse weights: `w = 0` with probability `1 - density`, else `N(0, variance)`
    (compressed sensing)."""

    name: ClassVar[str] = "gauss-bernoulli"
    density: float | jax.Array = 0.5
    variance: float | jax.Array = 1.0

    def __check_init__(self):
        d = jnp.asarray(self.density)
        require(self.density, (d > 0) & (d <= 1),
                f"prior density must be in (0, 1], got {shown(self.density)}")  # fmt: skip
        require(self.variance, jnp.asarray(self.variance) > 0,
                f"prior variance must be positive, got {shown(self.variance)}")  # fmt: skip

    @property
    def rho(self):
        return self.density * self.variance

    @property
    def information_dimension(self):
        return self.density

    def log_partition(self, A, B):
        r = self.variance
        slab = jnp.log(self.density) + r * B**2 / (2 * (1 + r * A)) - jnp.log1p(r * A) / 2
        return jnp.logaddexp(jnp.log1p(-self.density), slab)

    def _switch(self, A):
        """`|B|` where the posterior's odds of the slab are even, and the width of the switch:
        the integrands turn there (Gauss–Legendre pieces around it keep 1e-9 accuracy)."""
        r = self.variance
        odds = jnp.log(self.density) - jnp.log1p(-self.density)
        square = 2 * (1 + r * A) / r * jnp.maximum(jnp.log1p(r * A) / 2 - odds, 0.0)
        centre = jnp.sqrt(square + 1e-30)
        width = (1 + r * A) / r / jnp.maximum(centre, 1e-3)
        return centre, width

    def expect(self, fn, mh):
        centre, width = self._switch(mh)
        cuts = [centre + k * width for k in (-4.0, -1.0, 0.0, 1.0, 4.0)]
        breaks = jnp.stack([s * c for s in (-1.0, 1.0) for c in cuts])
        zero = self._gaussian_expect(fn, mh, breaks)
        slab = self._gaussian_expect(fn, mh**2 * self.variance + mh, breaks)
        return (1 - self.density) * zero + self.density * slab

    def sample(self, key, shape, dtype=jnp.float32):
        support, value = jax.random.split(key)
        on = jax.random.bernoulli(support, jnp.asarray(self.density, dtype), shape)
        draws = jnp.sqrt(jnp.asarray(self.variance, dtype)) * jax.random.normal(value, shape, dtype)
        return jnp.where(on, draws, 0.0).astype(dtype)


class GridPrior(Prior):
    """Any prior given by weights on points (a discrete prior, or a density discretised by
    `GridPrior.from_log_density`); its log-partition is a log-sum-exp over the points. The
    points are static (a grid of state evolutions batches the priors' scalar parameters)."""

    name: ClassVar[str] = "grid"
    points: tuple[float, ...] = eqx.field(static=True)
    log_weights: tuple[float, ...] = eqx.field(static=True)
    continuous: bool = eqx.field(static=True, default=False)

    def __init__(self, values, weights=None, *, log_weights=None, continuous=False):
        values = np.asarray(values, float)
        if log_weights is None:
            weights = np.ones(values.shape) if weights is None else np.asarray(weights, float)
            if values.ndim != 1 or weights.shape != values.shape or not np.all(weights >= 0):
                raise ValueError(
                    "a grid prior needs 1-d values and as many non-negative weights, got "
                    f"shapes {values.shape} and {weights.shape}"
                )
            with np.errstate(divide="ignore"):
                log_weights = np.log(weights / weights.sum())
        self.points = tuple(values.tolist())
        self.log_weights = tuple(np.asarray(log_weights, float).tolist())
        self.continuous = continuous

    @classmethod
    def from_log_density(cls, log_density: Callable, low: float, high: float, points: int = 401):
        """A density `exp(log_density(w))` on `[low, high]` (unnormalised), discretised on
        `points` equally spaced values (a smooth density converges exponentially in the
        spacing; each expectation costs `points^2` log-partition terms per Hermite node)."""
        values = np.linspace(low, high, points)
        logp = np.asarray(log_density(values), float)
        if np.any(np.isnan(logp)) or np.any(logp == np.inf):
            raise ValueError("log_density must be finite or -inf on the grid")
        logp = logp - logp.max()
        return cls(values, log_weights=logp - np.log(np.exp(logp).sum()), continuous=True)

    def _arrays(self, dtype=float):
        return jnp.asarray(self.points, dtype), jnp.asarray(self.log_weights, dtype)

    @property
    def information_dimension(self):
        return 1.0 if self.continuous else 0.0

    @property
    def rho(self):
        v, logp = self._arrays()
        return jnp.sum(jnp.exp(logp) * v**2)

    def log_partition(self, A, B):
        v, logp = self._arrays(jnp.result_type(A, B, float))
        return jax.nn.logsumexp(logp + B * v - A * v**2 / 2)

    def expect(self, fn, mh):
        v, logp = self._arrays(jnp.result_type(mh, float))
        nodes, weights = _rule(v.dtype)
        B = mh * v[:, None] + jnp.sqrt(mh) * nodes
        inner = jax.vmap(jax.vmap(fn))(B) @ weights
        return jnp.sum(jnp.exp(logp) * inner)

    def entropy(self):
        if self.continuous:
            return jnp.inf
        logp = np.asarray(self.log_weights)
        p = np.exp(logp)
        return float(-np.sum(np.where(p > 0, p * np.where(p > 0, logp, 0.0), 0.0)))

    def sample(self, key, shape, dtype=jnp.float32):
        v, logp = self._arrays(dtype)
        return v[jax.random.categorical(key, logp, shape=shape)]


PRIORS = {"gaussian": Gaussian, "rademacher": Rademacher, "gauss-bernoulli": GaussBernoulli}


def get_prior(name: str | Prior, **parameters) -> Prior:
    """A prior by name (`gaussian`, `rademacher`, `gauss-bernoulli`) with its parameters."""
    if isinstance(name, Prior):
        return name
    if name not in PRIORS:
        raise ValueError(f"unknown prior {name!r}; choose from {', '.join(PRIORS)}")
    return PRIORS[name](**parameters)
