"""Solving the spectral ODEs (THEORY.md Sec. 5) from a data model and the actual initial networks,
over seeds and hyperparameters in one compiled call."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..activations import Activation, get_activation
from ..data.base import DataModel
from ..networks import TwoLayerNetwork
from .solve import (
    SOLVERS,
    TRACE_COUNTS,
    ODESolution,
    check_hyperparameters,
    check_times,
    error_along,
    integrate,
)
from .spectral import (
    SpectralParameters,
    SpectralState,
    Spectrum,
    coarse_grain,
    initial_densities,
    overlaps,
    spectral_vector_field,
    spectrum_of,
)

__all__ = ["solve_spectral", "solve_spectral_arrays", "solve_densities"]


@eqx.filter_jit
def _solve_batch(y0, t_tilde, T, A, hyper, spectrum, times, activations, train, options):
    TRACE_COUNTS["solve_spectral"] += 1
    g, gt = activations
    solver, dt, rtol, atol, max_steps = options

    def one(y0, t_tilde, T, A, lr, lr_v, noise, decay):
        params = SpectralParameters(
            spectrum.rho,
            spectrum.weights,
            t_tilde,
            T,
            A,
            lr,
            lr_v,
            noise,
            decay,
            g,
            gt,
            spectrum.delta,
            train,
        )
        ys, success = integrate(
            spectral_vector_field, y0, params, times, solver, dt, rtol, atol, max_steps
        )
        Q, R = jax.vmap(overlaps, in_axes=(0, 0, None, None, None))(
            ys.q, ys.r, spectrum.rho, spectrum.weights, spectrum.delta
        )
        return Q, R, ys.v, error_along(Q, R, ys.v, T, A, g, gt, success)

    return jax.vmap(one)(y0, t_tilde, T, A, *hyper)


def solve_densities(
    y0: SpectralState, t_tilde, T, A, hyper, spectrum: Spectrum, times, activations, train, options
) -> ODESolution:
    """The spectral ODEs for a flat batch of runs given their initial densities: `y0` and
    `t_tilde (B, P, M, M)`, `T (B, M, M)`, `A (B, M)`, `hyper = (lr, lr_v, noise, decay)` each
    `(B,)`, on the nodes of `spectrum` (one compiled, vmapped call; the eigenvectors are
    dropped so they are never traced). Returns an `ODESolution` with batch axis `(B,)`."""
    Q, R, v, eg = _solve_batch(
        y0,
        t_tilde,
        T,
        A,
        hyper,
        Spectrum(spectrum.rho, spectrum.weights, None, spectrum.delta),
        times,
        activations,
        train,
        options,
    )
    return ODESolution(t=times, Q=Q, R=R, v=v, T=T, A=A, eg=eg)


def solve_spectral_arrays(
    data_model: DataModel,
    w,
    v,
    B,
    A,
    times,
    *,
    activation: Activation | str,
    teacher_activation: Activation | str | None = None,
    lr,
    lr_v=None,
    noise=0.0,
    weight_decay=0.0,
    train_second_layer: bool = False,
    output_scale: float = 1.0,
    n_bins: int | None = None,
    spectrum: Spectrum | None = None,
    solver: str = "adaptive",
    dt: float = 0.01,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    max_steps: int = 1_000_000,
) -> ODESolution:
    """`solve_spectral` on arrays: student weights `w (S, K, N)` and effective readouts
    `v (S, K)`, teacher weights `B (S, M, D)` and readouts `A (S, M)`; hyperparameters of shape
    `(H,)` or scalars. Returns an `ODESolution` with batch axes `(H, S)`."""
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    g = get_activation(activation)
    gt = g if teacher_activation is None else get_activation(teacher_activation)
    w, v, B, A = (jnp.asarray(a) for a in (w, v, B, A))
    if w.shape[-1] != data_model.input_dim or B.shape[-1] != data_model.latent_dim:
        raise ValueError(
            f"weights read ({w.shape[-1]}, {B.shape[-1]}) dimensions but the data model has "
            f"N={data_model.input_dim}, D={data_model.latent_dim}"
        )
    dtype = w.dtype
    times = check_times(times, dtype)
    spectrum = spectrum_of(data_model) if spectrum is None else spectrum
    densities = jax.vmap(initial_densities, in_axes=(None, None, 0, 0))(spectrum, data_model, w, B)
    if n_bins is not None:
        spectrum, *densities = jax.vmap(
            coarse_grain, in_axes=(None, 0, 0, 0, None), out_axes=(None, 0, 0, 0)
        )(spectrum, *densities, n_bins)
    q, r, t_tilde = densities
    lr_v = lr if lr_v is None else lr_v
    hyper = check_hyperparameters(lr, lr_v, noise, weight_decay, dtype, output_scale)
    hyper = [jnp.atleast_1d(h) for h in hyper]
    H = int(np.broadcast_shapes(*(h.shape for h in hyper))[0])
    S = w.shape[0]
    per_run = lambda a: jnp.broadcast_to(a, (H,) + a.shape).reshape((H * S,) + a.shape[1:])  # noqa: E731
    per_hyper = lambda h: jnp.repeat(jnp.broadcast_to(h, (H,)), S)  # noqa: E731
    y0 = SpectralState(q=per_run(q), r=per_run(r), v=per_run(v))
    T = B @ jnp.swapaxes(B, 1, 2) / B.shape[-1]
    flat = solve_densities(
        y0,
        per_run(t_tilde),
        per_run(T),
        per_run(A),
        tuple(per_hyper(h) for h in hyper),
        spectrum,
        times,
        (g, gt),
        train_second_layer,
        (solver, dt, rtol, atol, max_steps),
    )
    shape = lambda a: a.reshape((H, S) + a.shape[1:])  # noqa: E731
    return ODESolution(
        t=times,
        Q=shape(flat.Q),
        R=shape(flat.R),
        v=shape(flat.v),
        T=jnp.broadcast_to(T, (H,) + T.shape),
        A=jnp.broadcast_to(A, (H,) + A.shape),
        eg=shape(flat.eg),
    )


def solve_spectral(
    data_model: DataModel,
    teacher: TwoLayerNetwork,
    student: TwoLayerNetwork,
    times,
    **kwargs,
) -> ODESolution:
    """The spectral ODE prediction (THEORY.md Sec. 5) for a student reading `x` and a teacher
    reading `c` of `data_model`, from the networks' actual weights.

    **Arguments:**

    - `data_model`: any data model with `covariances()`; `delta = D / N` is taken from it.
    - `teacher`, `student`: `TwoLayerNetwork`s, optionally with a leading seed axis.
    - `times`: increasing times; the first is the initial time.
    - `lr`, `lr_v`, `noise`, `weight_decay`, `train_second_layer`, `solver`, ...: as in
      `jaxgem.ode.solve`.
    - `n_bins`: coarse-grain the spectrum into this many bins of equal count (faster for large N;
      exact when the eigenvalues in a bin coincide).
    - `spectrum`: a precomputed `spectrum_of(data_model)`, to reuse the eigendecomposition.

    **Returns:** an `ODESolution` with batch axes `(H, S)` (hyperparameters, seeds).

    Example:
    ```python
    hmm = jaxgem.HiddenManifold.random(jax.random.key(0), 1000, 500, "sign")
    teacher = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(1), 2, 500)
    student = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(2), 2, 1000, std=0.1)
    sol = jaxgem.ode.solve_spectral(hmm, teacher, student, jnp.linspace(0, 50, 51), lr=0.2)
    ```
    """
    batched = student.w.ndim == 3
    add = (lambda a: a) if batched else (lambda a: a[None])
    return solve_spectral_arrays(
        data_model,
        add(student.w),
        add(student.readout),
        add(teacher.w),
        add(teacher.readout),
        times,
        activation=student.activation,
        teacher_activation=teacher.activation,
        output_scale=student.output_scale,
        **kwargs,
    )
