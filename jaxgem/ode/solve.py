"""Solving the order-parameter ODEs with diffrax, for one point or a whole grid at once."""

from __future__ import annotations

from collections import Counter

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..activations import Activation, get_activation
from ..order_parameters import OrderParameters, generalisation_error
from .iid import ODEParameters, OrderParameterState, iid_vector_field

__all__ = [
    "ODESolution",
    "solve",
    "SOLVERS",
    "TRACE_COUNTS",
    "integrate",
    "error_along",
    "check_hyperparameters",
    "check_times",
    "flatten_runs",
]

SOLVERS = ("adaptive", "euler")


class ODESolution(eqx.Module):
    """Order parameters and generalisation error at the requested times.

    Fields: `t (R,)`, `Q (*batch, R, K, K)`, `R (*batch, R, K, M)`, `v (*batch, R, K)`,
    `T (*batch, M, M)`, `A (*batch, M)`, `eg (*batch, R)`; `*batch` is the broadcast shape of the
    initial conditions and hyperparameters.
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


#: How often the compiled ODE solve has been traced (a test asserts sweeps do not retrace).
TRACE_COUNTS: Counter[str] = Counter()


def integrate(vector_field, y0, args, times, solver, dt, rtol, atol, max_steps):
    """diffrax: Tsit5 with a PID controller (`"adaptive"`) or fixed-step Euler (`"euler"`),
    saving at `times`; returns the saved states and whether the solve succeeded."""
    if solver == "euler":
        method, controller = diffrax.Euler(), diffrax.ConstantStepSize()
    else:
        method, controller = diffrax.Tsit5(), diffrax.PIDController(rtol=rtol, atol=atol)
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        method,
        t0=times[0],
        t1=times[-1],
        dt0=dt,
        y0=y0,
        args=args,
        saveat=diffrax.SaveAt(ts=times),
        stepsize_controller=controller,
        max_steps=max_steps,
        throw=False,
    )
    return solution.ys, solution.result == diffrax.RESULTS.successful


def error_along(Q, R, v, T, A, activation, teacher_activation, success):
    """`eg` at every saved time (NaN if the solver failed)."""
    n = Q.shape[0]
    op = OrderParameters(
        Q=Q, R=R, T=jnp.broadcast_to(T, (n,) + T.shape), v=v, A=jnp.broadcast_to(A, (n,) + A.shape)
    )
    return jnp.where(success, generalisation_error(op, activation, teacher_activation), jnp.nan)


def check_times(times, dtype):
    """`times` as a 1-d array of at least two strictly increasing times, or a clear error."""
    times = jnp.asarray(times, dtype)
    if times.ndim != 1 or times.shape[0] < 2:
        raise ValueError("times must be a 1-d array of at least two increasing times")
    if not bool(jnp.all(jnp.diff(times) > 0)):
        raise ValueError("times must be strictly increasing")
    return times


def check_hyperparameters(lr, lr_v, noise, weight_decay, dtype, output_scale=1.0):
    """`(lr, lr_v * output_scale^2, noise, weight_decay)` as arrays, refusing non-finite values
    and negative noise or weight decay (a clear error rather than a NaN curve)."""
    named = {"lr": lr, "lr_v": lr_v, "noise": noise, "weight_decay": weight_decay}
    hyper = []
    for name, value in named.items():
        array = jnp.asarray(value, dtype)
        if not bool(jnp.all(jnp.isfinite(array))):
            raise ValueError(f"{name} must be finite, got {value}")
        if name in ("noise", "weight_decay") and bool(jnp.any(array < 0)):
            raise ValueError(f"{name} must be non-negative, got {value}")
        hyper.append(array)
    hyper[1] = hyper[1] * output_scale**2
    return hyper


def flatten_runs(op: OrderParameters, hyper):
    """Broadcast the batch axes of `op` against the hyperparameter arrays and flatten them into
    one run axis: `(batch shape, flat OrderParameters, flat hyperparameters)`."""
    batch = np.broadcast_shapes(op.v.shape[:-1], *(h.shape for h in hyper))
    flat = int(np.prod(batch, dtype=int))

    def spread(a, tail):
        core = a.shape[a.ndim - tail :]
        return jnp.broadcast_to(a, batch + core).reshape((flat,) + core)

    flat_op = OrderParameters(
        Q=spread(op.Q, 2),
        R=spread(op.R, 2),
        T=spread(op.T, 2),
        v=spread(op.v, 1),
        A=spread(op.A, 1),
    )
    return batch, flat_op, tuple(spread(h, 0) for h in hyper)


def _solve_one(y0, times, params: ODEParameters, solver, dt, rtol, atol, max_steps):
    ys, success = integrate(iid_vector_field, y0, params, times, solver, dt, rtol, atol, max_steps)
    eg = error_along(
        ys.Q, ys.R, ys.v, params.T, params.A, params.activation, params.teacher_activation, success
    )
    return ys, eg


@eqx.filter_jit
def _solve_batch(y0, T, A, hyper, times, activations, flags, solver, dt, rtol, atol, max_steps):
    """One compiled, vmapped solve for a flat batch of initial conditions and hyperparameters."""
    TRACE_COUNTS["solve"] += 1
    g, gt = activations
    train_second_layer, second_order = flags

    def one(y0, T, A, lr, lr_v, noise, decay):
        params = ODEParameters(
            T, A, lr, lr_v, noise, decay, g, gt, train_second_layer, second_order
        )
        return _solve_one(y0, times, params, solver, dt, rtol, atol, max_steps)

    return jax.vmap(one)(y0, T, A, *hyper)


def solve(
    order_parameters: OrderParameters,
    times,
    *,
    activation: Activation | str,
    lr,
    lr_v=None,
    noise=0.0,
    weight_decay=0.0,
    train_second_layer: bool = False,
    teacher_activation: Activation | str | None = None,
    output_scale: float = 1.0,
    second_order: bool = True,
    solver: str = "adaptive",
    dt: float = 0.01,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    max_steps: int = 1_000_000,
) -> ODESolution:
    """Integrate the iid order-parameter ODEs (THEORY.md Sec. 3) from `order_parameters`.

    **Arguments:**

    - `order_parameters`: initial `(Q, R, T, v, A)`, optionally with leading batch axes (one ODE
      per entry, e.g. one per simulated seed).
    - `times`: increasing times at which to report; the first is the initial time.
    - `activation`, `teacher_activation`: student `g` and teacher `g~` (default: the same).
    - `lr`, `lr_v` (default `lr`), `noise`, `weight_decay`: numbers or arrays; arrays broadcast
      against the batch axes of `order_parameters` and are solved in one vmapped call.
    - `train_second_layer`: evolve `v` too.
    - `output_scale`: the student's output scale `s` (`1`, `1/K`, `1/sqrt K`); `v` in the order
      parameters is the effective readout `s v`, whose learning rate is `s^2 lr_v`.
    - `second_order`: keep the `lr^2` (variance) terms; `False` gives the classical gradient-flow
      regime (THEORY.md Sec. 6).
    - `solver`: `"adaptive"` (Tsit5 with a PID step-size controller, tolerances `rtol`, `atol`)
      or `"euler"` (fixed step `dt`, as the reference C++ codes do).

    **Returns:** an `ODESolution` with `.t`, `.Q`, `.R`, `.v`, `.eg` (NaN where the solver failed).

    Example:
    ```python
    op = jaxgem.OrderParameters(Q=0.01 * jnp.eye(2), R=jnp.zeros((2, 2)), T=jnp.eye(2),
                                v=jnp.ones(2), A=jnp.ones(2))
    sol = jaxgem.ode.solve(op, jnp.linspace(0, 100, 101), activation="erf", lr=[0.2, 0.5])
    sol.eg.shape  # (2, 101)
    ```
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    g = get_activation(activation)
    gt = g if teacher_activation is None else get_activation(teacher_activation)
    times = check_times(times, order_parameters.Q.dtype)
    dtype = order_parameters.Q.dtype
    lr_v = lr if lr_v is None else lr_v
    hyper = check_hyperparameters(lr, lr_v, noise, weight_decay, dtype, output_scale)
    batch, op, flat_hyper = flatten_runs(order_parameters, hyper)
    y0 = OrderParameterState(Q=op.Q, R=op.R, v=op.v)
    T, A = op.T, op.A
    ys, eg = _solve_batch(
        y0,
        T,
        A,
        flat_hyper,
        times,
        (g, gt),
        (train_second_layer, second_order),
        solver,
        dt,
        rtol,
        atol,
        max_steps,
    )
    unflat = lambda a: a.reshape(batch + a.shape[1:])  # noqa: E731
    return ODESolution(
        t=times,
        Q=unflat(ys.Q),
        R=unflat(ys.R),
        v=unflat(ys.v),
        T=T.reshape(batch + T.shape[1:]),
        A=A.reshape(batch + A.shape[1:]),
        eg=unflat(eg),
    )
