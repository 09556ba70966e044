"""Designing a learning-rate schedule by gradient through the ODE theory: the parameters of a
schedule family (or a free-form piecewise-constant schedule on a time grid) that minimise the
predicted generalisation error at a final time (THEORY.md Sec. 3, 5; the schedules of
`jaxgem.schedules`).
"""

from __future__ import annotations

import dataclasses
import time

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ..ode import theory
from ..problem import Problem
from .parameters import check_free, with_parameters

__all__ = ["design_schedule", "ScheduleDesign"]


@dataclasses.dataclass(frozen=True)
class ScheduleDesign:
    """A designed schedule: `values` of the free parameters (name -> array), `eg_final` the
    theory's error at `t_final` with them (mean over the starts), `problem` the problem with
    them set, `converged`, `steps` (BFGS iterations) and `seconds`."""

    values: dict[str, np.ndarray]
    eg_final: float
    t_final: float
    problem: Problem
    converged: bool
    steps: int
    seconds: float

    def summary(self) -> list[str]:
        """The design in a few lines, for a terminal."""
        lines = [f"{name} = {np.round(value, 5).tolist()}" for name, value in self.values.items()]
        status = "converged" if self.converged else "did NOT converge"
        lines.append(
            f"eg(t = {self.t_final:g}) = {self.eg_final:.6g}; {status} in {self.steps} steps "
            f"({self.seconds:.1f} s)"
        )
        return lines


def design_schedule(
    problem: Problem,
    t_final: float,
    free: dict,
    *,
    start=None,
    key: jax.Array | None = None,
    seeds: int = 1,
    max_steps: int = 100,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    **theory_options,
) -> ScheduleDesign:
    """The values of the `free` parameters of `problem`'s schedule (and learning rates) that
    minimise the ODE theory's `eg` at `t_final`, by BFGS (optimistix) on their logarithms with
    forward-mode gradients through the ODE solve.

    **Arguments:**

    - `problem`: a problem of one hyperparameter run whose schedule is the family to design
      (`Constant` for the best constant rate, `PowerLaw`, `Piecewise` for a free-form schedule
      on its time grid).
    - `free`: `{name: initial value}` among `lr`, `lr_v`, `noise`, `weight_decay` and the
      schedule's parameters, e.g. `{"lr": 0.5, "schedule.tau": 1.0}`; a vector for a vector
      parameter (`"schedule.factors"` of `Piecewise`). All positive.
    - `start`, `key`, `seeds`, `theory_options`: as in `jaxgem.theory` (the objective is the
      mean over the starts of `log eg(t_final)`).
    - `max_steps`, `rtol`, `atol`: BFGS's budget and tolerances.

    The optimum is local: start from a sensible value (e.g. the best rate of a grid, one
    vmapped `theory` call). Returns a `ScheduleDesign`.

    Example:
    ```python
    family = problem.replace(hyperparameters=jaxgem.Hyperparameters(
        lr=0.5, noise=0.5, schedule=jaxgem.PowerLaw(tau=1.0, beta=1.0)))
    design = jaxgem.design_schedule(family, 50.0, {"lr": 0.5, "schedule.tau": 1.0},
                                    key=jax.random.key(0))
    design.eg_final, design.values
    ```
    """
    started = time.perf_counter()
    if not float(t_final) > 0:
        raise ValueError(f"t_final must be positive, got {t_final!r}")
    initial = _check_vectors(problem, free)
    names = tuple(initial)
    dtype = problem.hyperparameters.lr.dtype
    times = jnp.asarray([0.0, float(t_final)], dtype)
    shapes = [np.shape(initial[n]) for n in names]
    sizes = [int(np.prod(s)) for s in shapes]
    # few parameters: forward-mode derivatives (diffrax.ForwardMode) compile faster and run
    # faster than reverse mode through the solve
    options = dict(theory_options, start=start, key=key, seeds=seeds)
    options.setdefault("adjoint", diffrax.ForwardMode())

    def unpack(u):
        parts = jnp.split(jnp.exp(u), np.cumsum(sizes)[:-1])
        return {n: p.reshape(s) for n, p, s in zip(names, parts, shapes)}

    def objective(u, args):
        del args
        solution = theory(with_parameters(problem, unpack(u)), times, **options)
        return jnp.mean(jnp.log(solution.eg[0][..., -1]))

    u0 = jnp.log(jnp.concatenate([jnp.ravel(jnp.asarray(initial[n], dtype)) for n in names]))
    solver = optx.BFGS(rtol=rtol, atol=atol)
    solution = optx.minimise(
        objective, solver, u0, max_steps=max_steps, throw=False,
        options=dict(autodiff_mode="fwd"),
    )  # fmt: skip
    u = solution.value
    values = {n: np.asarray(v, np.float64) for n, v in unpack(u).items()}
    designed = with_parameters(problem, unpack(u))
    eg = theory(designed, times, **options).eg[0][..., -1]
    return ScheduleDesign(
        values=values,
        eg_final=float(jnp.mean(eg)),
        t_final=float(t_final),
        problem=designed,
        converged=bool(solution.result == optx.RESULTS.successful),
        steps=int(solution.stats["num_steps"]),
        seconds=time.perf_counter() - started,
    )


def _check_vectors(problem: Problem, free) -> dict:
    """`free` checked as `check_free` does, vectors allowed (each entry positive, finite)."""
    if not isinstance(free, dict):
        raise ValueError(f"free must be a non-empty dict name -> initial value, got {free!r}")
    out = {}
    for name, value in free.items():
        try:
            out[name] = np.asarray(value, np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"free[{name!r}] must be a number or numbers, got {value!r}") from None
    # names, the run count, and the smallest entry of each (positive, finite)
    check_free(problem, {n: float(a.min()) if a.size else -1.0 for n, a in out.items()})
    for name, array in out.items():
        if not np.all(np.isfinite(array)):
            raise ValueError(f"free[{name!r}] must be finite, got {free[name]!r}")
    return out
