"""The order-parameter ODEs of online SGD on iid Gaussian inputs (Saad & Solla 1995; Biehl &
Schwarze 1995; Goldt et al., NeurIPS 2019), THEORY.md Sec. 3.

With `u = (-v, A)` the signed readouts of all K + M fields and the integral tensors of
`jaxgem.ode.integrals`:
```
dR_in/dt = eta v_i sum_c u_c I3(i, n, c)                                          - kappa R_in
dQ_ik/dt = eta [v_i sum_c u_c I3(i, k, c) + (i <-> k)]
         + (eta^2 / B) v_i v_k [sum_cd u_c u_d I4(i, k, c, d) + sigma^2 J2(i, k)]  - 2 kappa Q_ik
dv_i/dt  = s^2 eta_v sum_c u_c I2(i, c)                                           - kappa v_i
```
(`eta = eta(t)`, `eta_v = eta_v(t)` under a learning-rate schedule)
(`v`, `A` the effective readouts, `s` the student's output scale; the `v` equation only when
the second layer is trained). Spherical SGD (`Problem(spherical=True)`) projects these rates
on the sphere `Q_kk = 1` (`project_on_sphere`). A mini-batch of `B` samples averages `B`
independent gradients, so the variance terms, of order `eta^2`, shrink by `1 / B` at fixed time
`t = steps / N`.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array

from ..activations import Activation
from ..hyperparameters import Hyperparameters
from .integrals import IntegralTensors, field_covariance, integral_tensors

__all__ = ["OrderParameterState", "RunArgs", "iid_vector_field"]


class OrderParameterState(eqx.Module):
    """What evolves: `Q (K, K)`, `R (K, M)`, `v (K,)`."""

    Q: Array
    R: Array
    v: Array


class RunArgs(eqx.Module):
    """What stays fixed along one solution: the teacher (`T`, `A`), the run's hyperparameters
    (scalars; arrays, so sweeps never recompile), the activations, the student's output scale
    and the flags."""

    T: Array
    A: Array
    hyper: Hyperparameters
    activation: Activation
    teacher_activation: Activation
    output_scale: float = eqx.field(static=True)
    train_second_layer: bool = eqx.field(static=True)
    second_order: bool = eqx.field(static=True, default=True)
    spherical: bool = eqx.field(static=True, default=False)

    def variance_rate(self, lr: Array) -> Array:
        """`eta^2 / B`: the weight of the variance terms of one step of a mini-batch of `B`."""
        return lr**2 / self.hyper.batch_size.astype(self.hyper.lr.dtype)

    def variance(self, tensors: IntegralTensors, v: Array) -> Array:
        """`sum_cd u_c u_d I4(k, l, c, d) + sigma^2 J2(k, l)`, `(K, K)`: the variance of one
        sample's gradient, which enters with weight `variance_rate v_k v_l`."""
        u = jnp.concatenate([-v, self.A])
        return jnp.einsum("klcd,c,d->kl", tensors.I4, u, u) + self.hyper.noise**2 * tensors.J2

    def readout_derivative(self, tensors: IntegralTensors, v: Array, lr_v: Array) -> Array:
        """`dv/dt = s^2 eta_v sum_c u_c I2(k, c) - kappa v` (zero if the readout is fixed)."""
        if not self.train_second_layer:
            return jnp.zeros_like(v)
        u = jnp.concatenate([-v, self.A])
        rate = lr_v * self.output_scale**2
        return rate * tensors.I2 @ u - self.hyper.weight_decay * v


def iid_vector_field(t, y: OrderParameterState, args) -> OrderParameterState:
    """`d(Q, R, v)/dt` of THEORY.md Sec. 3 (signature `(t, y, (run_args, shared))` as diffrax
    and `solve_runs` call it); the rates are the schedule's at `t`."""
    p, _ = args
    K = y.v.shape[-1]
    C = field_covariance(y.Q, y.R, p.T)
    tensors = integral_tensors(
        C, K, p.activation, p.teacher_activation, second_order=p.second_order
    )
    u = jnp.concatenate([-y.v, p.A])
    F = jnp.einsum("ibc,c->ib", tensors.I3, u)  # (K, L)
    (lr, lr_v), decay = p.hyper.rates(t), p.hyper.weight_decay
    dR = lr * y.v[:, None] * F[:, K:] - decay * y.R
    first = lr * y.v[:, None] * F[:, :K]
    dQ = first + first.T - 2 * decay * y.Q
    if p.second_order:
        dQ = dQ + p.variance_rate(lr) * jnp.outer(y.v, y.v) * p.variance(tensors, y.v)
    if p.spherical:
        dQ, dR = project_on_sphere(dQ, dR, y.Q, y.R)
    return OrderParameterState(Q=dQ, R=dR, v=p.readout_derivative(tensors, y.v, lr_v))


def project_on_sphere(dQ: Array, dR: Array, Q: Array, R: Array) -> tuple[Array, Array]:
    """The rates of spherical SGD, where every student unit is scaled back to `|w_k|^2 = N`
    (`Q_kk = 1`) after each step, from those of plain SGD: to first order in `1 / N` a step
    scales unit `k` by `1 - eps_k / 2` with `N E eps_k = dQ_kk` (its drift and its variance), so
    `dR_kn -= R_kn dQ_kk / 2` and `dQ_kl -= Q_kl (dQ_kk + dQ_ll) / 2` (Ben Arous, Gheissari,
    Jagannath, JMLR 2021)."""
    growth = jnp.diagonal(dQ)
    dR = dR - R * growth[:, None] / 2
    dQ = dQ - Q * (growth[:, None] + growth[None, :]) / 2
    return dQ, dR
