"""Fixed points of the iid order-parameter ODEs by root finding (optimistix), e.g. the asymptotic
error of online SGD with output noise (Goldt et al., NeurIPS 2019; THEORY.md Sec. 3)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx

from ..data.iid import IIDGaussian
from ..order_parameters import OrderParameters, generalisation_error
from ..problem import Problem
from .iid import OrderParameterState, RunArgs, iid_vector_field

__all__ = ["SteadyState", "steady_state"]


class SteadyState(eqx.Module):
    """Fixed points, one per hyperparameter run `(H, ...)`: their order parameters, their
    generalisation error, whether the root finder converged, and the size of the vector field
    there."""

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
    problem: Problem,
    start: OrderParameters,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 256,
) -> SteadyState:
    """The fixed point of the iid ODEs (`problem.data` an `IIDGaussian`) nearest `start`, for
    every hyperparameter run: Newton's method on the vector field, `Q` symmetric by
    construction, `v` held fixed unless the second layer trains.

    Start it from the end of a long ODE solution, or from a guess such as `Q = R = T` (the
    specialised fixed point of a matched student).

    Example:
    ```python
    problem = jaxgem.Problem(jaxgem.IIDGaussian(N=1000), jaxgem.GaussianInit(2, "erf"),
                             jaxgem.GaussianInit(2, "erf"), lr=0.05, noise=0.1)
    start = jaxgem.OrderParameters(Q=jnp.eye(2), R=jnp.eye(2), T=jnp.eye(2), v=jnp.ones(2),
                                   A=jnp.ones(2))
    jaxgem.ode.steady_state(problem, start).eg    # (H,) = (1,)
    ```
    """
    if not isinstance(problem.data, IIDGaussian):
        raise ValueError(
            "steady_state solves the iid ODEs; the problem's data are "
            f"{type(problem.data).__name__}"
        )
    if problem.spherical:
        raise ValueError("steady_state solves plain SGD's ODEs; for spherical SGD use theory()")
    dtype = jnp.asarray(start.Q).dtype
    g, gt = problem.activations
    hyper = problem.hyperparameters.astype(dtype)
    runs = RunArgs(
        T=jnp.asarray(start.T),
        A=jnp.asarray(start.A),
        hyper=hyper,
        activation=g,
        teacher_activation=gt,
        output_scale=problem.output_scale,
        train_second_layer=problem.train_second_layer,
    )
    single = jnp.finfo(dtype).bits <= 32
    rtol = (1e-5 if single else 1e-10) if rtol is None else float(rtol)
    atol = (1e-7 if single else 1e-12) if atol is None else float(atol)
    start = (jnp.asarray(start.Q), jnp.asarray(start.R), jnp.asarray(start.v))
    return _newton(start, runs, rtol, atol, max_steps)


@eqx.filter_jit
def _newton(start, runs: RunArgs, rtol, atol, max_steps) -> SteadyState:
    """Newton's method on the packed vector field, every hyperparameter run at once."""
    Q0, R0, v_fixed = start
    K, M = R0.shape
    train = runs.train_second_layer

    def field(x, args):
        Q, R, v = _unpack(x, K, M, v_fixed, train)
        d = iid_vector_field(0.0, OrderParameterState(Q, R, v), (args, None))
        return _pack(d.Q, d.R, d.v, train)

    def one(hyper):
        args = eqx.tree_at(lambda r: r.hyper, runs, hyper)
        solution = optx.root_find(
            field,
            optx.Newton(rtol=rtol, atol=atol),
            _pack(Q0, R0, v_fixed, train),
            args=args,
            max_steps=max_steps,
            throw=False,
        )
        Q, R, v = _unpack(solution.value, K, M, v_fixed, train)
        fixed = OrderParameters(Q=Q, R=R, T=runs.T, v=v, A=runs.A)
        return SteadyState(
            order_parameters=fixed,
            eg=generalisation_error(fixed, runs.activation, runs.teacher_activation),
            converged=solution.result == optx.RESULTS.successful,
            residual=jnp.max(jnp.abs(field(solution.value, args))),
        )

    return jax.vmap(one)(runs.hyper)
