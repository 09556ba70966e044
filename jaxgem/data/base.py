"""The interface shared by every data model: sample inputs and the vector the teacher reads.

A data model draws pairs `(x, c)`: the input `x in R^N` the student sees and the vector
`c in R^D` the teacher reads (`c = x` for iid inputs, the latent vector for a generator).
By the Gaussian equivalence (THEORY.md Sec. 4) only the covariances
`Omega = E[(x - mu)(x - mu)^T]` and `Phi = E[(x - mu) c^T]` enter the theory, so every data
model reports them, and the order parameters of a student/teacher pair follow from them.
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..networks import TwoLayerNetwork
from ..order_parameters import OrderParameters

__all__ = ["DataModel"]


class DataModel(eqx.Module):
    """Abstract data model: `sample`, `covariances`, and the overlaps they imply."""

    @property
    @abc.abstractmethod
    def input_dim(self) -> int:
        """`N`, the dimension of the student's input `x`."""

    @property
    @abc.abstractmethod
    def latent_dim(self) -> int:
        """`D`, the dimension of the vector `c` the teacher reads."""

    @abc.abstractmethod
    def sample(self, key: PRNGKeyArray, n: int) -> tuple[Float[Array, "n N"], Float[Array, "n D"]]:
        """`n` independent pairs `(x, c)` (inputs centred)."""

    @abc.abstractmethod
    def covariances(self) -> tuple[Float[Array, "N N"], Float[Array, "N D"]]:
        """`(Omega, Phi)`: input-input and input-latent covariances."""

    @property
    def delta(self) -> float:
        """`delta = D / N`, the ratio the spectral theory needs (THEORY.md Sec. 5)."""
        return self.latent_dim / self.input_dim

    def input_overlap(self, w1: Array, w2: Array) -> Array:
        """`w1 Omega w2^T / N`: the covariance of the fields `w1 x / sqrt N`, `w2 x / sqrt N`."""
        omega, _ = self.covariances()
        return w1 @ omega @ w2.T / self.input_dim

    def input_latent_overlap(self, w: Array, B: Array) -> Array:
        """`w Phi B^T / sqrt(N D)`: the covariance of `w x / sqrt N` and `B c / sqrt D`."""
        _, phi = self.covariances()
        return w @ phi @ B.T / math.sqrt(self.input_dim * self.latent_dim)

    def order_parameters(
        self, student: TwoLayerNetwork, teacher: TwoLayerNetwork
    ) -> OrderParameters:
        """`(Q, R, T, v, A)` of a student reading `x` and a teacher reading `c`."""
        B = teacher.w
        return OrderParameters(
            Q=self.input_overlap(student.w, student.w),
            R=self.input_latent_overlap(student.w, B),
            T=B @ B.T / self.latent_dim,
            v=student.readout,
            A=teacher.readout,
        )

    def check_networks(self, student: TwoLayerNetwork, teacher: TwoLayerNetwork) -> None:
        """Raise a clear error if the networks do not read this data model's vectors."""
        name = type(self).__name__
        if student.N != self.input_dim:
            raise ValueError(
                f"the student reads N={student.N} inputs but {name} makes inputs of dimension "
                f"{self.input_dim}"
            )
        if teacher.N != self.latent_dim:
            raise ValueError(
                f"the teacher reads vectors of dimension {teacher.N} but {name} gives the teacher "
                f"vectors of dimension D={self.latent_dim}"
            )


def check_dimension(name: str, value) -> int:
    """A positive integer size, or a `ValueError` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, jnp.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
