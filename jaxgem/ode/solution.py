"""`ODESolution`: order parameters and generalisation error of the ODE theory at given times."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from ..order_parameters import OrderParameters

__all__ = ["ODESolution"]


class ODESolution(eqx.Module):
    """Order parameters and generalisation error at the requested times.

    Fields: `t (R,)`, `Q (*batch, R, K, K)`, `R (*batch, R, K, M)`, `v (*batch, R, K)`,
    `T (*batch, M, M)`, `A (*batch, M)`, `eg (*batch, R)` (NaN where the solve failed);
    `*batch` is `(H, *start)`: hyperparameter runs, then seeds or the starts' batch axes.
    """

    t: Array
    Q: Array
    R: Array
    v: Array
    T: Array
    A: Array
    eg: Array

    def order_parameters(self) -> OrderParameters:
        """The solution as `OrderParameters` with axes `(*batch, R, ...)`."""
        R = self.t.shape[0]
        T = jnp.broadcast_to(self.T[..., None, :, :], self.T.shape[:-2] + (R,) + self.T.shape[-2:])
        A = jnp.broadcast_to(self.A[..., None, :], self.A.shape[:-1] + (R,) + self.A.shape[-1:])
        return OrderParameters(Q=self.Q, R=self.R, T=T, v=self.v, A=A)
