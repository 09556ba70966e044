"""Fitting the ODE theory to a measured learning curve by gradient: Levenberg–Marquardt
(optimistix) on the standardised residuals, through the forward-mode differentiable ODE solve
(diffrax), with uncertainties from the curvature (Laplace) or, for a simulation, from its seeds.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from ..io import save_csv, save_json
from ..ode import theory
from ..problem import Problem
from ..provenance import run_metadata
from ..results import Trajectory
from .curve import Curve
from .least_squares import laplace, levenberg_marquardt
from .parameters import check_free, with_parameters

__all__ = ["fit", "FitResult"]


@dataclasses.dataclass(frozen=True)
class FitResult:
    """A fit's outcome.

    Fields: `names`; `values`, `stderr (P,)` and `covariance (P, P)` of the fitted parameters;
    `data` (the `Curve`); `fitted (R,)` the theory at the data's times; `chi2`, `dof` and
    `chi2_per_dof` (about 1 for a good fit with honest error bars); `converged`, `steps`;
    `uncertainty`: `"seeds"` (a sandwich estimate over the independent `seeds` of a
    simulation: their correlations in time included; `interval()` uses Student-t quantiles),
    `"laplace"` (the curvature of the likelihood with the given standard errors) or
    `"laplace, scaled"` (no standard errors:
    scaled by the scatter, `chi2 / dof`); `seconds`; `columns`, the names of the curve's axes
    in the files (`("t", "eg")`, or `("alpha", "test_error")` for a replica fit).
    """

    names: tuple[str, ...]
    values: np.ndarray
    stderr: np.ndarray
    covariance: np.ndarray
    data: Curve
    fitted: np.ndarray
    chi2: float
    dof: int
    converged: bool
    steps: int
    uncertainty: str
    seconds: float
    columns: tuple[str, str] = ("t", "eg")
    seeds: int = 0

    def interval(self, name: str, level: float = 0.95) -> tuple[float, float]:
        """A confidence interval of a fitted parameter: value ± quantile x stderr, with the
        Student-t quantile of `seeds - 1` degrees of freedom for an uncertainty from the seeds
        (the sandwich is estimated from them: 2.36 at 8 seeds for 95 %), else the normal one.
        Measured (scripts/fit_coverage.py, 80 fits of lr and noise at 8 seeds): 85 % and 88 %
        of the truths within 2 stderr, as the t-distribution of 7 degrees of freedom expects
        (91 %); the t interval is the one with the stated coverage."""
        from scipy import stats

        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        tail = (1 + level) / 2
        quantile = stats.t.ppf(tail, self.seeds - 1) if self.seeds > 2 else stats.norm.ppf(tail)
        value, error = self[name]
        return value - quantile * error, value + quantile * error

    @property
    def chi2_per_dof(self) -> float:
        return self.chi2 / max(self.dof, 1)

    def __getitem__(self, name: str) -> tuple[float, float]:
        """`(value, stderr)` of a fitted parameter."""
        i = self.names.index(name)
        return float(self.values[i]), float(self.stderr[i])

    def save(self, folder) -> list[Path]:
        """`fit.json` (values, errors, covariance, chi2, status, versions), `fit.csv`
        (`t, eg, eg_sem, fitted`, or the replica fit's `alpha, test_error, ...`) and
        `fit.png` (data against fit) in `folder`."""
        from ..app.plotting import plot_fit

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        record = dict(
            parameters={n: dict(value=v, stderr=e) for n, v, e in zip(*self._rows())},
            covariance=self.covariance.tolist(),
            chi2=self.chi2,
            dof=self.dof,
            chi2_per_dof=self.chi2_per_dof,
            converged=self.converged,
            steps=self.steps,
            uncertainty=self.uncertainty,
            seconds=self.seconds,
            **run_metadata(),
        )
        sem = self.data.sem if self.data.sem is not None else np.full_like(self.data.eg, np.nan)
        x, y = self.columns
        rows = [
            {x: t, y: e, f"{y}_sem": s, "fitted": f}
            for t, e, s, f in zip(self.data.t, self.data.eg, sem, self.fitted)
        ]
        title = ", ".join(f"{n} = {v:.4g} ± {e:.2g}" for n, v, e in zip(*self._rows()))
        return [
            save_json(folder / "fit.json", record),
            save_csv(folder / "fit.csv", rows),
            plot_fit(
                self.data.t,
                self.data.eg,
                self.data.sem,
                self.fitted,
                folder / "fit.png",
                title=title,
                **({} if self.columns == ("t", "eg") else dict(labels=self.columns)),
            ),
        ]

    @classmethod
    def of_logarithms(
        cls, names, found, covariance_u, uncertainty, data, fitted, dof, started, **extra
    ) -> FitResult:
        """The result of a fit of logarithms `u = log x` (`found`, a `LeastSquares`, and the
        covariance of `u`): values and covariance carried back by the delta method."""
        values = np.exp(np.asarray(found.u, np.float64))
        covariance = covariance_u * np.outer(values, values)
        return cls(
            names=names,
            values=values,
            stderr=np.sqrt(np.diag(covariance)),
            covariance=covariance,
            data=data,
            fitted=fitted,
            chi2=found.chi2,
            dof=dof,
            converged=found.converged,
            steps=found.steps,
            uncertainty=uncertainty,
            seconds=time.perf_counter() - started,
            **extra,
        )

    def _rows(self):
        return self.names, self.values.tolist(), self.stderr.tolist()

    def summary(self) -> list[str]:
        """The fit in a few lines, for a terminal."""
        rows = zip(self.names, self.values, self.stderr)
        lines = [f"{name} = {value:.6g} ± {error:.2g}" for name, value, error in rows]
        status = "converged" if self.converged else "did NOT converge"
        lines.append(
            f"chi2 / dof = {self.chi2:.4g} / {self.dof} = {self.chi2_per_dof:.3g}; {status} in "
            f"{self.steps} steps ({self.seconds:.1f} s); uncertainty: {self.uncertainty}"
        )
        return lines


def _curve_and_source(model, data):
    if isinstance(model, Trajectory):
        if model.problem is None:
            raise ValueError("this trajectory carries no problem to fit")
        return model.problem, (Curve.of(model) if data is None else data), data is None
    if isinstance(model, Problem):
        if data is None:
            raise ValueError("fit(problem, data, free): give the measured curve as data")
        return model, data, False
    raise TypeError(f"fit needs a Trajectory or a Problem, got {type(model).__name__}")


def fit(
    model: Trajectory | Problem,
    data: Curve | Trajectory | str | None = None,
    free: dict | None = None,
    *,
    start=None,
    key: jax.Array | None = None,
    seeds: int = 1,
    max_steps: int = 100,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    **theory_options,
) -> FitResult:
    """The values of the `free` parameters of `model` whose ODE theory best explains `data`.

    **Arguments:**

    - `model`: a `Trajectory` (its problem, started from each seed's own weights, the theory
      averaged over the seeds) or a `Problem` (started from `start=` order parameters or from
      the networks drawn with `key=`, `seeds=`, as `jaxgem.theory` does).
    - `data`: a `Curve`, a `Trajectory` (its first run) or the path of a CSV with columns
      `t, eg[, eg_sem]`; default for a trajectory model: the trajectory itself.
    - `free`: `{name: initial value}` among `lr`, `lr_v`, `noise`, `weight_decay` and the
      schedule's parameters (`schedule.tau`, `schedule.beta`), and `delta` of a
      `HiddenManifoldLimit` (a finite simulation explained by the `N, D -> infinity` theory,
      from its seeds' initial overlaps); all positive, fitted as logarithms.
    - `max_steps`, `rtol`, `atol`: Levenberg–Marquardt's budget and tolerances (on the
      logarithms of the parameters and on the loss; 1e-4 relative is far below the
      statistical errors of any measured curve, and above float32 rounding).
    - `theory_options`: passed to `jaxgem.theory` (`spectrum=`, `stepsize_controller=`, ...).

    The loss is the Gaussian likelihood of the data with their standard errors (least squares
    when there are none). Returns a `FitResult`; `converged` says whether the optimiser met
    its tolerances within `max_steps` (a fit that does not converge says so, it does not
    raise).

    Example:
    ```python
    traj = jaxgem.simulate(problem, jax.random.key(0), t_max=20, seeds=8)
    result = jaxgem.fit(traj, free={"lr": 0.5, "noise": 0.1})
    result["lr"]                    # (value, standard error)
    ```
    """
    started = time.perf_counter()
    problem, curve, aligned = _curve_and_source(model, data)
    if isinstance(curve, Trajectory):
        curve = Curve.of(curve)
    elif isinstance(curve, str) or hasattr(curve, "__fspath__"):
        curve = Curve.load_csv(curve)
    elif not isinstance(curve, Curve):
        raise TypeError(f"data must be a Curve, a Trajectory or a CSV path, got {curve!r}")
    initial = check_free(problem, free)
    names = tuple(initial)
    dtype = problem.hyperparameters.lr.dtype
    times = jnp.asarray(curve.t, dtype)
    target = jnp.asarray(curve.eg, dtype)
    scale = jnp.asarray(curve.scale(), dtype)
    options = dict(theory_options, adjoint=diffrax.ForwardMode())
    if isinstance(model, Trajectory):
        source = lambda p: dataclasses.replace(model, problem=p)  # noqa: E731
    else:
        source = lambda p: p  # noqa: E731
        options.update(start=start, key=key, seeds=seeds)

    def per_start(log_values):
        values = dict(zip(names, jnp.exp(log_values)))
        solution = theory(source(with_parameters(problem, values)), times, **options)
        return solution.eg[0].reshape(-1, times.shape[0])

    def outputs(log_values):
        starts = per_start(log_values)
        return (starts.mean(0) - target) / scale, starts

    u = jnp.log(jnp.asarray([initial[n] for n in names], dtype))
    found = levenberg_marquardt(outputs, u, max_steps=max_steps, rtol=rtol, atol=atol)
    u, J, curvature, starts = found.u, found.J, found.curvature, np.asarray(found.aux, np.float64)
    dof = int(times.shape[0] - len(names))
    if aligned and curve.seeds is not None and curve.seeds.shape[0] > 2:
        # sandwich over the independent seeds: each seed's deviation from its own theory
        deviations = (curve.seeds - starts) / np.asarray(scale)
        deviations -= deviations.mean(0)
        S = deviations.shape[0]
        scores = deviations @ np.asarray(J, np.float64)  # (S, P)
        middle = scores.T @ scores / (S * (S - 1))
        covariance_u, uncertainty = curvature @ middle @ curvature, "seeds"
        extra = dict(seeds=S)
    else:
        covariance_u, uncertainty = laplace(found, curve.sem is not None, dof)
        extra = {}
    fitted = starts.mean(0)
    return FitResult.of_logarithms(
        names, found, covariance_u, uncertainty, curve, fitted, dof, started, **extra
    )
