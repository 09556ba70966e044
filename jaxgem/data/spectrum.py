"""The spectrum of an input covariance: the basis in which both the spectral ODEs of online SGD
(THEORY.md Sec. 5) and the replica curves of full-batch ERM (Sec. 7) close."""

from __future__ import annotations

import equinox as eqx
from jaxtyping import Array, Float

__all__ = ["Spectrum"]


class Spectrum(eqx.Module):
    """Eigenvalues `rho (P,)` of `Omega` (or quadrature nodes of their law) with weights `(P,)`
    summing to one (`1/N` each for a sampled matrix, bin masses after coarse-graining, quadrature
    weights for a law), the eigenvectors `(N, P)` when known, and `delta = D / N` of the data."""

    rho: Float[Array, " P"]
    weights: Float[Array, " P"]
    eigenvectors: Float[Array, "N P"] | None
    delta: float | Array

    @property
    def size(self) -> int:
        return self.rho.shape[0]

    def without_eigenvectors(self) -> Spectrum:
        """The same nodes without the basis (what a compiled solve needs: no `N x P` array to
        trace)."""
        return Spectrum(self.rho, self.weights, None, self.delta)
