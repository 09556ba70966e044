"""Hermite activations `g(x) = sum_k c_k He_k(x)` (probabilists' Hermite polynomials) with every
Gaussian integral in closed form: polynomials of the covariances.

`He_k` targets have information exponent `k` (the lowest non-zero Hermite coefficient of the
target): single-index and multi-index teachers of any exponent, the targets of "functions of
increasing complexity" (Ben Arous, Gheissari, Jagannath, "Online stochastic gradient descent on
non-convex losses from high-dimensional inference", JMLR 2021; Abbe, Adsera, Misiakiewicz, COLT
2022; Loureiro, lecture notes 2023, THEORY.md Sec. 6).

The closed forms rest on two identities. With `He^[v]_n(u) = v^{n/2} He_n(u / sqrt v)` the
Hermite polynomials orthogonal under `N(0, v)` (defined for any `v`, also `v <= 0`, by
`He^[v]_{n+1}(x) = x He^[v]_n(x) - n v He^[v]_{n-1}(x)`):

- change of variance: `He_k(u) = sum_j k! / (2^j j! (k-2j)!) (v - 1)^j He^[v]_{k-2j}(u)`;
- the diagram formula: for `u ~ N(0, C)`,
  `E prod_a He^[C_aa]_{n_a}(u_a) = sum_G prod_a n_a! / prod_{a<b} G_ab! prod_{a<b} C_ab^G_ab`
  over the multigraphs `G` without loops whose vertex `a` has degree `n_a`.

So `E prod_a f_a(u_a)` of polynomials `f_a` is a finite sum of monomials of `C`: no quadrature,
no division by a variance (exact at `C_aa = 0`), and as smooth in `C` as a polynomial.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .activations import (
    WithConditionalMean,
    WithGaussianMoments,
    WithI2,
    WithI3,
    WithI4,
    WithJ2,
)

__all__ = ["Hermite", "gaussian_polynomial_moment", "parse_hermite"]

#: Highest degree a `Hermite` activation may have: the four-point integral of degree-8
#: polynomials already sums tens of thousands of monomials.
MAX_DEGREE = 8


def _evaluate(coefficients: np.ndarray, x: Array, variance=1.0) -> Array:
    """`sum_k c_k He^[variance]_k(x)` by the three-term recurrence."""
    previous, current = jnp.ones_like(x), x
    total = coefficients[0] * previous
    if len(coefficients) > 1:
        total = total + coefficients[1] * current
    for n in range(1, len(coefficients) - 1):
        previous, current = current, x * current - n * variance * previous
        total = total + coefficients[n + 1] * current
    return total


def _derivative(coefficients: np.ndarray) -> np.ndarray:
    """Coefficients of `g'` from those of `g` (`He_k' = k He_{k-1}`)."""
    if len(coefficients) == 1:
        return np.zeros(1)
    return coefficients[1:] * np.arange(1, len(coefficients))


def _variance_basis(coefficients: np.ndarray, variance: Array) -> Array:
    """The coefficients `b_n(variance)` of `sum_k c_k He_k` in the basis `He^[variance]_n`,
    `(..., degree + 1)`, by the change-of-variance identity."""
    degree = len(coefficients) - 1
    shift = jnp.asarray(variance)[..., None] - 1.0
    terms = []
    for n in range(degree + 1):
        b = jnp.zeros_like(shift[..., 0])
        for j in range((degree - n) // 2 + 1):
            k = n + 2 * j
            weight = coefficients[k] * math.factorial(k)
            weight /= 2**j * math.factorial(j) * math.factorial(n)
            if weight != 0.0:
                b = b + weight * shift[..., 0] ** j
        terms.append(b)
    return jnp.stack(terms, axis=-1)


def _multigraphs(degrees: tuple[int, ...]):
    """Every loop-free multigraph on `len(degrees)` vertices with these degrees, as its edge
    multiplicities over the pairs `itertools.combinations(range(m), 2)`."""
    pairs = list(itertools.combinations(range(len(degrees)), 2))

    def extend(p: int, remaining: list[int]):
        if p == len(pairs):
            if not any(remaining):
                yield ()
            return
        a, b = pairs[p]
        last_of_a = all(a not in pair for pair in pairs[p + 1 :])
        low = remaining[a] if last_of_a else 0
        for n in range(low, min(remaining[a], remaining[b]) + 1):
            remaining[a] -= n
            remaining[b] -= n
            for rest in extend(p + 1, remaining):
                yield (n, *rest)
            remaining[a] += n
            remaining[b] += n

    return pairs, list(extend(0, list(degrees)))


def _diagram_table(max_degrees: tuple[int, ...]):
    """The monomials of `E prod_a He^[C_aa]_{n_a}(u_a)` for every `n_a <= max_degrees[a]`:
    `(index (T, m), weight (T,), exponents (T, pairs))`."""
    indices, weights, exponents = [], [], []
    pairs = list(itertools.combinations(range(len(max_degrees)), 2))
    for degrees in itertools.product(*(range(d + 1) for d in max_degrees)):
        if sum(degrees) % 2:
            continue
        numerator = math.prod(math.factorial(n) for n in degrees)
        for graph in _multigraphs(degrees)[1]:
            indices.append(degrees)
            weights.append(numerator / math.prod(math.factorial(n) for n in graph))
            exponents.append(graph)
    if not indices:
        return np.zeros((0, len(max_degrees)), int), np.zeros(0), np.zeros((0, len(pairs)), int)
    return np.array(indices), np.array(weights), np.array(exponents).reshape(len(indices), -1)


def gaussian_polynomial_moment(polynomials, C: Array) -> Array:
    """`E prod_a f_a(u_a)`, `u ~ N(0, C)`, exactly, for polynomials `f_a` given by their
    probabilists' Hermite coefficients (`polynomials[a][k]` multiplies `He_k`; a field's own
    identity is `(0, 1)`). `C` is `(..., m, m)` with `m = len(polynomials)`."""
    C = jnp.asarray(C)
    polynomials = [np.asarray(p, dtype=float) for p in polynomials]
    m = len(polynomials)
    series = [_variance_basis(p, C[..., a, a]) for a, p in enumerate(polynomials)]
    index, weight, exponent = _diagram_table(tuple(len(p) - 1 for p in polynomials))
    if len(weight) == 0:
        return jnp.zeros(C.shape[:-2], C.dtype)
    pairs = list(itertools.combinations(range(m), 2))
    # coefficient of every term: prod_a b_a[n_a]
    coefficient = jnp.asarray(weight, C.dtype)
    for a in range(m):
        coefficient = coefficient * series[a][..., index[:, a]]
    # monomial of every term: prod_pairs C_ab ** G_ab, from a table of powers
    top = int(exponent.max()) if exponent.size else 0
    for p, (a, b) in enumerate(pairs):
        base = C[..., a, b][..., None]
        powers = jnp.cumprod(
            jnp.concatenate([jnp.ones_like(base), jnp.repeat(base, top, -1)], -1), -1
        )
        coefficient = coefficient * powers[..., exponent[:, p]]
    return jnp.sum(coefficient, axis=-1)


class Hermite(WithGaussianMoments, WithConditionalMean, WithI2, WithI3, WithI4, WithJ2):
    """`g(x) = sum_k c_k He_k(x)`, probabilists' Hermite polynomials (`He_2 = x^2 - 1`,
    `He_3 = x^3 - 3x`, ...), with `I2`, `I3`, `I4`, `J2`, its Gaussian moments and conditional
    mean in closed form (module docstring). Its information exponent is the lowest `k >= 1` with
    `c_k != 0`: single-index targets `He_k` escape the equator after a time that grows with the
    dimension for `k >= 3` (`jaxgem.escape`).

    **Arguments:**

    - `coefficients`: `(c_0, c_1, ..., c_K)`, degree at most 8.

    Example: `jaxgem.Hermite.single(3)` (named `"he3"` in configurations),
    `jaxgem.Hermite((0.0, 1.0, 0.0, 0.5))` for `He_1 + He_3 / 2`.
    """

    coefficients: tuple[float, ...] = eqx.field(static=True)
    quadrature_order_1d: ClassVar[int] = 96

    def __init__(self, coefficients):
        values = tuple(float(c) for c in np.atleast_1d(np.asarray(coefficients, dtype=float)))
        if not values or not all(math.isfinite(c) for c in values):
            raise ValueError(f"Hermite coefficients must be finite numbers, got {coefficients!r}")
        while len(values) > 1 and values[-1] == 0.0:
            values = values[:-1]
        if len(values) - 1 > MAX_DEGREE:
            raise ValueError(f"Hermite degree must be at most {MAX_DEGREE}, got {len(values) - 1}")
        self.coefficients = values

    @classmethod
    def single(cls, k: int, *, normalised: bool = False) -> Hermite:
        """`He_k` alone (information exponent `k`); `normalised`: `h_k = He_k / sqrt(k!)`, of unit
        Gaussian norm (`E h_k(z)^2 = 1`, named `"h3"` for `k = 3`)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= MAX_DEGREE:
            raise ValueError(f"Hermite order k must be an integer in 0..{MAX_DEGREE}, got {k!r}")
        scale = 1.0 / math.sqrt(math.factorial(k)) if normalised else 1.0
        return cls(scale * np.eye(k + 1)[k])

    @property
    def name(self) -> str:  # type: ignore[override]
        c = self.coefficients
        nonzero = [k for k, value in enumerate(c) if value != 0.0]
        if len(nonzero) == 1 and c[nonzero[0]] == 1.0:
            return f"he{nonzero[0]}"
        if len(nonzero) == 1 and math.isclose(c[nonzero[0]] ** 2 * math.factorial(nonzero[0]), 1):
            return f"h{nonzero[0]}"
        return "hermite(" + ",".join(f"{value:g}" for value in c) + ")"

    @property
    def degree(self) -> int:
        return len(self.coefficients) - 1

    @property
    def information_exponent(self) -> int:
        """The lowest `k >= 1` with `c_k != 0` (0 for a constant)."""
        return next((k for k, c in enumerate(self.coefficients) if k and c != 0.0), 0)

    def _c(self, derivatives: int = 0) -> np.ndarray:
        c = np.asarray(self.coefficients, dtype=float)
        for _ in range(derivatives):
            c = _derivative(c)
        return c

    def __call__(self, x):
        return _evaluate(self._c(), jnp.asarray(x))

    def derivative(self, x):
        return _evaluate(self._c(1), jnp.asarray(x))

    def _same_kind(self, other) -> bool:
        return other is None or (
            isinstance(other, Hermite) and other.coefficients == self.coefficients
        )

    def closed_gaussian_moments(self, variance):
        variance = jnp.asarray(variance)
        b = _variance_basis(np.pad(self._c(), (0, 1)), variance)
        return b[..., 0], variance * b[..., 1]

    def closed_conditional_mean(self, mean, variance):
        # E He_k(m + s z) = He^[1 - s^2]_k(m)
        return _evaluate(self._c(), jnp.asarray(mean), 1.0 - jnp.asarray(variance))

    def closed_i2(self, C):
        return gaussian_polynomial_moment([self._c(), self._c()], C)

    def closed_stein(self, C):
        a = gaussian_polynomial_moment([self._c(2), self._c()], C)
        return a, self.closed_j2(C)

    def closed_i4(self, C):
        g, dg = self._c(), self._c(1)
        return gaussian_polynomial_moment([dg, dg, g, g], C)

    def closed_j2(self, C):
        return gaussian_polynomial_moment([self._c(1), self._c(1)], C)

    def kappa(self):
        """`(kappa0, kappa1, kappa_star) = (c_0, c_1, sqrt(sum_{k>=2} k! c_k^2))` (exact)."""
        c = self._c()
        rest = sum(math.factorial(k) * c[k] ** 2 for k in range(2, len(c)))
        first = c[1] if len(c) > 1 else 0.0
        return jnp.asarray(c[0]), jnp.asarray(first), jnp.asarray(math.sqrt(rest))


_NAME = re.compile(r"h(e?)(\d+)")


def parse_hermite(name: str) -> Hermite | None:
    """`"he3"` -> `Hermite.single(3)`, `"h3"` -> its normalised `He_3 / sqrt 6`; `None` for
    other names."""
    match = _NAME.fullmatch(str(name).strip().lower())
    if match is None:
        return None
    return Hermite.single(int(match.group(2)), normalised=not match.group(1))
