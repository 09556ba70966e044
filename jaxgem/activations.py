"""Activation functions of teachers, students and generators, with their Gaussian integrals.

Every activation `g` knows its value, its derivative, the Gaussian moments used to centre and
project generator outputs, the Gaussian-equivalence coefficients `kappa` (THEORY.md Sec. 2) and the
two-point integral `I2(C) = E[g(u1) h(u2)]`, `(u1, u2) ~ N(0, C)` (THEORY.md Sec. 1-2), the
ODE integrals `I3`, `I4`, `J2` and Stein's coefficients (`stein`, for the spectral ODEs).
`Activation` is abstract; every concrete activation is final and
declares the closed forms it has by type (`WithI2`, `WithConditionalMean`, ...): erf, linear and
ReLU (its `I4` by the orthant moment) have all of them, sign and quadratic `I2`, tanh and user
functions (`Custom`) none. Mixed pairs `g != h` and activations without a closed form use
Gauss–Hermite quadrature: over one field, with the other integrated exactly through its
closed-form conditional mean where it has one (so a jump or kink costs no accuracy), and a
product rule otherwise. `Quadrature(g)` chooses quadrature explicitly.

References: Saad & Solla (1995), Biehl & Schwarze (1995) for the erf integrals; Goldt et al.,
"The Gaussian equivalence of generative models for learning with shallow neural networks"
(MSML 2021) for the kappa coefficients.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
from jaxtyping import Array, Float

from .gaussian import expect_1d, expect_2d, expect_nd, hermite_rule, orthant_moment

__all__ = [
    "Activation",
    "Erf",
    "Linear",
    "ReLU",
    "Tanh",
    "Sign",
    "Quadratic",
    "Custom",
    "Quadrature",
    "WithGaussianMoments",
    "WithConditionalMean",
    "WithI2",
    "WithI3",
    "WithI4",
    "WithJ2",
    "get_activation",
    "ACTIVATIONS",
]


def _correlation(c12: Array, c11c22: Array) -> tuple[Array, Array]:
    """`(rho, sqrt(c11 c22))` with `rho = c12 / sqrt(c11 c22)` clipped to [-1, 1] (0 if a variance
    vanishes)."""
    scale = jnp.sqrt(jnp.maximum(c11c22, 0.0))
    positive = scale > 0
    rho = jnp.where(positive, c12 / jnp.where(positive, scale, 1.0), 0.0)
    return jnp.clip(rho, -1.0, 1.0), scale


def _atan2_arcsine(c12: Array, c11c22: Array) -> Array:
    """`asin(c12 / sqrt(c11c22))` as `atan2(rho, sqrt((1 - rho)(1 + rho)))`: exact at correlation
    ±1 (no cancellation in `c11 c22 - c12^2`) and finite at zero variance."""
    rho, _ = _correlation(c12, c11c22)
    return jnp.arctan2(rho, jnp.sqrt((1.0 - rho) * (1.0 + rho)))


class Activation(eqx.Module):
    """An elementwise function `g: R -> R` and its Gaussian integrals (abstract).

    A concrete activation implements `__call__` and `derivative`, and declares which integrals
    it knows in closed form by also deriving from `WithGaussianMoments`, `WithConditionalMean`,
    `WithI2`, `WithI3`, `WithI4`, `WithJ2` (and implementing their `closed_*` methods). The
    methods here are the same for all: a closed form where the activation declares one (for
    `I2`-`I4`, when every field uses this same activation), the generic quadrature otherwise.
    `Quadrature(g)` is `g` with its multi-dimensional closed forms switched off: the explicit way
    to integrate by quadrature (e.g. to check a closed form).
    """

    quadrature_order_1d: ClassVar[int] = 96
    quadrature_order_2d: ClassVar[int] = 24
    quadrature_order_3d: ClassVar[int] = 24
    quadrature_order_4d: ClassVar[int] = 16

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The activation's name in tables and configurations (a class constant)."""

    @abc.abstractmethod
    def __call__(self, x: Array) -> Array:
        """`g(x)`, elementwise."""

    @abc.abstractmethod
    def derivative(self, x: Array) -> Array:
        """`g'(x)`, elementwise."""

    def gaussian_moments(self, variance: Float[Array, "*batch"]) -> tuple[Array, Array]:
        """`(E g(u), E u g(u))` for `u ~ N(0, variance)`.

        The first centres generator outputs, the second gives the input-latent covariance Phi of
        a hidden manifold model (THEORY.md Sec. 4).
        """
        variance = jnp.asarray(variance)
        if isinstance(self, WithGaussianMoments):
            return self.closed_gaussian_moments(variance)
        order = self.quadrature_order_1d
        return expect_1d(self, variance, order), expect_1d(lambda u: u * self(u), variance, order)

    def conditional_mean(self, mean: Array, variance: Array) -> Array:
        """`E g(mean + sqrt(variance) z)`, `z ~ N(0, 1)`: the expectation of `g` given the
        other field of a pair."""
        if isinstance(self, WithConditionalMean):
            return self.closed_conditional_mean(mean, variance)
        nodes, weights = hermite_rule(self.quadrature_order_2d)
        spread = jnp.sqrt(jnp.maximum(variance, 0.0))[..., None] * nodes
        return jnp.sum(self(mean[..., None] + spread) * weights.astype(spread.dtype), axis=-1)

    def i2(self, C: Float[Array, "*batch 2 2"], other: Activation | None = None) -> Array:
        """`E[g(u1) h(u2)]` with `(u1, u2) ~ N(0, C)`; `h = other` (default: `g` itself).

        Generic rule: condition on one field and integrate the closed-form conditional mean of
        the other (exact through kinks and jumps of that one) with a 1-d Gauss-Hermite rule;
        a product rule when neither activation has a closed conditional mean.
        """
        C = jnp.asarray(C)
        if isinstance(self, WithI2) and self._same_kind(other):
            return self.closed_i2(C)
        other = self if other is None else other
        if isinstance(other, WithConditionalMean):
            return _conditioned_i2(self, other, C, self.quadrature_order_1d)
        if isinstance(self, WithConditionalMean):
            swapped = C[..., ::-1, ::-1]
            return _conditioned_i2(other, self, swapped, self.quadrature_order_1d)
        return expect_2d(self, other, C, self.quadrature_order_2d)

    def i3(self, C: Float[Array, "*batch 3 3"], third: Activation | None = None) -> Array:
        """`I3 = E[g'(u1) u2 h(u3)]`, `u ~ N(0, C)`, `h = third` (default `g`) (THEORY Sec. 2)."""
        C = jnp.asarray(C)
        if isinstance(self, WithI3) and self._same_kind(third):
            return self.closed_i3(C)
        third = self if third is None else third
        identity = lambda u: u  # noqa: E731
        return expect_nd([self.derivative, identity, third], C, self.quadrature_order_3d)

    def stein(self, C: Float[Array, "*batch 2 2"], other: Activation | None = None):
        """Stein's coefficients `(a, b) = (E[g''(u1) h(u2)], E[g'(u1) h'(u2)])`, `(u1, u2) ~
        N(0, C)`, `h = other` (default `g`): for every field `z` jointly Gaussian with them,
        `E[g'(u1) z h(u2)] = Cov(z, u1) a + Cov(z, u2) b` (the projections of the spectral ODEs,
        THEORY.md Sec. 5).

        In closed form where the activation declares it (smooth in `C`, also where `u1` and `u2`
        are collinear). Otherwise from `I3` at `z = u1` and `z = u2`, a 2 x 2 system solved by
        a pseudo-inverse: exact unless the fields are nearly collinear, where only the
        projection onto their span is defined.
        """
        C = jnp.asarray(C)
        if isinstance(self, WithI3) and self._same_kind(other):
            return self.closed_stein(C)
        at_first = self.i3(C[..., (0, 0, 1), :][..., :, (0, 0, 1)], other)
        at_second = self.i3(C[..., (0, 1, 1), :][..., :, (0, 1, 1)], other)
        return _solve_2x2(C, at_first, at_second)

    def i4(
        self,
        C: Float[Array, "*batch 4 4"],
        third: Activation | None = None,
        fourth: Activation | None = None,
    ) -> Array:
        """`I4 = E[g'(u1) g'(u2) h3(u3) h4(u4)]`, `u ~ N(0, C)` (defaults `h3 = h4 = g`)."""
        C = jnp.asarray(C)
        if isinstance(self, WithI4) and self._same_kind(third) and self._same_kind(fourth):
            return self.closed_i4(C)
        third = self if third is None else third
        fourth = self if fourth is None else fourth
        functions = [self.derivative, self.derivative, third, fourth]
        return expect_nd(functions, C, self.quadrature_order_4d)

    def j2(self, C: Float[Array, "*batch 2 2"]) -> Array:
        """`J2 = E[g'(u1) g'(u2)]`, `u ~ N(0, C)`."""
        C = jnp.asarray(C)
        if isinstance(self, WithJ2):
            return self.closed_j2(C)
        return expect_2d(self.derivative, self.derivative, C, self.quadrature_order_2d)

    def kappa(self) -> tuple[Array, Array, Array]:
        """Gaussian-equivalence coefficients `(kappa0, kappa1, kappa_star)` (THEORY.md Sec. 2).

        `kappa0 = E g(z)`, `kappa1 = E z g(z)`, `kappa_star^2 = E g(z)^2 - kappa0^2 - kappa1^2`,
        `z ~ N(0, 1)`.
        """
        k0, k1 = self.gaussian_moments(jnp.asarray(1.0))
        second = expect_1d(lambda u: self(u) ** 2, jnp.asarray(1.0), self.quadrature_order_1d)
        return k0, k1, jnp.sqrt(jnp.maximum(second - k0**2 - k1**2, 0.0))

    def _same_kind(self, other: Activation | None) -> bool:
        return other is None or type(other) is type(self)


class WithGaussianMoments(Activation):
    """Declares `(E g(u), E u g(u))`, `u ~ N(0, variance)`, in closed form."""

    @abc.abstractmethod
    def closed_gaussian_moments(self, variance: Array) -> tuple[Array, Array]: ...


class WithConditionalMean(Activation):
    """Declares `E g(m + s z)` in closed form (then `I2` with any partner is a 1-d rule)."""

    @abc.abstractmethod
    def closed_conditional_mean(self, mean: Array, variance: Array) -> Array: ...


class WithI2(Activation):
    """Declares `E[g(u1) g(u2)]` in closed form."""

    @abc.abstractmethod
    def closed_i2(self, C: Array) -> Array: ...


class WithI3(Activation):
    """Declares Stein's coefficients `(E[g''(u1) g(u2)], E[g'(u1) g'(u2)])` in closed form, and
    so `I3 = E[g'(u1) u2 g(u3)] = C12 a + C23 b` (Stein's lemma for the middle field)."""

    @abc.abstractmethod
    def closed_stein(self, C: Array) -> tuple[Array, Array]: ...

    def closed_i3(self, C: Array) -> Array:
        a, b = self.closed_stein(C[..., ::2, ::2])
        return C[..., 0, 1] * a + C[..., 1, 2] * b


class WithI4(Activation):
    """Declares `E[g'(u1) g'(u2) g(u3) g(u4)]` in closed form (or by a dedicated rule)."""

    @abc.abstractmethod
    def closed_i4(self, C: Array) -> Array: ...


class WithJ2(Activation):
    """Declares `E[g'(u1) g'(u2)]` in closed form."""

    @abc.abstractmethod
    def closed_j2(self, C: Array) -> Array: ...


def _solve_2x2(M: Array, y1: Array, y2: Array) -> tuple[Array, Array]:
    """`(a, b)` of the symmetric system `M (a, b) = (y1, y2)`, batched, by a Hermitian
    pseudo-inverse with a relative cutoff (the minimum-norm solution where `M` is singular)."""
    rtol = 1e-4 if jnp.finfo(M.dtype).bits <= 32 else 1e-9
    solution = jnp.linalg.pinv(M, rtol=rtol, hermitian=True) @ jnp.stack([y1, y2], -1)[..., None]
    return solution[..., 0, 0], solution[..., 1, 0]


def _conditioned_i2(outer: Activation, inner: Activation, C: Array, order: int) -> Array:
    """`E[outer(u1) E[inner(u2) | u1]]` with the inner expectation in closed form."""
    c11, c12, c22 = C[..., 0, 0], C[..., 0, 1], C[..., 1, 1]
    positive = c11 > 0
    safe = jnp.where(positive, c11, 1.0)
    slope = jnp.where(positive, c12 / safe, 0.0)
    residual = jnp.maximum(c22 - slope * c12, 0.0)
    nodes, weights = hermite_rule(order)
    u1 = jnp.sqrt(jnp.maximum(c11, 0.0))[..., None] * nodes
    inner_mean = inner.conditional_mean(slope[..., None] * u1, residual[..., None])
    return jnp.sum(outer(u1) * inner_mean * weights.astype(u1.dtype), axis=-1)


def _safe_ratio(numerator: Array, denominator: Array) -> tuple[Array, Array]:
    positive = denominator > 0
    return jnp.where(positive, numerator / jnp.where(positive, denominator, 1.0), 0.0), positive


class Erf(WithGaussianMoments, WithConditionalMean, WithI2, WithI3, WithI4, WithJ2):
    """`g(x) = erf(x / sqrt 2)`, the soft committee machine's activation (THEORY.md Sec. 1)."""

    name: ClassVar[str] = "erf"

    def __call__(self, x):
        return jsp.erf(x / math.sqrt(2.0))

    def derivative(self, x):
        return math.sqrt(2.0 / math.pi) * jnp.exp(-(x**2) / 2.0)

    def closed_gaussian_moments(self, variance):
        variance = jnp.asarray(variance)
        return jnp.zeros_like(variance), math.sqrt(2 / math.pi) * variance / jnp.sqrt(1 + variance)

    def closed_conditional_mean(self, mean, variance):
        return jsp.erf(mean / jnp.sqrt(2.0 * (1.0 + variance)))

    def closed_i2(self, C):
        c11, c12, c22 = C[..., 0, 0], C[..., 0, 1], C[..., 1, 1]
        return (2.0 / math.pi) * _atan2_arcsine(c12, (1.0 + c11) * (1.0 + c22))

    def closed_stein(self, C):
        c11, c12 = C[..., 0, 0], C[..., 0, 1]
        b = self.closed_j2(C)
        return -c12 * b / (1 + c11), b

    def closed_i4(self, C):
        c = lambda a, b: C[..., a - 1, b - 1]  # noqa: E731  (1-based, as in THEORY.md)
        lambda4 = (1 + c(1, 1)) * (1 + c(2, 2)) - c(1, 2) ** 2
        lambda0 = (
            lambda4 * c(3, 4)
            - c(2, 3) * c(2, 4) * (1 + c(1, 1))
            - c(1, 3) * c(1, 4) * (1 + c(2, 2))
            + c(1, 2) * c(1, 3) * c(2, 4)
            + c(1, 2) * c(1, 4) * c(2, 3)
        )
        lambda1 = (
            lambda4 * (1 + c(3, 3))
            - c(2, 3) ** 2 * (1 + c(1, 1))
            - c(1, 3) ** 2 * (1 + c(2, 2))
            + 2 * c(1, 2) * c(1, 3) * c(2, 3)
        )
        lambda2 = (
            lambda4 * (1 + c(4, 4))
            - c(2, 4) ** 2 * (1 + c(1, 1))
            - c(1, 4) ** 2 * (1 + c(2, 2))
            + 2 * c(1, 2) * c(1, 4) * c(2, 4)
        )
        arcsine = _atan2_arcsine(lambda0, lambda1 * lambda2)
        return (4 / math.pi**2) * arcsine / jnp.sqrt(lambda4)

    def closed_j2(self, C):
        c11, c12, c22 = C[..., 0, 0], C[..., 0, 1], C[..., 1, 1]
        return (2 / math.pi) / jnp.sqrt(1 + c11 + c22 + c11 * c22 - c12**2)


class Linear(WithGaussianMoments, WithConditionalMean, WithI2, WithI3, WithI4, WithJ2):
    """`g(x) = x`."""

    name: ClassVar[str] = "linear"

    def __call__(self, x):
        return x

    def derivative(self, x):
        return jnp.ones_like(x)

    def closed_gaussian_moments(self, variance):
        variance = jnp.asarray(variance)
        return jnp.zeros_like(variance), variance

    def closed_conditional_mean(self, mean, variance):
        return mean + 0.0 * variance

    def closed_i2(self, C):
        return jnp.asarray(C)[..., 0, 1]

    def closed_stein(self, C):
        b = self.closed_j2(C)
        return jnp.zeros_like(b), b

    def closed_i4(self, C):
        return jnp.asarray(C)[..., 2, 3]

    def closed_j2(self, C):
        return jnp.ones_like(jnp.asarray(C)[..., 0, 0])


class ReLU(WithGaussianMoments, WithConditionalMean, WithI2, WithI3, WithI4, WithJ2):
    """`g(x) = max(x, 0)`."""

    name: ClassVar[str] = "relu"
    quadrature_order_orthant: ClassVar[int] = 16

    def __call__(self, x):
        return jnp.maximum(x, 0.0)

    def derivative(self, x):
        return (x > 0).astype(jnp.result_type(x, float))

    def closed_gaussian_moments(self, variance):
        variance = jnp.asarray(variance)
        return jnp.sqrt(variance / (2 * math.pi)), variance / 2.0

    def closed_conditional_mean(self, mean, variance):
        spread = jnp.sqrt(jnp.maximum(variance, 0.0))
        ratio, positive = _safe_ratio(mean, spread)
        smooth = mean * jsp.ndtr(ratio) + spread * jnp.exp(-(ratio**2) / 2) / math.sqrt(2 * math.pi)
        return jnp.where(positive, smooth, jnp.maximum(mean, 0.0))

    def closed_i2(self, C):
        c11, c12, c22 = C[..., 0, 0], C[..., 0, 1], C[..., 1, 1]
        rho, scale = _correlation(c12, c11 * c22)
        root = scale * jnp.sqrt((1.0 - rho) * (1.0 + rho))
        # pi - arccos(rho) = pi/2 + asin(rho), written stably.
        angle = math.pi / 2 + _atan2_arcsine(c12, c11 * c22)
        return (root + c12 * angle) / (2 * math.pi)

    def closed_stein(self, C):
        """`g''` is a point mass at 0: `a = p(u1 = 0) E[relu(u2) | u1 = 0]`."""
        c11, c12, c22 = C[..., 0, 0], C[..., 0, 1], C[..., 1, 1]
        rho, scale = _correlation(c12, c11 * c22)
        root = scale * jnp.sqrt((1.0 - rho) * (1.0 + rho))
        a, _ = _safe_ratio(root, 2 * math.pi * c11)
        return a, self.closed_j2(C)

    def closed_i4(self, C):
        """`E[1{u1>0} 1{u2>0} relu(u3) relu(u4)]`: an orthant moment by sequential
        conditioning, so the steps never meet a quadrature node (`gaussian.orthant_moment`)."""
        return orthant_moment(jnp.asarray(C), (0, 0, 1, 1), self.quadrature_order_orthant)

    def closed_j2(self, C):
        c11, c12, c22 = C[..., 0, 0], C[..., 0, 1], C[..., 1, 1]
        return (math.pi / 2 + _atan2_arcsine(c12, c11 * c22)) / (2 * math.pi)


class Tanh(Activation):
    """`g(x) = tanh(x)` (integrals by quadrature)."""

    name: ClassVar[str] = "tanh"

    def __call__(self, x):
        return jnp.tanh(x)

    def derivative(self, x):
        return 1.0 - jnp.tanh(x) ** 2


class Sign(WithGaussianMoments, WithConditionalMean, WithI2):
    """`g(x) = sign(x)`; its derivative is zero almost everywhere (no use as a student)."""

    name: ClassVar[str] = "sign"

    def __call__(self, x):
        return jnp.sign(x)

    def derivative(self, x):
        return jnp.zeros_like(x)

    def closed_gaussian_moments(self, variance):
        variance = jnp.asarray(variance)
        return jnp.zeros_like(variance), jnp.sqrt(2.0 / math.pi * variance)

    def closed_conditional_mean(self, mean, variance):
        spread = jnp.sqrt(jnp.maximum(variance, 0.0))
        ratio, positive = _safe_ratio(mean, spread)
        return jnp.where(positive, jsp.erf(ratio / math.sqrt(2.0)), jnp.sign(mean))

    def closed_i2(self, C):
        c11, c12, c22 = C[..., 0, 0], C[..., 0, 1], C[..., 1, 1]
        return (2.0 / math.pi) * _atan2_arcsine(c12, c11 * c22)


class Quadratic(WithGaussianMoments, WithConditionalMean, WithI2):
    """`g(x) = x^2`."""

    name: ClassVar[str] = "quadratic"

    def __call__(self, x):
        return x**2

    def derivative(self, x):
        return 2.0 * x

    def closed_gaussian_moments(self, variance):
        variance = jnp.asarray(variance)
        return variance, jnp.zeros_like(variance)

    def closed_conditional_mean(self, mean, variance):
        return mean**2 + variance

    def closed_i2(self, C):
        c11, c12, c22 = C[..., 0, 0], C[..., 0, 1], C[..., 1, 1]
        return c11 * c22 + 2.0 * c12**2


class Custom(Activation):
    """A user function `g`, differentiated by JAX and integrated by Gauss–Hermite quadrature.

    Quadrature converges fast for smooth functions; for kinks or jumps prefer a built-in closed
    form or raise `quadrature_order_*`.

    **Arguments:**

    - `fn`: a JAX-traceable elementwise function.
    - `label`: a name for tables and plots.

    Example: `jaxgem.Custom(jax.nn.softplus, label="softplus")`.
    """

    fn: Callable[[Array], Array] = eqx.field(static=True)
    label: str = eqx.field(static=True, default="custom")

    def __check_init__(self):
        if not callable(self.fn):
            raise TypeError(f"Custom activation needs a callable fn, got {type(self.fn).__name__}")

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.label

    def __call__(self, x):
        return self.fn(x)

    def derivative(self, x):
        return jnp.vectorize(jax.grad(lambda s: self.fn(s)))(x)


class Quadrature(WithGaussianMoments, WithConditionalMean):
    """`activation` with its closed forms of the two- to four-point integrals (`I2`, `I3`,
    `I4`, `J2`) switched off: they are integrated by the generic rules (`I2` by conditioning on
    one field through the activation's own one-dimensional conditional mean, the others by
    product Gauss–Hermite rules). The explicit way to choose quadrature, e.g. to check a closed
    form against it; its one-dimensional expectations stay the activation's.

    **Arguments:**

    - `activation`: the activation (or its name).
    - `orders`: optional `(order_1d, order_2d, order_3d, order_4d)` of the Gauss–Hermite rules
      (default `(96, 24, 24, 16)`); raise them for fields of large variance.

    Example: `jaxgem.Quadrature("erf").i3(C)` against `jaxgem.Erf().i3(C)`.
    """

    activation: Activation
    orders: tuple[int, int, int, int] = eqx.field(static=True, default=(96, 24, 24, 16))

    def __init__(self, activation: Activation | str, orders=(96, 24, 24, 16)):
        self.activation = get_activation(activation)
        if len(orders) != 4 or not all(isinstance(n, int) and n >= 2 for n in orders):
            raise ValueError(f"orders must be four integers of at least 2, got {orders!r}")
        self.orders = tuple(orders)

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"quadrature({self.activation.name})"

    @property
    def quadrature_order_1d(self) -> int:  # type: ignore[override]
        return self.orders[0]

    @property
    def quadrature_order_2d(self) -> int:  # type: ignore[override]
        return self.orders[1]

    @property
    def quadrature_order_3d(self) -> int:  # type: ignore[override]
        return self.orders[2]

    @property
    def quadrature_order_4d(self) -> int:  # type: ignore[override]
        return self.orders[3]

    def __call__(self, x):
        return self.activation(x)

    def derivative(self, x):
        return self.activation.derivative(x)

    def closed_gaussian_moments(self, variance):
        return self.activation.gaussian_moments(variance)

    def closed_conditional_mean(self, mean, variance):
        return self.activation.conditional_mean(mean, variance)


#: The built-in activations by name (as configuration files name them).
ACTIVATIONS: Mapping[str, type[Activation]] = MappingProxyType(
    {cls.name: cls for cls in (Erf, Linear, ReLU, Tanh, Sign, Quadratic)}
)


def get_activation(name: str | Activation) -> Activation:
    """The activation called `name` (`erf`, `linear`, `relu`, `tanh`, `sign`, `quadratic`, or
    `he1` ... `he8` for a Hermite polynomial `He_k`, `h1` ... `h8` for `He_k / sqrt(k!)`:
    `jaxgem.Hermite`)."""
    if isinstance(name, Activation):
        return name
    if str(name).lower() in ACTIVATIONS:
        return ACTIVATIONS[str(name).lower()]()
    from .hermite import parse_hermite  # (it builds on this module)

    hermite = parse_hermite(name)
    if hermite is None:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}, he1 ... he8 "
            "(Hermite polynomials), h1 ... h8 (normalised), or pass jaxgem.Custom(fn) from Python"
        )
    return hermite
