"""Output channels `P_out(y | z)` of a generalised linear teacher `y ~ P_out(. | x . w* / sqrt d)`
(THEORY.md Sec. 8).

A channel is defined by its log-partition `ln Z_out(y, omega, V) = ln E_{z ~ N(omega, V)}
P_out(y | z)`; GAMP's output functions are its derivatives in `omega` (`g_out`, `d g_out`, by
autodiff), and the state evolution needs two expectations over `v ~ N(0, 1)` and the label `y` of
the teacher field `z = sqrt(m) v + sqrt(rho - m) xi`, with `omega = sqrt(m) v`, `V = rho - m`:
`E g_out^2` (so `mh = alpha E g_out^2`) and the free entropy `Phi_Pout(m) = E ln Z_out`.

Sign (and probit), linear and abs have closed forms for `ln Z_out`; the sign channel's
expectations are written in the variable `x = omega / sqrt(V + noise)` so that they stay exact
when `V -> 0` (large alpha). Logit and any user channel use Gauss–Hermite quadrature.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp

from ..checks import require, shown
from ..gaussian import hermite_rule, legendre_rule, piecewise_gaussian_rule

__all__ = [
    "OutputChannel",
    "Sign",
    "Linear",
    "Abs",
    "ReLU",
    "DiscreteChannel",
    "Logit",
    "NoisyOutput",
    "get_output_channel",
]

#: Gauss–Hermite nodes per dimension of the expectations over `(v, xi)`.
ORDER = 128
#: Gauss–Legendre nodes per piece where an integrand is split at its sharp turns.
PIECE_ORDER = 16
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _rule(dtype, order=ORDER):
    nodes, weights = hermite_rule(order)
    return jnp.asarray(nodes, dtype), jnp.asarray(weights, dtype)


def _check_noise(noise):
    require(noise, jnp.asarray(noise) >= 0,
            f"channel noise must be non-negative, got {shown(noise)}")  # fmt: skip


class OutputChannel(eqx.Module):
    """`P_out(y | z)` (abstract): the log-partition, label samples, the teacher's mean output
    `E[y | z]`, and the expectations of the state evolution."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The channel's name (a class constant)."""

    @property
    @abc.abstractmethod
    def even(self) -> bool:
        """Whether `P_out(y | z) = P_out(y | -z)`: then `m = 0` is a fixed point of the state
        evolution (no linear signal in the labels) and weak recovery has a threshold."""

    @property
    @abc.abstractmethod
    def deterministic(self) -> bool:
        """Whether `y` is a function of `z` (no noise)."""

    @property
    @abc.abstractmethod
    def discrete(self) -> bool:
        """Whether labels take finitely many values (then a perfect recovery has free entropy
        `-entropy(prior)`; for a real-valued noiseless channel it diverges)."""

    @abc.abstractmethod
    def log_partition(self, y, omega, V):
        """`ln E_{z ~ N(omega, V)} P_out(y | z)` (a density in `y` for real labels)."""

    @abc.abstractmethod
    def sample(self, key, z):
        """Labels of teacher fields `z`."""

    @abc.abstractmethod
    def mean_output(self, z):
        """`E[y | z]`, the teacher's output function (for the test error)."""

    @abc.abstractmethod
    def expect(self, fn: Callable, m, rho):
        """`E fn(y, omega, V)` over `v ~ N(0, 1)` and the label `y` of `z = sqrt(m) v +
        sqrt(rho - m) xi`, with `omega = sqrt(m) v`, `V = rho - m`."""

    def output(self, y, omega, V):
        """GAMP's `(g_out, d_omega g_out)`: the first two derivatives of `ln Z_out` in
        `omega`, elementwise."""
        first = jax.grad(lambda w, y, V: self.log_partition(y, w, V))
        second = jax.grad(first)
        return jnp.vectorize(first)(omega, y, V), jnp.vectorize(second)(omega, y, V)

    def g_squared(self, m, rho):
        """`E g_out^2`: the state evolution's `mh = alpha E g_out^2`."""
        g = jax.grad(lambda w, y, V: self.log_partition(y, w, V))
        return self.expect(lambda y, w, V: g(w, y, V) ** 2, m, rho)

    def free_entropy(self, m, rho):
        """`Phi_Pout(m; rho) = E ln Z_out(y, omega, V)`."""
        return self.expect(self.log_partition, m, rho)

    def output_error(self, m, rho):
        """Test error of the posterior-mean output, `E phi(z)^2 - E_v (E_xi phi(sqrt(m) v +
        sqrt(rho - m) xi))^2` with `phi = E[y | z]` (THEORY.md Sec. 8)."""
        nodes, weights = _rule(jnp.result_type(m, float))
        z = jnp.sqrt(rho) * nodes
        total = jnp.sum(weights * self.mean_output(z) ** 2)
        fields = jnp.sqrt(m) * nodes[:, None] + jnp.sqrt(jnp.maximum(rho - m, 0)) * nodes
        inner = self.mean_output(fields) @ weights
        return total - jnp.sum(weights * inner**2)

    def _continuous_expect(self, fn, m, rho, label):
        """`E fn(label(z), omega, V)` by a product rule over `(v, xi)`."""
        nodes, weights = _rule(jnp.result_type(m, float))
        V = jnp.maximum(rho - m, 0.0)
        omega = jnp.sqrt(m) * nodes[:, None]
        y = label(omega + jnp.sqrt(V) * nodes[None, :])
        values = jax.vmap(jax.vmap(fn, (0, 0, None)), (0, 0, None))(
            y, jnp.broadcast_to(omega, y.shape), V
        )
        return weights @ values @ weights


class _GaussianNoise(OutputChannel):
    """A channel with Gaussian noise of variance `noise >= 0` (deterministic without)."""

    noise: eqx.AbstractVar[float | jax.Array]

    def __check_init__(self):
        _check_noise(self.noise)

    @property
    def deterministic(self):
        return self.noise == 0


class Sign(_GaussianNoise):
    """`y = sign(z + sqrt(noise) xi)`: the perceptron; with `noise > 0` the probit channel.
    Bayes-optimal classification error `arccos(sqrt(m / rho)) / pi`."""

    name: ClassVar[str] = "sign"
    noise: float | jax.Array = 0.0
    even: ClassVar[bool] = False
    discrete: ClassVar[bool] = True

    def log_partition(self, y, omega, V):
        return jsp.log_ndtr(y * omega / jnp.sqrt(V + self.noise))

    def sample(self, key, z):
        xi = jax.random.normal(key, z.shape, z.dtype)
        return jnp.where(z + jnp.sqrt(self.noise) * xi >= 0, 1.0, -1.0).astype(z.dtype)

    def mean_output(self, z):
        if isinstance(self.noise, (int, float)) and self.noise == 0:
            return jnp.sign(z)
        return 2 * jsp.ndtr(z / jnp.sqrt(jnp.maximum(self.noise, 1e-300))) - 1

    def expect(self, fn, m, rho):
        V = rho - m
        nodes, weights = _rule(jnp.result_type(m, float))
        omega = jnp.sqrt(m) * nodes
        plus = jnp.exp(self.log_partition(1.0, omega, V))
        f_plus = jax.vmap(fn, (None, 0, None))(1.0, omega, V)
        f_minus = jax.vmap(fn, (None, 0, None))(-1.0, omega, V)
        return jnp.sum(weights * (plus * f_plus + (1 - plus) * f_minus))

    def _x_rule(self, m, rho):
        """Nodes and weights for `E h(x)`, `x = omega / sqrt(V + noise) ~ N(0, s^2)`, in the
        form `N(0; 0, 1 + s^2) E_{x ~ N(0, tau^2)}`: the Gaussian `N(x)` of the integrands is
        folded into the weight, so the rule stays exact as `s -> infinity`."""
        spread = rho - m + self.noise
        s2 = m / spread
        tau = jnp.sqrt(s2 / (1 + s2))
        nodes, weights = _rule(jnp.result_type(m, float), 2 * ORDER)
        return spread, s2, tau * nodes, weights

    def g_squared(self, m, rho):
        # E g^2 = 2 / spread E_x N(x)^2 / Phi(x) = 2 / spread N(0; 0, 1 + s^2) E_tau N(x)/Phi(x)
        spread, s2, x, weights = self._x_rule(m, rho)
        mills = jnp.exp(-(x**2) / 2 - _LOG_SQRT_2PI - jsp.log_ndtr(x))
        return 2 / spread * jnp.sum(weights * mills) / jnp.sqrt(2 * jnp.pi * (1 + s2))

    def free_entropy(self, m, rho):
        # 2 E_x Phi(x) ln Phi(x), x ~ N(0, s^2): Gauss–Legendre on the range where it is not 0
        spread = rho - m + self.noise
        s = jnp.sqrt(m / spread)
        half = jnp.minimum(12 * s, 40.0)
        nodes, weights = (jnp.asarray(a, jnp.result_type(m, float)) for a in legendre_rule(400))
        x = half * nodes
        density = jnp.exp(-(x**2) / (2 * s**2)) / (s * math.sqrt(2 * math.pi))
        log_phi = jsp.log_ndtr(x)
        value = 2 * half * jnp.sum(weights * density * jnp.exp(log_phi) * log_phi)
        return jnp.where(m > 0, value, -math.log(2.0))

    def output_error(self, m, rho):
        """Closed form: `(2/pi) [arcsin(rho/(rho+noise)) - arcsin(m/(rho+noise))]`, i.e.
        `(2/pi) arccos(m/rho)` without noise (twice the Gibbs error)."""
        total = rho + self.noise
        return 2 / jnp.pi * (jnp.arcsin(rho / total) - jnp.arcsin(jnp.clip(m / total, -1, 1)))

    def classification_error(self, m, rho):
        """Bayes-optimal classification error against the teacher's noiseless sign,
        `arccos(sqrt(m / rho)) / pi`."""
        return jnp.arccos(jnp.clip(jnp.sqrt(m / rho), 0.0, 1.0)) / jnp.pi

    def gibbs_error(self, m, rho):
        """Error of one posterior sample (Gibbs), `arccos(m / rho) / pi`."""
        return jnp.arccos(jnp.clip(m / rho, -1.0, 1.0)) / jnp.pi


class Linear(_GaussianNoise):
    """`y = z + sqrt(noise) xi` (linear regression; compressed sensing with a sparse prior).
    Closed forms: `E g^2 = 1 / (rho - m + noise)`, `Phi = -ln(2 pi e (rho - m + noise)) / 2`."""

    name: ClassVar[str] = "linear"
    noise: float | jax.Array = 0.0
    even: ClassVar[bool] = False
    discrete: ClassVar[bool] = False

    def log_partition(self, y, omega, V):
        spread = V + self.noise
        return -((y - omega) ** 2) / (2 * spread) - jnp.log(spread) / 2 - _LOG_SQRT_2PI

    def sample(self, key, z):
        return z + jnp.sqrt(self.noise) * jax.random.normal(key, z.shape, z.dtype)

    def mean_output(self, z):
        return z

    def expect(self, fn, m, rho):
        nodes, weights = _rule(jnp.result_type(m, float))
        V = rho - m
        omega = jnp.sqrt(m) * nodes[:, None]
        y = omega + jnp.sqrt(V + self.noise) * nodes[None, :]
        values = jax.vmap(jax.vmap(fn, (0, 0, None)), (0, 0, None))(
            y, jnp.broadcast_to(omega, y.shape), V
        )
        return weights @ values @ weights

    def g_squared(self, m, rho):
        return 1 / (rho - m + self.noise)

    def free_entropy(self, m, rho):
        return -jnp.log(2 * jnp.pi * math.e * (rho - m + self.noise)) / 2


class Abs(OutputChannel):
    """`y = |z|`: real phase retrieval. `ln Z_out = -ln(2 pi V)/2 - (y^2 + omega^2)/(2V) +
    ln(2 cosh(y omega / V))` for `y > 0`."""

    name: ClassVar[str] = "abs"
    even: ClassVar[bool] = True
    discrete: ClassVar[bool] = False
    deterministic: ClassVar[bool] = True

    def log_partition(self, y, omega, V):
        x = y * omega / V
        return (-(y**2 + omega**2) / (2 * V) - jnp.log(V) / 2 - _LOG_SQRT_2PI
                + jnp.abs(x) + jnp.log1p(jnp.exp(-2 * jnp.abs(x))))  # fmt: skip

    def sample(self, key, z):
        del key
        return jnp.abs(z)

    def mean_output(self, z):
        return jnp.abs(z)

    def output_error(self, m, rho):
        """`rho - E_v (E|sqrt(m) v + s xi|)^2`, the inner mean in closed form
        (`E|N(mu, s^2)| = s sqrt(2/pi) exp(-mu^2 / 2s^2) + mu (1 - 2 Phi(-mu/s))`)."""
        nodes, weights = _rule(jnp.result_type(m, float))
        mu = jnp.sqrt(m) * nodes
        s = jnp.sqrt(jnp.maximum(rho - m, 1e-300))
        inner = s * jnp.sqrt(2 / jnp.pi) * jnp.exp(-(mu**2) / (2 * s**2)) + mu * (
            1 - 2 * jsp.ndtr(-mu / s)
        )
        return rho - jnp.sum(weights * inner**2)

    def expect(self, fn, m, rho):
        # The integrands turn sharply (the tanh of g_out): in xi around z = 0 over a width
        # V / |omega|, and in v around omega = 0 over sqrt(V / m); Hermite rules resolve
        # neither near perfect recovery, so both integrals use Gauss–Legendre pieces there
        # (as for the Gauss–Bernoulli prior).
        V = jnp.maximum(rho - m, 1e-300)
        spread = jnp.sqrt(V)
        scale = jnp.minimum(jnp.sqrt(V / jnp.maximum(m, 1e-300)), 1.0)
        cuts = jnp.stack([k * scale for k in (-6.0, -2.0, 0.0, 2.0, 6.0)])
        nodes, weights = piecewise_gaussian_rule(list(cuts), PIECE_ORDER)

        def given(v):
            omega = jnp.sqrt(m) * v
            centre = -omega / spread
            width = jnp.minimum(spread / jnp.maximum(jnp.abs(omega), 1e-12), 1.0)
            breaks = jnp.stack([centre + k * width for k in (-6.0, -2.0, 0.0, 2.0, 6.0)])
            xi, w = piecewise_gaussian_rule(list(breaks), PIECE_ORDER)
            y = jnp.abs(omega + spread * xi)
            return jnp.sum(w * jax.vmap(fn, (0, None, None))(y, omega, V))

        return jnp.sum(weights * jax.vmap(given)(nodes))


class ReLU(OutputChannel):
    """`y = max(z, 0)`: a point mass at 0 with weight `Phi(-omega/sqrt V)`, a Gaussian density
    above it."""

    name: ClassVar[str] = "relu"
    even: ClassVar[bool] = False
    discrete: ClassVar[bool] = False
    deterministic: ClassVar[bool] = True

    def log_partition(self, y, omega, V):
        positive = y > 0
        density = -((y - omega) ** 2) / (2 * V) - jnp.log(V) / 2 - _LOG_SQRT_2PI
        return jnp.where(positive, density, jsp.log_ndtr(-omega / jnp.sqrt(V)))

    def sample(self, key, z):
        del key
        return jnp.maximum(z, 0.0)

    def mean_output(self, z):
        return jnp.maximum(z, 0.0)

    def expect(self, fn, m, rho):
        return self._continuous_expect(fn, m, rho, lambda z: jnp.maximum(z, 0.0))


class DiscreteChannel(OutputChannel):
    """Any channel with finitely many labels, given `log_likelihood(y, z) = ln P_out(y | z)`:
    `Z_out` by Gauss–Hermite quadrature over `z ~ N(omega, V)`."""

    name: ClassVar[str] = "discrete"
    log_likelihood: Callable = eqx.field(static=True)
    labels: tuple[float, ...] = eqx.field(static=True)
    even: bool = eqx.field(static=True, default=False)
    discrete: ClassVar[bool] = True
    deterministic: ClassVar[bool] = False

    def log_partition(self, y, omega, V):
        nodes, weights = _rule(jnp.result_type(omega, float))
        z = omega + jnp.sqrt(V) * nodes
        return jax.nn.logsumexp(self.log_likelihood(y, z) + jnp.log(weights))

    def sample(self, key, z):
        labels = jnp.asarray(self.labels, z.dtype)
        logits = jnp.stack([self.log_likelihood(y, z) for y in self.labels], axis=-1)
        return labels[jax.random.categorical(key, logits)]

    def mean_output(self, z):
        return sum(y * jnp.exp(self.log_likelihood(y, z)) for y in self.labels)

    def expect(self, fn, m, rho):
        nodes, weights = _rule(jnp.result_type(m, float))
        V = rho - m
        omega = jnp.sqrt(m) * nodes
        total = 0.0
        for y in self.labels:
            probability = jnp.exp(jax.vmap(self.log_partition, (None, 0, None))(y, omega, V))
            total = total + probability * jax.vmap(fn, (None, 0, None))(y, omega, V)
        return jnp.sum(weights * total)


def Logit(beta: float = 1.0) -> DiscreteChannel:
    """`P(y = ±1 | z) = sigmoid(beta y z)`: the logistic teacher."""
    if not beta > 0:
        raise ValueError(f"logit beta must be positive, got {beta!r}")
    return DiscreteChannel(lambda y, z: jax.nn.log_sigmoid(beta * y * z), (-1.0, 1.0))


class NoisyOutput(OutputChannel):
    """`y = f(z) + sqrt(noise) xi` for any output function `f` and `noise > 0`: `Z_out` by
    quadrature over `z`, expectations by a product rule over `(v, xi, eta)`."""

    name: ClassVar[str] = "noisy-output"
    function: Callable = eqx.field(static=True)
    noise: float | jax.Array = 0.1
    is_even: bool = eqx.field(static=True, default=False)
    discrete: ClassVar[bool] = False
    deterministic: ClassVar[bool] = False

    def __check_init__(self):
        require(self.noise, jnp.asarray(self.noise) > 0,
                f"a noisy output channel needs noise > 0, got {shown(self.noise)}")  # fmt: skip

    @property
    def even(self):
        return self.is_even

    def log_partition(self, y, omega, V):
        nodes, weights = _rule(jnp.result_type(omega, float))
        mean = self.function(omega + jnp.sqrt(V) * nodes)
        logp = -((y - mean) ** 2) / (2 * self.noise) - jnp.log(self.noise) / 2 - _LOG_SQRT_2PI
        return jax.nn.logsumexp(logp + jnp.log(weights))

    def sample(self, key, z):
        return self.function(z) + jnp.sqrt(self.noise) * jax.random.normal(key, z.shape, z.dtype)

    def mean_output(self, z):
        return self.function(z)

    def expect(self, fn, m, rho):
        nodes, weights = _rule(jnp.result_type(m, float), 24)
        V = rho - m
        v, xi, eta = jnp.meshgrid(nodes, nodes, nodes, indexing="ij")
        w = weights[:, None, None] * weights[None, :, None] * weights[None, None, :]
        omega = jnp.sqrt(m) * v
        y = self.function(omega + jnp.sqrt(V) * xi) + jnp.sqrt(self.noise) * eta
        values = jax.vmap(fn, (0, 0, None))(y.ravel(), omega.ravel(), V)
        return jnp.sum(w.ravel() * values)


CHANNELS = {"sign": Sign, "probit": Sign, "linear": Linear, "abs": Abs, "relu": ReLU}


def get_output_channel(name: str | OutputChannel, noise: float = 0.0) -> OutputChannel:
    """A channel by name: `sign` (`probit` with noise), `linear`, `abs`, `relu`, `logit`."""
    if isinstance(name, OutputChannel):
        return name
    if name == "logit":
        return Logit()
    if name not in CHANNELS:
        raise ValueError(f"unknown channel {name!r}; choose from {', '.join([*CHANNELS, 'logit'])}")
    if name in ("abs", "relu"):
        if noise:
            raise ValueError(f"channel {name!r} is noiseless here; got noise {noise!r}")
        return CHANNELS[name]()
    return CHANNELS[name](noise=noise)
