"""Fixed points of the order-parameter ODEs by root finding (optimistix), e.g. the asymptotic
error of online SGD with output noise (Goldt et al., NeurIPS 2019; THEORY.md Sec. 3)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import optimistix as optx

from ..activations import Activation, get_activation
from ..order_parameters import OrderParameters, generalisation_error
from .iid import ODEParameters, OrderParameterState, iid_vector_field

__all__ = ["SteadyState", "steady_state"]


class SteadyState(eqx.Module):
    """A fixed point: its order parameters, its generalisation error, whether the root finder
    converged, and the size of the vector field there."""

    order_parameters: OrderParameters
    eg: jnp.ndarray
    converged: jnp.ndarray
    residual: jnp.ndarray


def _pack(Q, R, v, train_v):
    rows, cols = jnp.triu_indices(Q.shape[-1])
    parts = [Q[rows, cols], R.ravel()] + ([v] if train_v else [])
    return jnp.concatenate(parts)


def _unpack(x, K, M, v_fixed, train_v):
    rows, cols = jnp.triu_indices(K)
    n = rows.shape[0]
    Q = jnp.zeros((K, K), x.dtype).at[rows, cols].set(x[:n]).at[cols, rows].set(x[:n])
    R = x[n : n + K * M].reshape(K, M)
    v = x[n + K * M :] if train_v else v_fixed
    return Q, R, v


def steady_state(
    order_parameters: OrderParameters,
    *,
    activation: Activation | str,
    lr,
    lr_v=None,
    noise=0.0,
    weight_decay=0.0,
    train_second_layer: bool = False,
    teacher_activation: Activation | str | None = None,
    output_scale: float = 1.0,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 256,
) -> SteadyState:
    """The fixed point of the iid ODEs nearest `order_parameters` (Newton's method on the
    vector field; `Q` symmetric by construction, `v` held fixed unless the second layer trains).

    Start it from the end of a long ODE solution, or from a guess such as `Q = R = T` (the
    specialised fixed point of a matched student).

    Example:
    ```python
    start = jaxgem.OrderParameters(Q=jnp.eye(2), R=jnp.eye(2), T=jnp.eye(2), v=jnp.ones(2),
                                   A=jnp.ones(2))
    jaxgem.ode.steady_state(start, activation="erf", lr=0.05, noise=0.1).eg
    ```
    """
    g = get_activation(activation)
    gt = g if teacher_activation is None else get_activation(teacher_activation)
    op = order_parameters
    dtype = op.Q.dtype
    lr_v = lr if lr_v is None else lr_v
    params = ODEParameters(
        jnp.asarray(op.T),
        jnp.asarray(op.A),
        jnp.asarray(lr, dtype),
        jnp.asarray(lr_v, dtype) * output_scale**2,
        jnp.asarray(noise, dtype),
        jnp.asarray(weight_decay, dtype),
        g,
        gt,
        train_second_layer,
    )
    single = jnp.finfo(dtype).bits <= 32
    rtol = (1e-5 if single else 1e-10) if rtol is None else float(rtol)
    atol = (1e-7 if single else 1e-12) if atol is None else float(atol)
    return _newton(
        jnp.asarray(op.Q), jnp.asarray(op.R), jnp.asarray(op.v), params, rtol, atol, max_steps
    )


@eqx.filter_jit
def _newton(Q0, R0, v_fixed, params: ODEParameters, rtol, atol, max_steps) -> SteadyState:
    """Newton's method on the packed vector field, compiled once per shape and setting."""
    K, M = R0.shape
    train = params.train_second_layer

    def field(x, params):
        Q, R, v = _unpack(x, K, M, v_fixed, train)
        d = iid_vector_field(0.0, OrderParameterState(Q, R, v), params)
        return _pack(d.Q, d.R, d.v, train)

    solution = optx.root_find(
        field,
        optx.Newton(rtol=rtol, atol=atol),
        _pack(Q0, R0, v_fixed, train),
        args=params,
        max_steps=max_steps,
        throw=False,
    )
    Q, R, v = _unpack(solution.value, K, M, v_fixed, train)
    fixed = OrderParameters(Q=Q, R=R, T=params.T, v=v, A=params.A)
    return SteadyState(
        order_parameters=fixed,
        eg=generalisation_error(fixed, params.activation, params.teacher_activation),
        converged=solution.result == optx.RESULTS.successful,
        residual=jnp.max(jnp.abs(field(solution.value, params))),
    )
