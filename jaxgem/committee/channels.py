"""Output channels `P_out(Y | z)` of a committee teacher `Y = phi_out(X W* / sqrt d)`, `z in R^K`
(THEORY.md Sec. 9): the K-dimensional versions of the Bayes-optimal GLM's channels.

A channel is defined by its log-partition `ln Z_out(Y; omega, V) = ln E_{z ~ N(omega, V)}
P_out(Y | z)`; AMP's output functions are its gradient (`g_out`, a K-vector) and Hessian in
`omega`, by autodiff. The state evolution needs, over `xi ~ N(0, I_K)` and the label `Y` of the
teacher field `z = q^{1/2} xi + (rho - q)^{1/2} eta`, with `omega = q^{1/2} xi`, `V = rho - q`:
`E g_out g_out^T` (so `r = alpha E g g^T`) and the free entropy `Psi_out(q) = E ln Z_out`.

The sign committee's `Z_out` is a sum of orthant probabilities of a K-variate Gaussian, computed by
Sheppard's formula for K = 2 (`gaussian.bivariate_orthant`, 1e-9) and sequential conditioning
for K >= 3 (`gaussian.orthant_moment`), so no quadrature node meets a step function.
"""

from __future__ import annotations

import abc
import itertools
import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np

from ..activations import Activation, get_activation
from ..checks import require, shown
from ..gaussian import (
    bivariate_orthant,
    hermite_rule,
    legendre_rule,
    orthant_moment,
    psd_cholesky,
    psd_root,
)
from .priors import product_rule

__all__ = ["CommitteeChannel", "SignCommittee", "SoftCommittee", "get_committee_channel"]

#: `Z_out` below this is zero (its logarithm is taken of the clipped value).
TINY = 1e-300
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


#: Breaks of the piecewise rule over `xi` for K = 2, in units of a feature's width (around it)
#: and of `xi` itself (fixed, for the Gaussian tails); Gauss–Legendre nodes per piece.
_MOVING = (-6.0, -2.0, -0.5, 0.0, 0.5, 2.0, 6.0)
_FIXED = (-4.5, -3.0, -1.5, 1.5, 3.0, 4.5)
PIECE_ORDER = 6


def _exact_mass_rule(breaks, half_width=8.0):
    """Gauss–Legendre pieces between `breaks` for `E f(xi)`, `xi ~ N(0, 1)`, each piece's
    weights rescaled to its exact Gaussian mass (so a rule's weights sum to 1 whatever its
    breaks: two nearby overlaps get the same constants)."""
    edges = jnp.sort(jnp.clip(breaks, -half_width, half_width))
    x, w = (jnp.asarray(a, edges.dtype) for a in legendre_rule(PIECE_ORDER))
    lower = jnp.concatenate([jnp.full((1,), -half_width, edges.dtype), edges])
    upper = jnp.concatenate([edges, jnp.full((1,), half_width, edges.dtype)])
    half = (upper - lower)[:, None] / 2
    nodes = (lower + upper)[:, None] / 2 + half * x
    weights = half * w * jnp.exp(-(nodes**2) / 2)
    mass = jsp.ndtr(upper) - jsp.ndtr(lower)
    weights = weights * (mass / jnp.maximum(jnp.sum(weights, axis=1), 1e-300))[:, None]
    return nodes.ravel(), (weights / jnp.sum(weights)).ravel()


def field_rule(q, V, rank_one: bool = False):
    """Nodes `omega (P, K)` and weights for `E f(omega)`, `omega = q^{1/2} xi`, whose integrand
    turns sharply where a field's mean crosses 0 (`omega_k = 0`, over a width `sqrt(V_kk)`).

    K = 2: with `omega = L xi` (`L` the Cholesky factor of `q`), `omega_1 = 0` is `xi_1 = 0` and
    `omega_2 = 0` is a point of `xi_2` given `xi_1`: Gauss–Legendre pieces around both keep the
    expectations accurate as `V -> 0` (the specialised branch at large alpha), where a product
    Hermite rule misses the steps (1e-2 errors at `q_d = 0.9`). Other K: product Hermite.
    `rank_one` (static): `q = v v^T` (the non-specialised branch), `omega = v xi` with one
    piecewise rule in `xi` (about 80 nodes instead of thousands)."""
    K = q.shape[-1]
    L = psd_cholesky(q)
    tiny = 1e-150
    if rank_one:
        width = jnp.sqrt(jnp.maximum(V[0, 0], 0.0)) / jnp.maximum(L[0, 0], tiny)
        breaks = [width * b for b in _MOVING] + [jnp.asarray(b, q.dtype) for b in _FIXED]
        xi, weights = _exact_mass_rule(jnp.stack(breaks))
        return xi[:, None] * L[:, 0], weights
    if K != 2:
        nodes, weights = product_rule(K, q.dtype)
        return nodes @ psd_root(q)[0].T, weights

    def rule(centre, width):
        breaks = [centre + width * b for b in _MOVING] + [jnp.asarray(b, q.dtype) for b in _FIXED]
        return _exact_mass_rule(jnp.stack(breaks))

    def width(a):
        return jnp.minimum(jnp.sqrt(jnp.maximum(V[a, a], 0.0)) / jnp.maximum(L[a, a], tiny), 1e3)

    xi1, w1 = rule(jnp.zeros((), q.dtype), width(0))
    centre = jnp.where(L[1, 1] > tiny, -L[1, 0] * xi1 / jnp.maximum(L[1, 1], tiny), 0.0)
    xi2, w2 = jax.vmap(rule, (0, None))(centre, width(1))
    omega = jnp.stack([jnp.broadcast_to(L[0, 0] * xi1[:, None], xi2.shape),
                       L[1, 0] * xi1[:, None] + L[1, 1] * xi2], -1)  # fmt: skip
    return omega.reshape(-1, 2), (w1[:, None] * w2).reshape(-1)


class CommitteeChannel(eqx.Module):
    """`P_out(Y | z)`, `z in R^K` (abstract): the log-partition, label samples, the teacher's
    noiseless output `phi_out`, and the expectations of the state evolution."""

    K: eqx.AbstractVar[int]

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The channel's name (a class constant)."""

    @abc.abstractmethod
    def log_partition(self, Y, omega, V):
        """`ln E_{z ~ N(omega, V)} P_out(Y | z)` for one label, `omega (K,)`, `V (K, K)`."""

    @abc.abstractmethod
    def sample(self, key, z):
        """Labels `(n,)` of teacher fields `z (n, K)`."""

    @abc.abstractmethod
    def phi(self, z):
        """The teacher's noiseless output `phi_out(z)` for fields `z (..., K)`."""

    @abc.abstractmethod
    def mean_output(self, omega, V):
        """`E_{z ~ N(omega, V)} phi_out(z)`: the posterior-mean output."""

    @abc.abstractmethod
    def moments(self, q, rho, rank_one: bool = False):
        """`(E g_out g_out^T, E ln Z_out)` over `xi` and the labels at overlap `q` (`rank_one`,
        static: `q` is known to be of rank one, a cheaper rule may be used)."""

    def output(self, Y, omega, V):
        """AMP's `(g_out, d_omega g_out)`: gradient `(K,)` and Hessian `(K, K)` of
        `ln Z_out` in `omega`."""
        grad = jax.grad(self.log_partition, argnums=1)
        return grad(Y, omega, V), jax.jacfwd(grad, argnums=1)(Y, omega, V)

    def free_entropy(self, q, rho):
        """`Psi_out(q; rho) = E ln Z_out`."""
        return self.moments(q, rho)[1]

    def output_second_moment(self, rho):
        """`E phi_out(z)^2`, `z ~ N(0, rho)`."""
        nodes, weights = product_rule(self.K, rho.dtype)
        return weights @ self.phi(nodes @ psd_root(rho)[0].T) ** 2

    def generalisation_error(self, q, rho, rank_one: bool = False):
        """`1/2 E (phi_out(z*) - E_eta phi_out(z))^2` (THEORY.md Sec. 9: half the squared error
        of the posterior-mean output, the reference code's convention)."""
        omega, weights = field_rule(q, rho - q, rank_one)
        posterior = jax.vmap(self.mean_output, (0, None))(omega, rho - q)
        return (self.output_second_moment(rho) - weights @ posterior**2) / 2


class SignCommittee(CommitteeChannel):
    """`Y = sign(sum_k sign(z_k))`; for even K a tie gives `Y = 0` (`Y in {-1, 0, 1}`)."""

    name: ClassVar[str] = "sign"
    K: int = eqx.field(static=True, default=2)
    #: nodes of the orthant probabilities: Gauss–Legendre of Sheppard's formula (K = 2, 1e-7),
    #: tanh-sinh per conditioned dimension (K >= 3, 1e-7).
    order: int = eqx.field(static=True, default=16)

    @property
    def labels(self) -> tuple[float, ...]:
        return (-1.0, 0.0, 1.0) if self.K % 2 == 0 else (-1.0, 1.0)

    def _patterns(self, dtype):
        """All sign patterns `s (2^K, K)` and the label each gives, one-hot `(2^K, labels)`."""
        s = np.array(list(itertools.product((-1.0, 1.0), repeat=self.K)))
        votes = np.sign(s.sum(1))
        onehot = (votes[:, None] == np.array(self.labels)[None, :]).astype(float)
        return jnp.asarray(s, dtype), jnp.asarray(onehot, dtype)

    def probabilities(self, omega, V):
        """`Z_out(Y; omega, V)` for every label, `(labels,)`: sums of orthant probabilities."""
        if self.K == 3:
            return jnp.stack([self._majority(-omega, V), self._majority(omega, V)])
        s, onehot = self._patterns(jnp.result_type(omega, V, float))
        C = V[None] * s[:, :, None] * s[:, None, :]
        if self.K == 2:  # each label's own orthants: no cancellation where Z_out is tiny
            p = bivariate_orthant(s * omega, C, self.order)
        else:
            p = orthant_moment(C, (0,) * self.K, self.order, mean=s * omega)
        return p @ onehot

    def _majority(self, omega, V):
        """K = 3: `P(at least two fields > 0) = sum_{i<j} P(z_i, z_j > 0) - 2 P(all > 0)`
        (inclusion–exclusion: three bivariate orthants by Sheppard's formula and one trivariate,
        a quarter of the work of the eight sign patterns)."""
        pairs = np.array([(0, 1), (0, 2), (1, 2)])
        bivariate = bivariate_orthant(omega[pairs], V[pairs[:, :, None], pairs[:, None, :]],
                                      self.order)  # fmt: skip
        triple = orthant_moment(V, (0, 0, 0), self.order, mean=omega)
        return jnp.maximum(jnp.sum(bivariate) - 2 * triple, 0.0)

    def log_partitions(self, omega, V):
        return jnp.log(jnp.maximum(self.probabilities(omega, V), TINY))

    def log_partition(self, Y, omega, V):
        index = jnp.searchsorted(jnp.asarray(self.labels, omega.dtype), Y)
        return self.log_partitions(omega, V)[index]

    def sample(self, key, z):
        return jnp.sign(jnp.sum(jnp.sign(z), axis=-1))

    def phi(self, z):
        return jnp.sign(jnp.sum(jnp.sign(z), axis=-1))

    def mean_output(self, omega, V):
        return self.probabilities(omega, V) @ jnp.asarray(self.labels, omega.dtype)

    def output_second_moment(self, rho):
        labels = jnp.asarray(self.labels, rho.dtype)
        return self.probabilities(jnp.zeros(self.K, rho.dtype), rho) @ labels**2

    def moments(self, q, rho, rank_one=False):
        V = rho - q
        omega, weights = field_rule(q, V, rank_one)

        def one(w):
            logZ = self.log_partitions(w, V)
            J = jax.jacfwd(self.log_partitions)(w, V)
            Z = jnp.exp(logZ)
            return jnp.einsum("y,yk,yl->kl", Z, J, J), Z @ logZ

        gg, f = jax.vmap(one)(omega)
        return jnp.tensordot(weights, gg, axes=1), weights @ f


class SoftCommittee(CommitteeChannel):
    """`Y = sum_k g(z_k) / K + sqrt(noise) eps` with an activation `g` (linear, erf, relu, ...).
    Linear has closed forms (a Gaussian-prior GLM in the direction of the units' sum); others
    use product Gauss–Hermite rules (`inner` nodes per dimension for `Z_out`, `outer` for the
    expectations over `xi`, the teacher's fields and the noise), and need `noise > 0`."""

    name: ClassVar[str] = "soft"
    activation: Activation
    K: int = eqx.field(static=True, default=2)
    noise: float | jax.Array = 0.0
    inner: int = eqx.field(static=True, default=20)
    outer: int = eqx.field(static=True, default=10)

    def __init__(self, activation="linear", K=2, noise=0.0, inner=20, outer=10):
        self.activation = get_activation(activation)
        self.K, self.noise, self.inner, self.outer = K, noise, inner, outer

    def __check_init__(self):
        require(self.noise, jnp.asarray(self.noise) >= 0,
                f"channel noise must be non-negative, got {shown(self.noise)}")  # fmt: skip
        if not self.linear and isinstance(self.noise, (int, float)) and self.noise == 0:
            raise ValueError(
                f"a soft committee of {self.activation.name} units needs noise > 0 (got 0)"
            )

    @property
    def linear(self) -> bool:
        return self.activation.name == "linear"

    def phi(self, z):
        return jnp.mean(self.activation(z), axis=-1)

    def sample(self, key, z):
        eps = jax.random.normal(key, z.shape[:-1], z.dtype)
        return self.phi(z) + jnp.sqrt(jnp.asarray(self.noise, z.dtype)) * eps

    def mean_output(self, omega, V):
        return jnp.mean(self.activation.conditional_mean(omega, jnp.diagonal(V)))

    def output_second_moment(self, rho):
        index = np.arange(self.K)
        k, j = np.meshgrid(index, index, indexing="ij")
        k, j = k.ravel(), j.ravel()
        pairs = jnp.stack([jnp.stack([rho[k, k], rho[k, j]], -1),
                           jnp.stack([rho[j, k], rho[j, j]], -1)], -2)  # fmt: skip
        return jnp.sum(self.activation.i2(pairs)) / self.K**2

    def _linear_spread(self, V):
        return jnp.sum(V) / self.K**2 + self.noise

    def log_partition(self, Y, omega, V):
        if self.linear:
            spread = self._linear_spread(V)
            return -((Y - jnp.mean(omega)) ** 2) / (2 * spread) - jnp.log(spread) / 2 - (
                _LOG_SQRT_2PI)  # fmt: skip
        nodes, weights = product_rule(self.K, omega.dtype, self.inner)
        z = omega + nodes @ psd_root(V)[0].T
        log_density = -((Y - self.phi(z)) ** 2) / (2 * self.noise) - jnp.log(self.noise) / 2
        return jax.nn.logsumexp(log_density, b=weights) - _LOG_SQRT_2PI

    def moments(self, q, rho, rank_one=False):
        V = rho - q
        if self.linear:  # g = (Y - mean omega) / spread 1 / K: E g g^T = 11^T / (K^2 spread)
            spread = self._linear_spread(V)
            ones = jnp.ones((self.K, self.K), q.dtype)
            entropy = -0.5 - jnp.log(spread) / 2 - _LOG_SQRT_2PI
            return ones / (self.K**2 * spread), entropy
        dtype = q.dtype
        xi, w_xi = product_rule(self.K, dtype, self.outer)
        eta, w_eta = product_rule(self.K, dtype, self.outer)
        eps, w_eps = (jnp.asarray(a, dtype) for a in hermite_rule(self.outer))
        omega = xi @ psd_root(q)[0].T
        fields = eta @ psd_root(V)[0].T
        grad = jax.grad(self.log_partition, argnums=1)

        def one(w):
            Y = (self.phi(w + fields)[:, None] + jnp.sqrt(self.noise) * eps).ravel()
            weight = (w_eta[:, None] * w_eps).ravel()
            g = jax.vmap(grad, (0, None, None))(Y, w, V)
            logZ = jax.vmap(self.log_partition, (0, None, None))(Y, w, V)
            return jnp.einsum("p,pk,pl->kl", weight, g, g), weight @ logZ

        gg, f = jax.lax.map(one, omega)
        return jnp.tensordot(w_xi, gg, axes=1), w_xi @ f


def get_committee_channel(name: str, K: int, noise: float = 0.0) -> CommitteeChannel:
    """A committee channel by name: `sign`, or a soft committee `linear`, `erf`, `relu`."""
    if name == "sign":
        if noise:
            raise ValueError(f"the sign committee is noiseless here, got noise = {noise!r}")
        return SignCommittee(K)
    if name in ("linear", "erf", "relu"):
        return SoftCommittee(name, K, noise)
    raise ValueError(f"unknown committee channel {name!r}; choose from sign, linear, erf, relu")
