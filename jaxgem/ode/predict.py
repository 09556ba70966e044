"""`theory`: the order-parameter ODE prediction of a problem or of a simulation, one entry point
for every data model, chosen by the data model's type (THEORY.md Sec. 3, 5):

- `IIDGaussian` -> the Saad–Solla ODEs of the order parameters `(Q, R, v)`;
- any other `DataModel` (hidden manifold, generator data, Gaussian equivalent, dataset) -> the
  spectral ODEs over the eigenvalues of its `Omega`, started from the actual weights;
- `HiddenManifoldLimit` -> the spectral ODEs as `N, D -> infinity` on Marchenko–Pastur nodes,
  started from order parameters.

The start is a trajectory's initial networks (`theory(trajectory)`: each run from its own
weights, at its record times), the networks a problem draws (`key=`, `seeds=`, exactly as
`simulate` draws them), or given order parameters (`start=`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..checks import is_traced, require, shown
from ..data.base import DataModel
from ..data.iid import IIDGaussian
from ..data.manifold_limit import HiddenManifoldLimit
from ..data.spectrum import Spectrum
from ..networks import TwoLayerNetwork
from ..order_parameters import OrderParameters, generalisation_error
from ..problem import Problem
from ..results import Trajectory
from ..sweep.layout import RunLayout, grid_layout
from .iid import OrderParameterState, RunArgs, iid_vector_field
from .integrate import Integration, solve_runs
from .manifold_limit import limit_densities
from .solution import ODESolution
from .spectral import SpectralRunArgs, SpectralState, coarse_grain, overlaps, spectral_vector_field

__all__ = ["theory", "InitialNetworks"]


class InitialNetworks(eqx.Module):
    """Where runs start: student weights `w (S, K, N)` and effective readouts `v (S, K)`, teacher
    weights `B (S, M, D)` and effective readouts `A (S, M)`."""

    w: Array
    v: Array
    B: Array
    A: Array

    @classmethod
    def of(cls, teachers: TwoLayerNetwork, students: TwoLayerNetwork) -> InitialNetworks:
        return cls(students.w, students.readout, teachers.w, teachers.readout)


def theory(
    source: Problem | Trajectory,
    times=None,
    *,
    start: OrderParameters | None = None,
    key: jax.Array | None = None,
    seeds: int | Sequence[int] = 1,
    second_order: bool = True,
    spectrum: Spectrum | None = None,
    n_bins: int | None = None,
    solver: diffrax.AbstractSolver | None = None,
    stepsize_controller: diffrax.AbstractStepSizeController | None = None,
    adjoint: diffrax.AbstractAdjoint | None = None,
    dt0: float | None = None,
    max_steps: int | None = None,
    divergence_threshold: float | None = None,
    layout: RunLayout | None = None,
    chunk: int | None = None,
) -> ODESolution:
    """The ODE theory of online SGD for `source`, one solution per hyperparameter run and start.

    **Arguments:**

    - `source`: a `Problem`, or a `Trajectory` (its problem, its record times and every seed's
      initial weights: nothing else to pass).
    - `times`: increasing times to report at, the first being the start (default for a
      trajectory: its record times).
    - `start`: initial `OrderParameters` (optionally with leading batch axes), for iid inputs
      and the `N, D -> infinity` limit. Otherwise the problem draws its networks from `key` for
      `seeds` as `simulate(problem, key, seeds=seeds)` does (no key is needed if the teacher and
      student are fixed networks).
    - `second_order`: keep the `eta^2` (variance) terms; `False` is the gradient flow of the
      classical regime (THEORY.md Sec. 6).
    - `spectrum`: a precomputed `data.spectrum()` to reuse an eigendecomposition (spectral
      ODEs); `n_bins`: coarse-grain it into this many bins of equal count (exact when the
      eigenvalues in a bin coincide).
    - `solver`, `stepsize_controller`, `adjoint`, `dt0`, `max_steps`: diffrax's choices, each
      defaulting to `Integration`'s (`Tsit5()`, `PIDController(rtol=1e-6, atol=1e-8)`,
      `RecursiveCheckpointAdjoint()`, `0.01`, and a step budget of 128 steps per unit of time,
      at least 4096, or exactly the steps to the last time for fixed steps); e.g. fixed-step
      Euler with `solver=diffrax.Euler(), stepsize_controller=diffrax.ConstantStepSize(), dt0=0.01`.
    - `divergence_threshold`: a run whose order parameters exceed it in magnitude stops at once
      (default `1e6`), so a diverging run costs the others nothing.
    - `layout`: a `RunLayout` to deal the runs out over devices (default: this process's
      devices, `RunLayout.over(jax.local_devices())`; the same numbers on any layout, to float
      rounding).
    - `chunk`: solve this many runs at a time, grouped by learning rate, instead of all in
      lockstep with the stiffest (see `solve_runs`; `benchmarks/scale_out.py` measures it).

    **Returns:** an `ODESolution` with batch axes `(H, *start)`: hyperparameter runs first, then
    the seeds (or the batch axes of `start`); `status` says per run whether its solve finished,
    diverged or failed (`solution.report()`), and `eg` is NaN from where a solve stopped.

    Example:
    ```python
    traj = jaxgem.simulate(problem, jax.random.key(0), t_max=20, seeds=4)
    jaxgem.theory(traj).eg.mean(axis=1)          # beside traj.mean("eg")
    start = jaxgem.OrderParameters(Q=0.01 * jnp.eye(2), R=jnp.zeros((2, 2)), T=jnp.eye(2),
                                   v=jnp.ones(2), A=jnp.ones(2))
    jaxgem.theory(problem, jnp.linspace(0, 100, 101), start=start).eg   # (H, 101)
    ```
    """
    if isinstance(source, Trajectory):
        if start is not None or key is not None:
            raise ValueError("a trajectory starts from its own weights: give no start= or key=")
        problem = source.problem
        if problem is None:
            raise ValueError(
                "this trajectory carries no problem (it could not be restored from its file)"
            )
        times = source.t[: source.completed] if times is None else times
        if problem.is_limit:  # a finite simulation explained by the N, D -> infinity theory
            initial = source.initial_order_parameters()
        else:
            initial = InitialNetworks(
                jnp.asarray(source.w0),
                jnp.asarray(source.v[0, :, 0]),
                jnp.asarray(source.B0),
                jnp.asarray(source.A),
            )
    elif isinstance(source, Problem):
        problem = source
        if times is None:
            raise ValueError("theory(problem, times): give the times to report at")
        if start is not None:
            if key is not None:
                raise ValueError("give start= or key=, not both")
            if not isinstance(start, OrderParameters):
                raise TypeError(f"start must be OrderParameters, got {type(start).__name__}")
            initial = start
        else:
            fixed = all(isinstance(n, TwoLayerNetwork) for n in (problem.teacher, problem.student))
            if key is None and not fixed:
                raise ValueError(
                    "theory(problem) starts from the networks the problem draws, as simulate "
                    "does: pass key= (and seeds=), or start=OrderParameters(...)"
                )
            key = jax.random.key(0) if key is None else key
            initial = InitialNetworks.of(*problem.networks(key, seeds))
    else:
        raise TypeError(f"theory needs a Problem or a Trajectory, got {type(source).__name__}")
    dtype = (initial.Q if isinstance(initial, OrderParameters) else initial.w).dtype
    times = _check_times(times, dtype)
    choices = dict(
        solver=solver,
        stepsize_controller=stepsize_controller,
        adjoint=adjoint,
        dt0=dt0,
        max_steps=max_steps,
        divergence_threshold=divergence_threshold,
    )
    integration = Integration(**{k: v for k, v in choices.items() if v is not None})
    integration = integration.for_times(times)
    layout = grid_layout(layout, times, problem, initial)
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"chunk must be a positive integer or None, got {chunk!r}")
    options = dict(
        second_order=second_order, spectrum=spectrum, n_bins=n_bins, layout=layout, chunk=chunk
    )
    return _theory(problem.data, problem, initial, times, integration, options)


# ------------------------------------------------------------------------------ by data type
@functools.singledispatch
def _theory(data, problem, initial, times, integration, options) -> ODESolution:
    raise TypeError(f"no ODE theory for data of type {type(data).__name__}")


@_theory.register
def _iid(data: IIDGaussian, problem, initial, times, integration, options):
    """Saad–Solla: the order parameters themselves evolve."""
    _no_spectrum(options, "iid inputs")
    if isinstance(initial, InitialNetworks):
        op = jax.vmap(data.overlaps)(initial.w, initial.v, initial.B, initial.A)
    else:
        op = initial
    batch, flat = _flatten(op)
    H = problem.hyperparameters.size
    runs = _runs(problem, flat.T, flat.A, options["second_order"])
    y0 = _spread(H, OrderParameterState(Q=flat.Q, R=flat.R, v=flat.v))
    solved = solve_runs(
        iid_vector_field, _observe_iid, y0, runs, None, times, integration, **_grid(options, runs)
    )
    return _solution(batch, times, runs, *solved)


@_theory.register
def _spectral(data: DataModel, problem, initial, times, integration, options):
    """Spectral ODEs over the eigen-directions of `Omega`, from the actual weights."""
    _no_sphere(problem, type(data).__name__)
    if not isinstance(initial, InitialNetworks):
        raise ValueError(
            f"the spectral theory of {type(data).__name__} starts from the networks' weights "
            "(their projections on every eigenvector), not from order parameters: give key= "
            "or a trajectory; order parameters suffice for iid inputs and HiddenManifoldLimit"
        )
    spectrum = options["spectrum"] or data.spectrum()
    w, v, B, A = initial.w, initial.v, initial.B, initial.A
    Gw = w @ spectrum.eigenvectors  # (S, K, P): w . psi / sqrt N with psi = sqrt N U[:, tau]
    Gb = jax.vmap(data.teacher_projections, in_axes=(None, 0))(spectrum, B)  # (S, M, P)
    q = jnp.einsum("skp,slp->spkl", Gw, Gw)
    r = jnp.einsum("skp,snp->spkn", Gw, Gb)
    t_tilde = jnp.einsum("snp,smp->spnm", Gb, Gb)
    spectrum = spectrum.without_eigenvectors()
    if options["n_bins"] is not None:
        spectrum, q, r, t_tilde = jax.vmap(
            coarse_grain, in_axes=(None, 0, 0, 0, None), out_axes=(None, 0, 0, 0)
        )(spectrum, q, r, t_tilde, options["n_bins"])
    T = jax.vmap(data.latent_overlap)(B, B)
    densities = SpectralState(q=q, r=r, v=v), t_tilde
    return _solve_spectral(problem, spectrum, densities, T, A, times, integration, options)


@_theory.register
def _limit(data: HiddenManifoldLimit, problem, initial, times, integration, options):
    """Spectral ODEs on Marchenko–Pastur nodes, from order parameters."""
    _no_sphere(problem, "the N, D -> infinity limit")
    _no_spectrum(options, "the N, D -> infinity limit (its nodes are data.n_nodes)")
    if not isinstance(initial, OrderParameters):
        raise ValueError(
            "the N, D -> infinity limit starts from order parameters: give "
            "start=OrderParameters(...) (e.g. trajectory.initial_order_parameters())"
        )
    batch, flat = _flatten(initial)
    q, r, t_tilde = limit_densities(data, flat)
    densities = SpectralState(q=q, r=r, v=flat.v), t_tilde
    spectrum = data.spectrum(flat.Q.dtype)
    return _solve_spectral(
        problem, spectrum, densities, flat.T, flat.A, times, integration, options, batch
    )


# ------------------------------------------------------------------------------ shared pieces
def _no_sphere(problem, what):
    if problem.spherical:
        raise ValueError(f"spherical SGD has an ODE theory on iid inputs only, not {what}")


def _no_spectrum(options, what):
    if options["spectrum"] is not None or options["n_bins"] is not None:
        raise ValueError(f"spectrum= and n_bins= are for the spectral ODEs, not {what}")


def _check_times(times, dtype) -> Array:
    """At least two strictly increasing finite times (checked when they run, if traced)."""
    message = (
        "times must be a 1-d list of at least two finite, strictly increasing times, got "
        f"{shown(times)}"
    )
    if not is_traced(times):
        times = np.asarray(times, np.float64)
        if times.ndim != 1 or times.shape[0] < 2:
            raise ValueError(message)
    times = jnp.asarray(times, dtype)
    if times.ndim != 1 or times.shape[0] < 2:
        raise ValueError(message)
    return require(times, jnp.all(jnp.isfinite(times)) & jnp.all(jnp.diff(times) > 0), message)


_TAILS = dict(Q=2, R=2, T=2, v=1, A=1)


def _flatten(op: OrderParameters) -> tuple[tuple, OrderParameters]:
    """Broadcast the batch axes of the fields together and flatten them: `(batch, (B, ...))`."""
    batch = np.broadcast_shapes(*(getattr(op, k).shape[:-n] for k, n in _TAILS.items()))
    flat = {
        k: jnp.broadcast_to(getattr(op, k), batch + getattr(op, k).shape[-n:]).reshape(
            (-1,) + getattr(op, k).shape[-n:]
        )
        for k, n in _TAILS.items()
    }
    return tuple(batch), OrderParameters(**flat)


def _grid(options, runs: RunArgs) -> dict:
    """How `solve_runs` lays out the runs: devices, chunks, and the learning rate as cost."""
    return dict(layout=options["layout"], chunk=options["chunk"], cost=runs.hyper.lr)


def _spread(H: int, tree):
    """Arrays with a leading start axis `(B, ...)` repeated for every hyperparameter run:
    `(H * B, ...)`, the start fastest."""
    return jax.tree.map(
        lambda a: jnp.broadcast_to(a[None], (H,) + a.shape).reshape((-1,) + a.shape[1:]), tree
    )


def _runs(problem: Problem, T, A, second_order: bool) -> RunArgs:
    """Every (hyperparameter run, start) pair of starts with teachers `T (B, M, M)`,
    `A (B, M)` as one run axis of `H * B` (start fastest)."""
    B = A.shape[0]
    H = problem.hyperparameters.size
    hyper = problem.hyperparameters.astype(T.dtype)
    g, gt = problem.activations
    return RunArgs(
        T=_spread(H, T),
        A=_spread(H, A),
        hyper=jax.tree.map(lambda h: jnp.repeat(h, B, axis=0), hyper),
        activation=g,
        teacher_activation=gt,
        output_scale=problem.output_scale,
        train_second_layer=problem.train_second_layer,
        second_order=second_order,
        spherical=problem.spherical,
    )


def _observe_iid(ys, runs, shared, status):
    del shared
    return ys.Q, ys.R, ys.v, _error_along(ys.Q, ys.R, ys.v, runs), status


def _observe_spectral(ys, args, spectrum, status):
    Q, R = jax.vmap(overlaps, in_axes=(0, 0, None))(ys.q, ys.r, spectrum)
    return Q, R, ys.v, _error_along(Q, R, ys.v, args.run), status


def _error_along(Q, R, v, runs: RunArgs) -> Array:
    """`eg` at every saved time (NaN from where a solve stopped)."""
    n = Q.shape[0]
    op = OrderParameters(
        Q=Q,
        R=R,
        T=jnp.broadcast_to(runs.T, (n,) + runs.T.shape),
        v=v,
        A=jnp.broadcast_to(runs.A, (n,) + runs.A.shape),
    )
    eg = generalisation_error(op, runs.activation, runs.teacher_activation)
    finite = jnp.all(jnp.isfinite(Q), axis=(-2, -1)) & jnp.all(jnp.isfinite(v), axis=-1)
    return jnp.where(finite & jnp.isfinite(eg), eg, jnp.nan)


def _solve_spectral(problem, spectrum, densities, T, A, times, integration, options, batch=None):
    """The spectral ODEs for starts with a leading axis `(S, ...)`: initial densities and
    readouts (`SpectralState`) and the teacher's density `t~`, teacher overlaps `T`, `A`; every
    hyperparameter run; the starts' axis unflattened to `batch` (default `(S,)`)."""
    y0, t_tilde = densities
    H = problem.hyperparameters.size
    runs = _runs(problem, T, A, options["second_order"])
    args = SpectralRunArgs(run=runs, t_tilde=_spread(H, t_tilde))
    solved = solve_runs(
        spectral_vector_field,
        _observe_spectral,
        _spread(H, y0),
        args,
        spectrum,
        times,
        integration,
        **_grid(options, runs),
    )
    batch = (A.shape[0],) if batch is None else batch
    return _solution(batch, times, runs, *solved)


def _solution(batch, times, runs: RunArgs, Q, R, v, eg, status) -> ODESolution:
    """Unflatten the run axis into `(H, *batch)`."""
    H = runs.hyper.lr.shape[0] // max(int(np.prod(batch, dtype=int)), 1)
    shape = lambda a: a.reshape((H,) + tuple(batch) + a.shape[1:])  # noqa: E731
    return ODESolution(
        t=times,
        Q=shape(Q),
        R=shape(R),
        v=shape(v),
        T=shape(runs.T),
        A=shape(runs.A),
        eg=shape(eg),
        status=shape(status),
    )
