"""The theory of a simulation: the ODE prediction of every run of a `Trajectory`, started from
that run's own recorded initial order parameters (so theory and simulation start from the same
point) and reported at the simulation's record times."""

from __future__ import annotations

import jax.numpy as jnp

from ..activations import Activation, get_activation
from ..order_parameters import OrderParameters
from ..results import Trajectory
from .solve import ODESolution, solve

__all__ = ["theory_for"]


def theory_for(
    trajectory: Trajectory,
    activation: Activation | str | None = None,
    teacher_activation: Activation | str | None = None,
    **solver_options,
) -> ODESolution:
    """The iid ODE solution (THEORY.md Sec. 3) for every run `(h, s)` of `trajectory`.

    **Arguments:**

    - `trajectory`: a simulation on `IIDGaussian` inputs.
    - `activation`, `teacher_activation`: default to the ones the simulation recorded (pass them
      for `Custom` activations).
    - `solver_options`: forwarded to `jaxgem.ode.solve` (`solver`, `rtol`, ...).

    **Returns:** an `ODESolution` with batch axes `(H, S)`; `solution.eg` has the shape of
    `trajectory.eg`.

    Example: `jaxgem.ode.theory_for(traj).eg.mean(axis=1)` beside `traj.mean("eg")`.
    """
    meta = trajectory.metadata
    if meta.get("data_model") != "IIDGaussian":
        raise ValueError(
            f"theory_for covers iid inputs; this trajectory ran on {meta.get('data_model')!r} "
            "(the spectral ODEs for generator inputs are not implemented yet)"
        )
    g = get_activation(activation or meta["student_activation"])
    gt = get_activation(teacher_activation or meta["teacher_activation"])
    H, S = trajectory.eg.shape[:2]
    initial = OrderParameters(
        Q=trajectory.Q[:, :, 0],
        R=trajectory.R[:, :, 0],
        v=trajectory.v[:, :, 0],
        T=jnp.broadcast_to(trajectory.T, (H,) + trajectory.T.shape),
        A=jnp.broadcast_to(trajectory.A, (H,) + trajectory.A.shape),
    )
    hyper = {
        k: jnp.asarray(trajectory.hyperparameters[k])[:, None]
        for k in ("lr", "lr_v", "noise", "weight_decay")
    }
    return solve(
        initial,
        jnp.asarray(trajectory.t[: trajectory.completed]),
        activation=g,
        teacher_activation=gt,
        train_second_layer=meta["train_second_layer"],
        output_scale=meta.get("output_scale", 1.0),
        **hyper,
        **solver_options,
    )
