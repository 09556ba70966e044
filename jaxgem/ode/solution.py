"""`ODESolution`: order parameters and generalisation error of the ODE theory at given times."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..order_parameters import OrderParameters
from .integrate import DIVERGED, SOLVED, STATUS_NAMES

__all__ = ["ODESolution"]


class ODESolution(eqx.Module):
    """Order parameters and generalisation error at the requested times.

    Fields: `t (R,)`, `Q (*batch, R, K, K)`, `R (*batch, R, K, M)`, `v (*batch, R, K)`,
    `T (*batch, M, M)`, `A (*batch, M)`, `eg (*batch, R)` (NaN from where a solve stopped),
    `status (*batch)` (0 solved, 1 diverged, 2 failed: `integrate.SOLVED`, `DIVERGED`,
    `FAILED`); `*batch` is `(H, *start)`: hyperparameter runs, then seeds or the starts' batch
    axes.
    """

    t: Array
    Q: Array
    R: Array
    v: Array
    T: Array
    A: Array
    eg: Array
    status: Array

    @property
    def solved(self) -> Array:
        """`(*batch)`: whether each run's solve reached the last time."""
        return self.status == SOLVED

    def stop_times(self) -> np.ndarray:
        """`(*batch)`: the last time with a finite `eg` of each run that stopped early (NaN for
        runs that were solved, and for runs that stopped before the first record)."""
        eg = np.asarray(self.eg)
        t = np.asarray(self.t)
        finite = np.isfinite(eg)
        last = np.where(finite.any(-1), finite.shape[-1] - 1 - np.argmax(finite[..., ::-1], -1), 0)
        stopped = np.asarray(self.status) != SOLVED
        return np.where(stopped & finite.any(-1), t[last], np.nan)

    def report(self, label=None) -> list[str]:
        """One line per run whose solve did not finish: the run (`label(index)`, default its
        index `(h, ...)`), what happened and the last time it reached."""
        label = label or (lambda index: f"run {index}")
        status, stops = np.asarray(self.status), self.stop_times()
        lines = []
        for index in zip(*np.nonzero(status != SOLVED)):
            index = tuple(int(i) for i in index)
            reached = "" if np.isnan(stops[index]) else f" after t = {stops[index]:.4g}"
            why = (
                "the order parameters blew up"
                if status[index] == DIVERGED
                else "the solve used up its step budget, max_steps: a stiff or non-smooth "
                "right-hand side; raise max_steps= or use fixed steps"
            )
            lines.append(f"theory {STATUS_NAMES[status[index]]}: {label(index)}{reached} ({why})")
        return lines

    def order_parameters(self) -> OrderParameters:
        """The solution as `OrderParameters` with axes `(*batch, R, ...)`."""
        R = self.t.shape[0]
        T = jnp.broadcast_to(self.T[..., None, :, :], self.T.shape[:-2] + (R,) + self.T.shape[-2:])
        A = jnp.broadcast_to(self.A[..., None, :], self.A.shape[:-1] + (R,) + self.A.shape[-1:])
        return OrderParameters(Q=self.Q, R=self.R, T=T, v=self.v, A=A)
