"""Order parameters of a two-layer teacher-student pair and the generalisation error they give.

THEORY.md Sec. 1: the local fields `lambda = w x / sqrt N` (student) and `nu = B z / sqrt dim z`
(teacher) are jointly Gaussian with `Q = E lambda lambda^T`, `R = E lambda nu^T`,
`T = E nu nu^T`, so `eg = 1/2 E[(y* - yhat)^2]` is a function of `(Q, R, T, v, A)` only.
Goldt et al., "The Gaussian equivalence of generative models for learning with shallow neural
networks" (MSML 2021); Saad & Solla (1995).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .activations import Activation, get_activation
from .checks import is_traced, shown

__all__ = ["OrderParameters", "generalisation_error", "pair_covariances"]


class OrderParameters(eqx.Module):
    """The second moments of the local fields and the two readouts.

    **Arguments:**

    - `Q`: `(K, K)` student-student overlaps `E lambda lambda^T`.
    - `R`: `(K, M)` student-teacher overlaps `E lambda nu^T`.
    - `T`: `(M, M)` teacher-teacher overlaps `E nu nu^T`.
    - `v`: `(K,)` student readout, output scale included (`yhat = sum_k v_k g(lambda_k)`).
    - `A`: `(M,)` teacher readout, output scale included.

    Leading batch axes are allowed (the same on every field), e.g. a trajectory's records.
    """

    Q: Float[Array, "*batch K K"]
    R: Float[Array, "*batch K M"]
    T: Float[Array, "*batch M M"]
    v: Float[Array, "*batch K"]
    A: Float[Array, "*batch M"]

    def __init__(self, Q, R, T, v, A):
        self.Q, self.R, self.T = jnp.asarray(Q), jnp.asarray(R), jnp.asarray(T)
        self.v, self.A = jnp.asarray(v), jnp.asarray(A)

    def __check_init__(self):
        K, M = self.v.shape[-1:], self.A.shape[-1:]
        expected = {"Q": K + K, "R": K + M, "T": M + M}
        for field, tail in expected.items():
            shape = getattr(self, field).shape
            if shape[-2:] != tail:
                raise ValueError(
                    f"OrderParameters.{field} has shape {shape}; with v of shape {self.v.shape} "
                    f"and A of shape {self.A.shape} its last two axes must be {tail}"
                )
        for field in ("Q", "T"):
            _check_covariance(field, getattr(self, field))

    @property
    def K(self) -> int:
        return self.v.shape[-1]

    @property
    def M(self) -> int:
        return self.A.shape[-1]


def _check_covariance(field: str, matrix: Array) -> None:
    """A covariance must be symmetric with a non-negative diagonal (checked on concrete
    values; NaN entries, as after a stopped solve, pass)."""
    if is_traced(matrix):
        return
    m = np.asarray(matrix, dtype=np.float64)
    scale = 1e-5 * (1.0 + np.abs(m))
    if np.any(np.abs(m - np.swapaxes(m, -1, -2)) > scale):
        raise ValueError(
            f"OrderParameters.{field} must be symmetric (a covariance of the local fields), "
            f"got {shown(matrix)}"
        )
    if np.any(np.diagonal(m, axis1=-2, axis2=-1) < -1e-7):
        raise ValueError(
            f"OrderParameters.{field} must have a non-negative diagonal (variances), got "
            f"{shown(matrix)}"
        )


def pair_covariances(
    left_variances: Array, right_variances: Array, cross: Array
) -> Float[Array, "*batch a b 2 2"]:
    """The 2 x 2 covariance of every pair (field a, field b), from variances and the cross block."""
    c11 = jnp.broadcast_to(left_variances[..., :, None], cross.shape)
    c22 = jnp.broadcast_to(right_variances[..., None, :], cross.shape)
    return jnp.stack([jnp.stack([c11, cross], -1), jnp.stack([cross, c22], -1)], -2)


def generalisation_error(
    order_parameters: OrderParameters,
    activation: Activation | str,
    teacher_activation: Activation | str | None = None,
) -> Float[Array, "*batch"]:
    """`eg = 1/2 E[(y* - yhat)^2]` from the order parameters (THEORY.md Sec. 1).

    `eg = 1/2 [v^T I2(Q) v + A^T I2(T) A - 2 v^T I2(R) A]`, with the two-point integrals of the
    student activation, of the teacher activation (default: the same) and of the mixed pair.

    **Arguments:**

    - `order_parameters`: an `OrderParameters`, optionally with leading batch axes.
    - `activation`: the student activation `g` (an `Activation` or a name such as `"erf"`).
    - `teacher_activation`: the teacher activation `g~`, if different.

    **Returns:** the generalisation error, one value per batch entry.

    Example: `jaxgem.generalisation_error(jaxgem.OrderParameters(Q=..., R=..., T=..., v=..., A=...),
    jaxgem.Erf())`.
    """
    op = order_parameters
    activation = get_activation(activation)
    teacher_activation = activation if teacher_activation is None else teacher_activation
    teacher_activation = get_activation(teacher_activation)
    q_diag = jnp.diagonal(op.Q, axis1=-2, axis2=-1)
    t_diag = jnp.diagonal(op.T, axis1=-2, axis2=-1)
    student = activation.i2(pair_covariances(q_diag, q_diag, op.Q))
    teacher = teacher_activation.i2(pair_covariances(t_diag, t_diag, op.T))
    mixed = activation.i2(pair_covariances(q_diag, t_diag, op.R), teacher_activation)
    quad = lambda a, m, b: jnp.einsum("...i,...ij,...j->...", a, m, b)  # noqa: E731
    return 0.5 * (
        quad(op.v, student, op.v) + quad(op.A, teacher, op.A) - 2 * quad(op.v, mixed, op.A)
    )
