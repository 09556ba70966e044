"""The order-parameter ODEs of online SGD on iid Gaussian inputs (Saad & Solla 1995; Biehl &
Schwarze 1995; Goldt et al., NeurIPS 2019), THEORY.md Sec. 3.

With `u = (-v, A)` the signed readouts of all K + M fields and the integral tensors of
`jaxgem.ode.integrals`:
```
dR_in/dt = eta v_i sum_c u_c I3(i, n, c)                                   - kappa R_in
dQ_ik/dt = eta [v_i sum_c u_c I3(i, k, c) + (i <-> k)]
         + eta^2 v_i v_k [sum_cd u_c u_d I4(i, k, c, d) + sigma^2 J2(i, k)] - 2 kappa Q_ik
dv_i/dt  = eta_v sum_c u_c I2(i, c)                                        - kappa v_i
```
(`v`, `A` the effective readouts; the `v` equation only when the second layer is trained).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from ..activations import Activation
from .integrals import field_covariance, integral_tensors

__all__ = ["OrderParameterState", "ODEParameters", "iid_vector_field"]


class OrderParameterState(eqx.Module):
    """What evolves: `Q (K, K)`, `R (K, M)`, `v (K,)`."""

    Q: Array
    R: Array
    v: Array


class ODEParameters(eqx.Module):
    """What stays fixed along a solution: the teacher (`T`, `A`) and the hyperparameters (arrays,
    so sweeps never recompile); activations and flags are static."""

    T: Array
    A: Array
    lr: Array
    lr_v: Array
    noise: Array
    weight_decay: Array
    activation: Activation
    teacher_activation: Activation
    train_second_layer: bool = eqx.field(static=True)
    second_order: bool = eqx.field(static=True, default=True)


def iid_vector_field(t, y: OrderParameterState, p: ODEParameters) -> OrderParameterState:
    """`d(Q, R, v)/dt` of THEORY.md Sec. 3 (signature `(t, y, args)` as diffrax expects)."""
    del t
    K = y.v.shape[-1]
    C = field_covariance(y.Q, y.R, p.T)
    tensors = integral_tensors(
        C, K, p.activation, p.teacher_activation, second_order=p.second_order
    )
    u = jnp.concatenate([-y.v, p.A])
    F = jnp.einsum("ibc,c->ib", tensors.I3, u)  # (K, L)
    dR = p.lr * y.v[:, None] * F[:, K:] - p.weight_decay * y.R
    first = p.lr * y.v[:, None] * F[:, :K]
    dQ = first + first.T - 2 * p.weight_decay * y.Q
    if p.second_order:
        variance = jnp.einsum("ikcd,c,d->ik", tensors.I4, u, u) + p.noise**2 * tensors.J2
        dQ = dQ + p.lr**2 * jnp.outer(y.v, y.v) * variance
    if p.train_second_layer:
        dv = p.lr_v * tensors.I2 @ u - p.weight_decay * y.v
    else:
        dv = jnp.zeros_like(y.v)
    return OrderParameterState(Q=dQ, R=dR, v=dv)
