"""The interface shared by every data model: sample inputs and the vector the teacher reads, and
the covariances the theories need.

A data model draws pairs `(x, c)`: the input `x in R^N` the student sees and the vector
`c in R^D` the teacher reads (`c = x` for iid inputs and datasets, the latent vector of a
generator). By the Gaussian equivalence (THEORY.md Sec. 4) only the covariances
`Omega = E[(x - mu)(x - mu)^T]`, `Phi = E[(x - mu) c^T]` and `Psi = E[c c^T]` (the identity for a
generator's latent) enter the theory, so every data model reports them and the order parameters
of a student/teacher pair follow from them. The same data model feeds online SGD and its ODEs,
and full-batch ERM and its replica curve (Loureiro et al., NeurIPS 2021: the Gaussian covariate
model with teacher features `c` and student features `x`).
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ..networks import TwoLayerNetwork
from ..order_parameters import OrderParameters
from .spectrum import Spectrum

__all__ = ["DataModel", "CovarianceDataModel"]


class DataModel(eqx.Module):
    """Abstract data model: dimensions, `sample`, covariances and the overlaps they imply.

    `is_gaussian` says whether `(x, c)` are jointly Gaussian (errors of a fitted student then
    follow from the covariances exactly); `max_samples` is the number of distinct samples (a
    finite dataset) or `None`.
    """

    @property
    @abc.abstractmethod
    def is_gaussian(self) -> bool:
        """Whether `(x, c)` are jointly Gaussian (a class constant)."""

    @property
    @abc.abstractmethod
    def input_dim(self) -> int:
        """`N`, the dimension of the student's input `x`."""

    @property
    @abc.abstractmethod
    def latent_dim(self) -> int:
        """`D`, the dimension of the vector `c` the teacher reads."""

    @property
    @abc.abstractmethod
    def max_samples(self) -> int | None:
        """How many distinct samples exist (a finite dataset), or `None`."""

    @abc.abstractmethod
    def sample(self, key: PRNGKeyArray, n: int) -> tuple[Float[Array, "n N"], Float[Array, "n D"]]:
        """`n` independent pairs `(x, c)` (inputs centred)."""

    @abc.abstractmethod
    def covariances(self) -> tuple[Float[Array, "N N"], Float[Array, "N D"]]:
        """`(Omega, Phi)`: input-input and input-latent covariances."""

    @abc.abstractmethod
    def latent_covariance(self) -> Float[Array, "D D"] | None:
        """`Psi = E c c^T`, or `None` for the identity (a generator's latent `c ~ N(0, I_D)`)."""

    @abc.abstractmethod
    def input_overlap(self, w1: Array, w2: Array) -> Array:
        """`w1 Omega w2^T / N`: the covariance of the fields `w1 x / sqrt N`, `w2 x / sqrt N`."""

    @abc.abstractmethod
    def input_latent_overlap(self, w: Array, B: Array) -> Array:
        """`w Phi B^T / sqrt(N D)`: the covariance of `w x / sqrt N` and `B c / sqrt D`."""

    @property
    def delta(self) -> float:
        """`delta = D / N`, the ratio the spectral theory needs (THEORY.md Sec. 5)."""
        return self.latent_dim / self.input_dim

    def latent_overlap(self, B1: Array, B2: Array) -> Array:
        """`B1 Psi B2^T / D`: the covariance of the teacher fields `B1 c / sqrt D` and
        `B2 c / sqrt D`."""
        psi = self.latent_covariance()
        return (B1 @ B2.T if psi is None else B1 @ psi @ B2.T) / self.latent_dim

    def order_parameters(
        self, student: TwoLayerNetwork, teacher: TwoLayerNetwork
    ) -> OrderParameters:
        """`(Q, R, T, v, A)` of a student reading `x` and a teacher reading `c`."""
        return self.overlaps(student.w, student.readout, teacher.w, teacher.readout)

    def overlaps(self, w: Array, v: Array, B: Array, A: Array) -> OrderParameters:
        """`(Q, R, T, v, A)` of student weights `w (K, N)` with effective readout `v` and
        teacher weights `B (M, D)` with effective readout `A`."""
        return OrderParameters(
            Q=self.input_overlap(w, w),
            R=self.input_latent_overlap(w, B),
            T=self.latent_overlap(B, B),
            v=v,
            A=A,
        )

    def spectrum(self) -> Spectrum:
        """The eigendecomposition of `Omega` (once per data model; reuse it), the basis of the
        spectral ODEs and of the replica curve."""
        omega, _ = self.covariances()
        rho, U = jnp.linalg.eigh(0.5 * (omega + omega.T))
        N = omega.shape[0]
        return Spectrum(
            rho=rho, weights=jnp.full((N,), 1.0 / N, rho.dtype), eigenvectors=U, delta=self.delta
        )

    def teacher_projections(self, spectrum: Spectrum, B: Array) -> Float[Array, "M P"]:
        """`B Phi^T U`: how teacher weights `B (M, D)` reach each eigen-direction of `Omega`
        (`t~_nm = Gb_n Gb_m` of THEORY.md Sec. 5; the replica's `t_i` for one teacher vector)."""
        _, phi = self.covariances()
        return B @ (phi.T @ spectrum.eigenvectors)

    def check_networks(self, student, teacher) -> None:
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


class CovarianceDataModel(DataModel):
    """Abstract data model whose overlaps follow from its dense covariances `(Omega, Phi)`."""

    def input_overlap(self, w1, w2):
        omega, _ = self.covariances()
        return w1 @ omega @ w2.T / self.input_dim

    def input_latent_overlap(self, w, B):
        _, phi = self.covariances()
        return w @ phi @ B.T / math.sqrt(self.input_dim * self.latent_dim)
