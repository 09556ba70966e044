"""The phase diagram of online SGD over the width scalings of a two-layer network.

A student of `K` units with output scale `K^-kappa` (readouts fixed at `v_k = K^-kappa`) learns a
teacher of `M` units (`A_m = 1/M`, THEORY.md Sec. 6) by online SGD at learning rate
`lr = lr0 K^-delta`, with label noise `sigma`, for a budget of `horizon` (time `t = steps / N`).
Per unit of `t` the overlaps move by a drift `~ lr s` and a variance term `~ lr^2 s^2` (THEORY.md
Sec. 3 with `v` absorbing the output scale `s = K^-kappa`), so the cells of the `(kappa, delta)`
plane fall into four regimes:

- `learns`: `eg` at the horizon below `learn_fraction` times the null error;
- `plateau`: not learnt, and the drift alone (the gradient flow) does not learn either: the drift
  is too slow for the budget, the symmetric plateau holds, or `s K < 1` cannot express the
  target;
- `noise-dominated`: the gradient flow learns within the budget, SGD does not: the variance term
  holds the student at a noise floor;
- `diverges`: an order parameter exceeds `divergence` (the weights blow up).

The null error is that of the zero predictor, `1/2 A^T I2(T) A`. The boundaries follow lines of
constant `lr s = lr0 K^-(delta + kappa)`, the drift rate, bent where the initial residual
`~ K^(1 - 2 kappa)` dominates the SGD noise (`kappa < 1/2`) and cut off where the student's
largest output `K^(1 - kappa)` is below the target's (`kappa > 1`).

`phase_diagram` solves the whole grid in one call (the learning rates as hyperparameter runs, the
output scales as a batch of starts, solved one after another inside one program since their
stiffness differs by orders of magnitude; the gradient flow of every cell as one solve per
`kappa`, since it depends on `lr` only through `lr t`); `confirm_phases` simulates
online SGD at one cell of each regime and classifies it with the same rule.

Veiga, Stephan, Loureiro, Krzakala, Zdeborová, "Phase diagram of stochastic gradient descent in
high-dimensional two-layer neural networks" (NeurIPS 2022); Loureiro, lecture notes 2023.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from .data.iid import IIDGaussian
from .hyperparameters import Hyperparameters
from .initialisers import GaussianInit
from .io import save_npz
from .order_parameters import OrderParameters, generalisation_error
from .problem import Problem

__all__ = [
    "LABELS",
    "PhaseCheck",
    "PhaseDiagram",
    "classify",
    "confirm_phases",
    "phase_diagram",
    "phase_problem",
]

#: Regime labels, in the order of their integer codes.
LABELS = ("learns", "plateau", "noise-dominated", "diverges")
LEARNS, PLATEAU, NOISE, DIVERGES = range(4)


def phase_problem(
    kappa: float,
    delta: float,
    *,
    K: int = 8,
    M: int = 2,
    lr0: float = 1.0,
    noise: float = 0.1,
    N: int = 1000,
    activation: str = "erf",
) -> Problem:
    """The online problem of one cell: iid inputs in `N` dimensions, teacher `M` units with
    readouts `1/M`, student `K` units with fixed readouts `K^-kappa`, `lr = lr0 K^-delta`."""
    if not lr0 > 0:
        raise ValueError(f"lr0 must be positive, got {lr0!r}")
    return Problem(
        IIDGaussian(N),
        teacher=GaussianInit(M, activation, readout=1.0 / M),
        student=GaussianInit(K, activation, readout=float(K) ** -float(kappa)),
        lr=lr0 * float(K) ** -float(delta),
        noise=noise,
    )


def classify(eg_final, diverged, eg_drift, eg_null: float, learn_fraction: float) -> np.ndarray:
    """Integer labels (`LABELS`) from the error at the horizon, whether the run diverged, and the
    error of the gradient flow (no variance term) at the same horizon."""
    threshold = learn_fraction * eg_null
    eg_final, eg_drift = np.asarray(eg_final), np.asarray(eg_drift)
    with np.errstate(invalid="ignore"):
        learned = eg_final <= threshold
        drift_learns = eg_drift <= threshold
    labels = np.where(drift_learns, NOISE, PLATEAU)
    labels = np.where(learned, LEARNS, labels)
    return np.where(np.asarray(diverged) | ~np.isfinite(eg_final), DIVERGES, labels)


class PhaseDiagram(NamedTuple):
    """The regimes of a `(kappa, delta)` grid (`phase_diagram`): `labels (D, C)` (rows `deltas`,
    columns `kappas`; codes into `LABELS`), the error at the horizon with SGD (`eg_final`) and by
    the gradient flow (`eg_drift`, solved only where needed: NaN for cells that diverged or
    learnt), the ODE curves `eg (D, C, R)` at `times`, and the settings."""

    kappas: np.ndarray
    deltas: np.ndarray
    labels: np.ndarray
    eg_final: np.ndarray
    eg_drift: np.ndarray
    times: np.ndarray
    eg: np.ndarray
    eg_null: float
    settings: dict

    @property
    def threshold(self) -> float:
        """The error below which a cell has learnt the target."""
        return self.settings["learn_fraction"] * self.eg_null

    def label_names(self) -> np.ndarray:
        return np.asarray(LABELS)[self.labels]

    def counts(self) -> dict:
        """How many cells fall in each regime."""
        return {name: int((self.labels == i).sum()) for i, name in enumerate(LABELS)}

    def cell(self, kappa: float, delta: float) -> tuple[int, int]:
        """The `(row, column)` of the grid point nearest to `(kappa, delta)`."""
        return int(np.argmin(abs(self.deltas - delta))), int(np.argmin(abs(self.kappas - kappa)))

    def rows(self) -> list[dict]:
        """One row per cell, for a CSV."""
        K, lr0 = self.settings["K"], self.settings["lr0"]
        return [
            dict(kappa=float(k), delta=float(d), lr=lr0 * K**-d, output_scale=K**-k,
                 regime=LABELS[self.labels[i, j]], eg_final=float(self.eg_final[i, j]),
                 eg_gradient_flow=float(self.eg_drift[i, j]))
            for i, d in enumerate(self.deltas) for j, k in enumerate(self.kappas)
        ]  # fmt: skip

    def representatives(self) -> dict[str, tuple[float, float]]:
        """For each regime present, the `(kappa, delta)` of its cell farthest (in grid steps)
        from every cell of another regime: the point a simulation should confirm."""
        rows, cols = np.indices(self.labels.shape)
        points = {}
        for code, name in enumerate(LABELS):
            mine = self.labels == code
            if not mine.any():
                continue
            others = np.argwhere(~mine)
            if len(others):
                gap = np.min(
                    np.hypot(rows[..., None] - others[:, 0], cols[..., None] - others[:, 1]), -1
                )
            else:
                gap = np.ones(self.labels.shape)
            i, j = np.unravel_index(np.argmax(np.where(mine, gap, -1.0)), gap.shape)
            points[name] = (float(self.kappas[j]), float(self.deltas[i]))
        return points

    def save(self, path) -> Path:
        settings = {f"setting_{k}": v for k, v in self.settings.items()}
        fields = {k: v for k, v in self._asdict().items() if k != "settings"}
        return save_npz(path, **fields, **settings)

    @classmethod
    def load(cls, path) -> PhaseDiagram:
        with np.load(path) as f:
            settings = {k[8:]: f[k].item() for k in f.files if k.startswith("setting_")}
            fields = {k: f[k] for k in cls._fields if k != "settings"}
        fields["eg_null"] = float(fields["eg_null"])
        return cls(**fields, settings=settings)


def phase_diagram(
    kappas: Sequence[float],
    deltas: Sequence[float],
    key: jax.Array,
    *,
    K: int = 8,
    M: int = 2,
    lr0: float = 1.0,
    noise: float = 0.1,
    horizon: float = 1000.0,
    N: int = 1000,
    learn_fraction: float = 0.02,
    divergence: float = 50.0,
    n_times: int = 41,
    rtol: float = 1e-4,
    activation: str = "erf",
) -> PhaseDiagram:
    """Classify every `(kappa, delta)` cell from the ODEs (module docstring).

    **Arguments:**

    - `kappas`, `deltas`: the exponents of the output scale `K^-kappa` and of the learning rate
      `lr0 K^-delta`.
    - `key`: draws the initial networks at dimension `N` (the same start for every cell, the
      start of seed 0 of `confirm_phases`), so the symmetric plateau breaks as at finite `N`.
    - `K`, `M`, `lr0`, `noise`: student and teacher widths, base learning rate, label noise.
    - `horizon`: the sample budget in `t = steps / N`.
    - `learn_fraction`: learnt when `eg` is below this fraction of the null error (the default
      0.02 lies below the symmetric plateau, about 0.045 of it).
    - `divergence`: diverged once an order parameter exceeds it (the solve stops there).
    - `rtol`: the step-size controller's relative tolerance (`atol = rtol / 100`).
    - `activation`: of teacher and student (a name `jaxgem.get_activation` knows).

    Example:
    ```python
    diagram = jaxgem.phases.phase_diagram(np.linspace(0, 1.5, 7), np.linspace(-1.5, 2, 8),
                                          jax.random.key(0))
    diagram.counts()        # {'learns': ..., 'plateau': ..., ...}
    ```
    """
    from .ode import theory

    kappas = np.asarray(kappas, float).ravel()
    deltas = np.asarray(deltas, float).ravel()
    _check_grid(kappas, deltas, horizon, learn_fraction, divergence, n_times)
    settings = dict(K=int(K), M=int(M), lr0=float(lr0), noise=float(noise),
                    horizon=float(horizon), N=int(N), learn_fraction=float(learn_fraction),
                    divergence=float(divergence), activation=str(activation))  # fmt: skip
    problem = phase_problem(0.0, 0.0, K=K, M=M, lr0=lr0, noise=noise, N=N, activation=activation)
    start = _starts(problem, key, kappas)
    lrs = lr0 * float(K) ** -deltas
    times = np.concatenate([[0.0], np.geomspace(horizon / 10 ** (n_times // 10), horizon, n_times)])
    controller = diffrax.PIDController(rtol=rtol, atol=rtol / 100)
    full = theory(
        problem.replace(hyperparameters=Hyperparameters(lr=lrs, noise=noise)),
        jnp.asarray(times), start=start, divergence_threshold=divergence,
        stepsize_controller=controller, chunk=1,
    )  # fmt: skip
    eg = np.asarray(full.eg)
    eg_final, diverged, null = eg[..., -1], np.asarray(full.status) != 0, _null(start, activation)
    # the gradient flow depends on lr only through lr t: one solve at lr = 1 per kappa, as far
    # as the cells that neither diverged nor learnt need it
    undecided = ~diverged & ~(eg_final <= learn_fraction * null)
    eg_drift = np.full(eg_final.shape, np.nan)  # (D, C): NaN where decided
    if undecided.any():
        tau = np.unique(lrs * horizon)
        tau = tau[: np.searchsorted(tau, (lrs[:, None] * horizon * undecided).max()) + 1]
        drift = theory(
            problem.replace(hyperparameters=Hyperparameters(lr=1.0, noise=noise)),
            jnp.asarray(np.concatenate([[0.0], tau])), start=start, second_order=False,
            stepsize_controller=controller, chunk=1,
        )  # fmt: skip
        drift_eg = np.asarray(drift.eg)[0, :, 1:]  # (C, tau)
        needed = np.minimum(np.searchsorted(tau, lrs * horizon), len(tau) - 1)
        eg_drift = np.where(undecided, drift_eg[:, needed].T, np.nan)
    labels = classify(eg_final, diverged, eg_drift, null, learn_fraction)
    return PhaseDiagram(kappas, deltas, labels, eg_final, eg_drift, times, eg, null, settings)


class PhaseCheck(NamedTuple):
    """One cell simulated (`confirm_phases`): the ODE's label, the simulation's (same rule), the
    simulated error at the horizon (mean and standard error over the seeds that did not
    diverge) beside the ODE's, and the fraction of seeds that diverged."""

    kappa: float
    delta: float
    ode_label: str
    simulated_label: str
    eg_simulated: float
    eg_error: float
    eg_ode: float
    diverged_fraction: float
    seeds: int

    @property
    def confirmed(self) -> bool:
        return self.ode_label == self.simulated_label


def confirm_phases(
    diagram: PhaseDiagram,
    key: jax.Array,
    *,
    points: dict | None = None,
    seeds: int = 4,
    N: int | None = None,
    n_records: int = 30,
    progress: bool = False,
) -> list[PhaseCheck]:
    """Simulate online SGD at one cell per regime (`diagram.representatives()`, or `points`:
    name -> `(kappa, delta)`) for the diagram's budget, with `seeds` seeds at dimension `N`
    (default the diagram's), and label each with the diagram's rule; the gradient-flow reference
    of a simulation is the ODE without the variance term from the simulation's own start. With
    the diagram's key and `N`, seed 0 starts where the diagram's ODEs start."""
    from .ode import theory
    from .online import simulate

    s = diagram.settings
    N = s["N"] if N is None else int(N)
    points = diagram.representatives() if points is None else points
    checks = []
    for name, (kappa, delta) in points.items():
        problem = phase_problem(kappa, delta, K=s["K"], M=s["M"], lr0=s["lr0"], noise=s["noise"],
                                N=N, activation=s["activation"])  # fmt: skip
        trajectory = simulate(
            problem, key, seeds=seeds, t_max=s["horizon"], n_records=n_records,
            progress=progress, description=f"{name}: kappa = {kappa:g}, delta = {delta:g}",
        )  # fmt: skip
        Q = np.asarray(trajectory.Q[0])  # (S, R, K, K)
        eg = np.asarray(trajectory.eg[0])  # (S, R)
        blown = ~np.isfinite(Q).all(axis=(1, 2, 3)) | (
            np.nanmax(abs(Q), axis=(1, 2, 3)) > s["divergence"]
        )
        blown |= ~np.isfinite(eg[:, -1])
        kept = eg[~blown, -1]
        mean = float(kept.mean()) if kept.size else np.nan
        error = float(kept.std(ddof=1) / np.sqrt(kept.size)) if kept.size > 1 else np.nan
        diverged = blown.mean() > 0.5
        drift = np.nan  # the gradient flow only splits plateau from noise
        if not diverged and not mean <= s["learn_fraction"] * diagram.eg_null:
            drift = np.nanmean(np.asarray(theory(trajectory, second_order=False).eg)[0, :, -1])
        label = classify(mean, diverged, drift, diagram.eg_null, s["learn_fraction"])
        i, j = diagram.cell(kappa, delta)
        checks.append(PhaseCheck(
            float(kappa), float(delta), LABELS[diagram.labels[i, j]], LABELS[int(label)], mean,
            error, float(diagram.eg_final[i, j]), float(blown.mean()), int(seeds),
        ))  # fmt: skip
    return checks


# ------------------------------------------------------------------------------------ helpers
def _check_grid(kappas, deltas, horizon, learn_fraction, divergence, n_times) -> None:
    for name, values in (("kappas", kappas), ("deltas", deltas)):
        if values.size == 0 or not np.isfinite(values).all():
            raise ValueError(f"{name} must be a non-empty list of finite numbers, got {values}")
    if not horizon > 0:
        raise ValueError(f"horizon must be a positive time t = steps / N, got {horizon!r}")
    if not 0 < learn_fraction < 1:
        raise ValueError(f"learn_fraction must lie in (0, 1), got {learn_fraction!r}")
    if not divergence > 1:
        raise ValueError(f"divergence must exceed 1 (the order parameters start near 1), got "
                         f"{divergence!r}")  # fmt: skip
    if n_times < 2:
        raise ValueError(f"n_times must be at least 2, got {n_times!r}")


def _starts(problem: Problem, key: jax.Array, kappas: np.ndarray) -> OrderParameters:
    """The order parameters of the networks `problem` draws for seed 0, with the readouts
    `K^-kappa` of every column: a batch of starts `(C,)`."""
    teachers, students = problem.networks(key, 1)
    first = problem.data.overlaps(students.w[0], students.readout[0], teachers.w[0],
                                  teachers.readout[0])  # fmt: skip
    K, C = first.v.shape[-1], len(kappas)
    one = lambda a: jnp.broadcast_to(a, (C,) + a.shape)  # noqa: E731
    v = jnp.asarray(float(K) ** -kappas, first.Q.dtype)[:, None] * jnp.ones(K, first.Q.dtype)
    return OrderParameters(Q=one(first.Q), R=one(first.R), T=one(first.T), v=v, A=one(first.A))


def _null(start: OrderParameters, activation: str) -> float:
    """The error of the zero predictor, `1/2 A^T I2(T) A`."""
    first = OrderParameters(Q=start.Q[0], R=start.R[0], T=start.T[0],
                            v=jnp.zeros_like(start.v[0]), A=start.A[0])  # fmt: skip
    return float(generalisation_error(first, activation))
