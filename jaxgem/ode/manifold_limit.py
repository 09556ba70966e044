"""Initial conditions of the hidden manifold's spectral ODEs in the limit `N, D -> infinity`, from
order parameters (Goldt, Mézard, Krzakala, Zdeborová, PRX 2020; THEORY.md Sec. 5).

The student is taken as an isotropic part (overlaps `W`) plus a part along the teacher's
directions in input space, `w_k = sum_n c_kn (Phi B^T)_n + noise`. On the Marchenko–Pastur nodes
`s` of `HiddenManifoldLimit` that gives
```
r(s) = sqrt(delta) s R        q(s) = W + delta s R T^+ R^T / kappa1^2
```
with `W` fixed by `Q = <rho q>`. Random initial weights have `R -> 0` and `q(s) = W` in this
limit; `r(s) ∝ s` is also the conditional mean of a random initial `r` given its `R`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..checks import require, shown
from ..data.manifold_limit import HiddenManifoldLimit
from ..order_parameters import OrderParameters

__all__ = ["limit_densities"]


def limit_densities(data: HiddenManifoldLimit, op: OrderParameters):
    """`(q, r, t~)` per node for order parameters with a leading batch axis (module docstring);
    refuses a `Q` too small for its `R` (the isotropic part `W` would not be positive
    semi-definite) and a teacher overlap where the generator has `kappa1 = 0`."""
    kappa1 = data.kappa1.astype(op.Q.dtype)
    usable = jnp.abs(kappa1) >= 1e-12
    kappa1 = jnp.where(usable, kappa1, 1.0)
    q, r, t_tilde, W = jax.vmap(_densities, in_axes=(None, 0, None))(data, op, kappa1)
    r = require(
        r,
        usable | jnp.all(op.R == 0),
        "the generator has kappa1 = 0: no student can overlap the teacher (R = 0)",
    )
    smallest = jnp.min(jnp.linalg.eigvalsh(W))
    q = require(
        q,
        smallest >= -1e-6 * jnp.max(jnp.abs(op.Q)),
        "Q is too small for R in the Marchenko–Pastur limit: the isotropic part of the "
        f"student W = (Q - ...) / <rho> has a negative eigenvalue {shown(smallest)}",
    )
    return q, r, t_tilde


def _densities(data: HiddenManifoldLimit, op: OrderParameters, kappa1):
    dtype = op.Q.dtype
    s, weights = data.nodes(dtype)
    spectrum = data.spectrum(dtype)
    T_plus = jnp.linalg.pinv(op.T, hermitian=True)
    aligned = data.delta * op.R @ T_plus @ op.R.T / kappa1**2  # (K, K)
    mean_rho = jnp.sum(weights * spectrum.rho)
    mean_rho_s = jnp.sum(weights * spectrum.rho * s)
    W = (op.Q - mean_rho_s * aligned) / mean_rho
    q = W[None] + s[:, None, None] * aligned[None]
    r = jnp.sqrt(data.delta) * s[:, None, None] * op.R[None]
    return q, r, data.teacher_density(op.T), W
