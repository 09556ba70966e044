"""The theory of a simulation: the ODE prediction of every run of a `Trajectory`, started from
that run's own recorded initial order parameters (so theory and simulation start from the same
point) and reported at the simulation's record times."""

from __future__ import annotations

import jax.numpy as jnp

from ..activations import Activation, get_activation
from ..data.base import DataModel
from ..order_parameters import OrderParameters
from ..results import Trajectory
from .solve import ODESolution, solve
from .spectral_solve import solve_spectral_arrays

__all__ = ["theory_for"]


def theory_for(
    trajectory: Trajectory,
    activation: Activation | str | None = None,
    teacher_activation: Activation | str | None = None,
    *,
    data_model: DataModel | None = None,
    **solver_options,
) -> ODESolution:
    """The ODE solution for every run `(h, s)` of `trajectory`: the iid ODEs (THEORY.md Sec. 3)
    for `IIDGaussian` inputs, the spectral ODEs (Sec. 5) for any other data model.

    **Arguments:**

    - `trajectory`: a simulation.
    - `data_model`: the data model it ran on; needed for generator inputs (the spectrum of its
      `Omega`, its `Phi` and `delta`), optional for iid inputs.
    - `activation`, `teacher_activation`: default to the ones the simulation recorded (pass them
      for `Custom` activations).
    - `solver_options`: forwarded to `jaxgem.ode.solve` or `solve_spectral` (`solver`, `rtol`,
      `n_bins`, `spectrum`, ...).

    **Returns:** an `ODESolution` with batch axes `(H, S)`; `solution.eg` has the shape of
    `trajectory.eg`.

    Example: `jaxgem.ode.theory_for(traj).eg.mean(axis=1)` beside `traj.mean("eg")`.
    """
    meta = trajectory.metadata
    g = get_activation(activation or meta["student_activation"])
    gt = get_activation(teacher_activation or meta["teacher_activation"])
    times = jnp.asarray(trajectory.t[: trajectory.completed])
    hyper = {
        k: jnp.asarray(trajectory.hyperparameters[k])
        for k in ("lr", "lr_v", "noise", "weight_decay")
    }
    if meta.get("data_model") != "IIDGaussian":
        if data_model is None:
            raise ValueError(
                f"this trajectory ran on {meta.get('data_model')!r}: pass data_model= for the "
                "spectral ODEs (THEORY.md Sec. 5)"
            )
        if trajectory.w0 is None:
            raise ValueError("this trajectory has no initial weights (w0, B0) to start from")
        return solve_spectral_arrays(
            data_model,
            trajectory.w0,
            trajectory.v[0, :, 0],
            trajectory.B0,
            trajectory.A,
            times,
            activation=g,
            teacher_activation=gt,
            train_second_layer=meta["train_second_layer"],
            output_scale=meta.get("output_scale", 1.0),
            **hyper,
            **solver_options,
        )
    H, S = trajectory.eg.shape[:2]
    initial = OrderParameters(
        Q=trajectory.Q[:, :, 0],
        R=trajectory.R[:, :, 0],
        v=trajectory.v[:, :, 0],
        T=jnp.broadcast_to(trajectory.T, (H,) + trajectory.T.shape),
        A=jnp.broadcast_to(trajectory.A, (H,) + trajectory.A.shape),
    )
    return solve(
        initial,
        times,
        activation=g,
        teacher_activation=gt,
        train_second_layer=meta["train_second_layer"],
        output_scale=meta.get("output_scale", 1.0),
        **{k: h[:, None] for k, h in hyper.items()},
        **solver_options,
    )
