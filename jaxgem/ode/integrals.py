"""The Gaussian integrals of the order-parameter ODEs, for every index tuple at once.

Fields are indexed `0..K-1` (student, activation `g`) then `K..K+M-1` (teacher, activation `g~`),
with covariance `C = [[Q, R], [R^T, T]]` (THEORY.md Sec. 3). A tensor entry is the integral over
the sub-covariance of its indices; the activation in each "value" slot is `g` or `g~` according
to the index that slot holds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..activations import Activation

__all__ = ["field_covariance", "sub_covariance", "IntegralTensors", "integral_tensors"]


def field_covariance(Q: Array, R: Array, T: Array) -> Float[Array, "L L"]:
    """`C = [[Q, R], [R^T, T]]`, the covariance of `(lambda_1..K, nu_1..M)`."""
    return jnp.block([[Q, R], [R.T, T]])


def sub_covariance(C: Array, *indices: Array) -> Array:
    """`C[idx][:, idx]` for every broadcast index tuple `idx = (indices[0], indices[1], ...)`."""
    idx = jnp.stack(jnp.broadcast_arrays(*indices), axis=-1)
    return C[idx[..., :, None], idx[..., None, :]]


def same_activation(g: Activation, h: Activation) -> bool:
    return type(g) is type(h) and bool(eqx.tree_equal(g, h))


class IntegralTensors(eqx.Module):
    """`I2 (K, L)`, `I3 (K, L, L)`, `I4 (K, K, L, L)`, `J2 (K, K)`: first index(es) on students,
    value slots on any field (THEORY.md Sec. 2, 3). `I4`, `J2` are `None` when not needed."""

    I2: Array
    I3: Array
    I4: Array | None
    J2: Array | None


def _select_by_field(
    compute: Callable[[tuple[Activation, ...]], Array],
    K: int,
    L: int,
    g: Activation,
    gt: Activation,
    slots: int,
) -> Array:
    """`compute(activations)` returns a tensor whose trailing `slots` axes index fields; evaluate it
    for each assignment of `g` / `g~` to the slots and keep, entry by entry, the assignment that
    matches the fields (one evaluation when `g` and `g~` are the same)."""
    if same_activation(g, gt):
        return compute((g,) * slots)
    is_student = jnp.arange(L) < K
    result = None
    for choice in itertools.product((True, False), repeat=slots):
        value = compute(tuple(g if student else gt for student in choice))
        mask = jnp.ones((L,) * slots, bool)
        for slot, student in enumerate(choice):
            shape = [1] * slots
            shape[slot] = L
            mask = mask & (is_student if student else ~is_student).reshape(shape)
        result = value if result is None else jnp.where(mask, value, result)
    return result


def integral_tensors(
    C: Float[Array, "L L"],
    K: int,
    activation: Activation,
    teacher_activation: Activation,
    *,
    second_order: bool = True,
) -> IntegralTensors:
    """All the integrals the ODEs need, vectorised over index tuples.

    `second_order=False` skips `I4` and `J2` (the learning-rate-squared terms, absent in the
    classical gradient-flow regime).
    """
    g, gt = activation, teacher_activation
    L = C.shape[-1]
    i, b = jnp.arange(K), jnp.arange(L)

    def i2(acts):
        return g.i2(sub_covariance(C, i[:, None], b[None, :]), acts[0])

    def i3(acts):
        return g.i3(
            sub_covariance(C, i[:, None, None], b[None, :, None], b[None, None, :]), acts[0]
        )

    def i4(acts):
        cov = sub_covariance(
            C,
            i[:, None, None, None],
            i[None, :, None, None],
            b[None, None, :, None],
            b[None, None, None, :],
        )
        return g.i4(cov, acts[0], acts[1])

    I2 = _select_by_field(i2, K, L, g, gt, 1)
    I3 = _select_by_field(i3, K, L, g, gt, 1)
    I4 = J2 = None
    if second_order:
        I4 = _select_by_field(i4, K, L, g, gt, 2)
        J2 = g.j2(sub_covariance(C, i[:, None], i[None, :]))
    return IntegralTensors(I2=I2, I3=I3, I4=I4, J2=J2)
