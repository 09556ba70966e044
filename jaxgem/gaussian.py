"""Gaussian quadrature: expectations of functions of one or two jointly Gaussian variables.

Probabilists' Gauss–Hermite rules, normalised so the weights sum to one, and a product rule in two
dimensions after factorising the 2 x 2 covariance. Everything is vectorised over leading axes of
the variances / covariances, so a whole matrix of index pairs is one array operation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

__all__ = ["hermite_rule", "expect_1d", "expect_2d", "expect_nd", "psd_cholesky"]


@functools.cache
def hermite_rule(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with `sum_i w_i f(z_i) ≈ E f(z)`, `z ~ N(0, 1)`.

    Exact for polynomials of degree up to `2 * order - 1`.
    """
    if order < 1:
        raise ValueError(f"quadrature order must be a positive integer, got {order}")
    nodes, weights = np.polynomial.hermite_e.hermegauss(order)
    return nodes, weights / weights.sum()


def expect_1d(
    f: Callable[[Array], Array], variance: Float[Array, "*batch"], order: int = 64
) -> Float[Array, "*batch"]:
    """`E f(u)` for `u ~ N(0, variance)`, vectorised over `variance`."""
    nodes, weights = hermite_rule(order)
    u = jnp.sqrt(jnp.maximum(variance, 0.0))[..., None] * nodes
    return jnp.sum(f(u) * weights.astype(u.dtype), axis=-1)


def psd_cholesky(C: Float[Array, "*batch n n"]) -> Float[Array, "*batch n n"]:
    """Lower-triangular `L` with `L L^T = C` for a positive semi-definite `C`, singular allowed.

    An unrolled Cholesky whose pivots are clamped at zero (a zero pivot zeroes its column), so
    index tuples such as `(k, k, j)`, whose covariance is singular, factorise exactly instead of
    giving NaN. A triangular factor keeps `u_1` on one axis of the product rule, which converges
    far faster than a rotated (eigenvector) factor.
    """
    n = C.shape[-1]
    columns = []
    for j in range(n):
        partial = C[..., :, j]
        for k in range(j):
            partial = partial - columns[k] * columns[k][..., j : j + 1]
        pivot = jnp.sqrt(jnp.maximum(partial[..., j], 0.0))
        positive = pivot > 1e-30
        safe = jnp.where(positive, pivot, 1.0)
        column = jnp.where(positive[..., None], partial / safe[..., None], 0.0)
        column = column * (jnp.arange(n) >= j)  # lower-triangular
        columns.append(column)
    return jnp.stack(columns, axis=-1)


def expect_nd(
    functions: list[Callable[[Array], Array]],
    C: Float[Array, "*batch n n"],
    order: int,
) -> Float[Array, "*batch"]:
    """`E prod_a f_a(u_a)` for `u ~ N(0, C)` in `n = len(functions)` dimensions, by a product
    Gauss–Hermite rule of `order**n` nodes after factorising `C` (vectorised over the batch)."""
    n = len(functions)
    if C.shape[-2:] != (n, n):
        raise ValueError(f"expected covariances of shape (..., {n}, {n}), got {C.shape}")
    nodes, weights = hermite_rule(order)
    grids = np.meshgrid(*([nodes] * n), indexing="ij")
    z = np.stack([g.ravel() for g in grids], axis=-1)  # (order**n, n)
    w = np.prod(np.meshgrid(*([weights] * n), indexing="ij"), axis=0).ravel()
    L = psd_cholesky(C)
    u = jnp.einsum("...ab,pb->...pa", L, z.astype(L.dtype))  # (*batch, P, n)
    product = functions[0](u[..., 0])
    for a in range(1, n):
        product = product * functions[a](u[..., a])
    return jnp.sum(product * w.astype(L.dtype), axis=-1)


def expect_2d(
    f1: Callable[[Array], Array],
    f2: Callable[[Array], Array],
    C: Float[Array, "*batch 2 2"],
    order: int = 24,
) -> Float[Array, "*batch"]:
    """`E f1(u1) f2(u2)` for `(u1, u2) ~ N(0, C)`, by a product Gauss–Hermite rule."""
    return expect_nd([f1, f2], C, order)
