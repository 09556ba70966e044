"""Escape from the equator: how long online SGD takes to find a single-index target of
information exponent `k`, against the dimension `d`, in simulation and in the ODE theory.

A teacher `y = h_k(nu)` (`h_k = He_k / sqrt(k!)`, `jaxgem.Hermite`) and a student of the same
activation, trained by spherical online SGD (`Problem(spherical=True)`: `|w|^2 = d`, so the only
order parameter that moves is the cosine `m = R / sqrt(Q T)`), start near the equator at
`m0 = c / sqrt d`, where a uniformly random start lies. Near the equator the drift of `m` is
`~ lr k m^(k-1)` while the SGD noise pulls it back at a rate `~ lr^2`, so for `k >= 3` the
learning rate must shrink like `d^-(k-2)/2` (`escape_lr`) and then

| `k`  | escape time `t = steps / d` | samples `n = t d` |
|------|-----------------------------|-------------------|
| 1    | `O(1)`                      | `d`               |
| 2    | `O(log d)`                  | `d log d`         |
| >= 3 | `d^(k-2)`                   | `d^(k-1)`         |

(Ben Arous, Gheissari, Jagannath, "Online stochastic gradient descent on non-convex losses from
high-dimensional inference", JMLR 2021; Loureiro, lecture notes 2023, THEORY.md Sec. 6). The
deterministic ODE (THEORY.md Sec. 3 on the sphere) started from `m0` gives the escape time of
its typical run; simulations scatter around it because the SGD noise moves `m` by about `m0`
itself before the escape.

`escape_run(k, d, key)` runs both in one dimension; `escape_study(k, dims, key)` in several, and
fits the log-log slope of the median
escape time against `d` (with a bootstrap error over seeds) beside the ODE's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .data.iid import IIDGaussian
from .hermite import MAX_DEGREE, Hermite
from .initialisers import SphereInit
from .io import save_npz
from .order_parameters import OrderParameters
from .problem import Problem

__all__ = [
    "DEFAULT_LR0",
    "EscapeRun",
    "EscapeStudy",
    "alignment",
    "escape_lr",
    "escape_problem",
    "escape_run",
    "escape_study",
    "escape_times",
    "loglog_slope",
    "theory_exponent",
]

#: Default `lr0` of `escape_lr` per information exponent, chosen so that the SGD noise stays a
#: small fraction of the drift at the start `m0 = 2 / sqrt d` (about a sixth for k = 3) and
#: nearly every seed escapes within twice the ODE's time (benchmarks/escape.py).
DEFAULT_LR0 = {1: 0.5, 2: 0.1, 3: 0.02, 4: 0.004}


#: Times of an ODE solution: the escape time to a 1/1000 of the horizon.
_ODE_POINTS = 1001


def escape_lr(k: int, d: int, lr0: float | None = None) -> float:
    """The learning rate `lr0 d^-(k-2)/2` (`lr0` for `k <= 2`) that keeps the SGD noise a fixed
    fraction of the drift near the equator (module docstring)."""
    lr0 = DEFAULT_LR0.get(k, DEFAULT_LR0[4]) if lr0 is None else float(lr0)
    return lr0 * float(d) ** (-max(k - 2, 0) / 2)


def theory_exponent(k: int) -> float:
    """The exponent of `d` in the escape time `t = steps / d` as `d -> infinity` (0 for `k = 1`
    and for the logarithm of `k = 2`)."""
    return float(max(k - 2, 0))


def escape_problem(
    k: int, d: int, *, lr0: float | None = None, overlap_scale: float = 2.0, K: int = 1
) -> Problem:
    """Spherical online SGD of a student `h_k` on a single-index teacher `h_k` in dimension `d`,
    starting at cosine `overlap_scale / sqrt d` (a `K > 1` student: unit 0 there, the others
    uniform on the sphere)."""
    activation = Hermite.single(int(k), normalised=True)
    overlap = overlap_scale / math.sqrt(d)
    return Problem(
        IIDGaussian(N=int(d)),
        teacher=SphereInit(1, activation),
        student=SphereInit(K, activation, overlap=overlap),
        lr=escape_lr(k, d, lr0),
        spherical=True,
    )


def alignment(R, Q, T) -> np.ndarray:
    """`max_k |R_k0| / sqrt(Q_kk T_00)`: the best cosine of a student unit with the (first)
    teacher unit, over leading axes."""
    R, Q, T = np.asarray(R), np.asarray(Q), np.asarray(T)
    q = np.diagonal(Q, axis1=-2, axis2=-1)
    t = T[..., :1, 0]
    with np.errstate(invalid="ignore"):  # NaN where an ODE solve stopped
        return np.max(np.abs(R[..., 0]) / np.sqrt(q * t), axis=-1)


def escape_times(times, cosine, threshold: float = 0.5) -> np.ndarray:
    """The first time `cosine` (`(..., R)` over record `times`) reaches `threshold`, linearly
    interpolated between records; NaN where it never does."""
    times, cosine = np.asarray(times, float), np.asarray(cosine, float)
    above = cosine >= threshold
    first = np.argmax(above, axis=-1)
    reached = above.any(axis=-1)
    before = np.maximum(first - 1, 0)
    c0 = np.take_along_axis(cosine, before[..., None], -1)[..., 0]
    c1 = np.take_along_axis(cosine, first[..., None], -1)[..., 0]
    t0, t1 = times[before], times[first]
    fraction = np.where(c1 > c0, (threshold - c0) / np.where(c1 > c0, c1 - c0, 1.0), 1.0)
    crossing = np.where(first > 0, t0 + np.clip(fraction, 0.0, 1.0) * (t1 - t0), t1)
    return np.where(reached, crossing, np.nan)


def _median(values: np.ndarray) -> float:
    """The median of escape times, runs that never escaped counting as later than all."""
    return float(np.median(np.where(np.isnan(values), np.inf, values)))


def loglog_slope(
    dims: Sequence[int], samples: np.ndarray, *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Least-squares slope of `log(median escape time)` on `log d` and its bootstrap standard
    error over the seeds of each `d` (`samples`: `(len(dims), S)`, NaN for a run that never
    escaped, counted as latest)."""
    x = np.log(np.asarray(dims, float))
    medians = np.array([_median(row) for row in samples])
    if not np.all(np.isfinite(medians)):
        return math.nan, math.nan
    slope = np.polyfit(x, np.log(medians), 1)[0]
    rng = np.random.default_rng(seed)
    slopes = []
    for _ in range(resamples):
        picks = [row[rng.integers(0, len(row), len(row))] for row in samples]
        boot = np.array([_median(row) for row in picks])
        if np.all(np.isfinite(boot)):
            slopes.append(np.polyfit(x, np.log(boot), 1)[0])
    return float(slope), float(np.std(slopes)) if len(slopes) > 1 else math.nan


class EscapeRun(NamedTuple):
    """Spherical online SGD on `h_k` in one dimension `d` (`escape_run`).

    - `simulated (S,)`: every seed's escape time (`t = steps / d`; NaN if it never escaped by
      the last record), `ode` the ODE's from `m0`.
    - `times (R,)`, `cosine (S, R)`, `ode_cosine (R,)`: the trajectories of the cosine.
    """

    k: int
    d: int
    lr: float
    threshold: float
    simulated: np.ndarray
    ode: float
    times: np.ndarray
    cosine: np.ndarray
    ode_cosine: np.ndarray

    def median(self) -> float:
        """The median escape time over seeds (a seed that never escaped counts as latest)."""
        return _median(self.simulated)

    def save(self, path) -> Path:
        """Write the run to an `.npz` file (atomically)."""
        return save_npz(path, **{name: np.asarray(value) for name, value in self._asdict().items()})

    @classmethod
    def load(cls, path) -> EscapeRun:
        with np.load(path) as data:
            values = {name: data[name] for name in cls._fields}
        for name in ("k", "d"):
            values[name] = int(values[name])
        for name in ("lr", "threshold", "ode"):
            values[name] = float(values[name])
        return cls(**values)


def escape_run(
    k: int,
    d: int,
    key: jax.Array,
    *,
    seeds: int = 16,
    lr0: float | None = None,
    overlap_scale: float = 2.0,
    threshold: float = 0.5,
    horizon: float = 2.0,
    n_records: int = 200,
    K: int = 1,
    progress: bool = False,
) -> EscapeRun:
    """Escape times in dimension `d` (module docstring): the ODE from `m0 = overlap_scale /
    sqrt d` first, then `seeds` simulations to `horizon` times its escape time, recorded at
    `n_records` linearly spaced times."""
    from .online import simulate

    _check_exponent(k)
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be a cosine in (0, 1), got {threshold!r}")
    problem = escape_problem(k, int(d), lr0=lr0, overlap_scale=overlap_scale, K=K)
    lr = float(problem.hyperparameters.lr[0])
    m0 = overlap_scale / math.sqrt(d)
    guess = 1.0 / (lr * k * m0 ** (k - 2)) if k >= 3 else 10.0 / lr
    t_ode = _ode_escape(problem, threshold, guess)
    t_max = horizon * (t_ode if math.isfinite(t_ode) else guess)
    trajectory = simulate(
        problem, key, seeds=seeds, t_max=t_max, n_records=n_records, spacing="linear",
        progress=progress, description=f"k = {k}, d = {d}",
    )  # fmt: skip
    T = np.einsum("snd,smd->snm", trajectory.B0, trajectory.B0) / d
    cosine = alignment(trajectory.R[0], trajectory.Q[0], T[:, None])
    times = np.asarray(trajectory.t)
    fine = np.linspace(0.0, max(float(times[-1]), 1e-9), _ODE_POINTS)  # one shape: one compile
    ode = jax.tree.map(np.asarray, _solve(problem, jnp.asarray(fine), _start(problem)))
    ode_cosine = np.interp(times, fine, alignment(ode.R[0], ode.Q[0], ode.T[0]))
    return EscapeRun(
        k=int(k), d=int(d), lr=lr, threshold=float(threshold),
        simulated=escape_times(times, cosine, threshold), ode=t_ode, times=times,
        cosine=cosine, ode_cosine=ode_cosine,
    )  # fmt: skip


class EscapeStudy(NamedTuple):
    """Escape times of one information exponent `k` over dimensions (`escape_study`).

    - `runs`: an `EscapeRun` per dimension, in increasing `d`.
    - `slope`, `slope_error`: the log-log slope of the simulated median escape time against
      `d` and its bootstrap error; `ode_slope` the ODE's over the same dimensions; `exponent`
      the `d -> infinity` one (`theory_exponent`).
    """

    k: int
    runs: tuple[EscapeRun, ...]
    slope: float
    slope_error: float
    ode_slope: float
    exponent: float

    @classmethod
    def of(cls, runs: Sequence[EscapeRun]) -> EscapeStudy:
        """The study of runs of one `k` at two or more dimensions."""
        runs = tuple(sorted(runs, key=lambda run: run.d))
        ks = {run.k for run in runs}
        if len(ks) != 1 or len(runs) < 2:
            raise ValueError("a study needs runs of one k at two or more dimensions")
        dims = np.array([run.d for run in runs])
        seeds = min(run.simulated.size for run in runs)
        slope, error = loglog_slope(dims, np.stack([run.simulated[:seeds] for run in runs]))
        ode = np.array([run.ode for run in runs])
        ode_slope = float(np.polyfit(np.log(dims), np.log(ode), 1)[0])
        (k,) = ks
        return cls(k, runs, slope, error, ode_slope, theory_exponent(k))

    @property
    def dims(self) -> np.ndarray:
        return np.array([run.d for run in self.runs])

    def rows(self) -> list[dict]:
        """One row per `d`: the escape times in `t` and in samples `t d` (median, quartiles and
        the 10 % and 90 % quantiles over seeds), and the ODE's."""
        rows = []
        for run in self.runs:
            late = np.where(np.isnan(run.simulated), np.inf, run.simulated)
            q10, q25, median, q75, q90 = np.quantile(
                late, [0.1, 0.25, 0.5, 0.75, 0.9], method="inverted_cdf"
            )
            rows.append(dict(
                k=run.k, d=run.d, lr=run.lr, seeds=run.simulated.size,
                escaped=int(np.isfinite(run.simulated).sum()), t_median=median, t_q10=q10,
                t_q25=q25, t_q75=q75, t_q90=q90, t_ode=run.ode, samples_median=median * run.d,
                samples_ode=run.ode * run.d,
            ))  # fmt: skip
        return rows

    def summary(self) -> dict:
        return dict(k=self.k, dims=self.dims.tolist(), slope=self.slope,
                    slope_error=self.slope_error, ode_slope=self.ode_slope,
                    exponent=self.exponent)  # fmt: skip


def escape_study(k: int, dims: Sequence[int], key: jax.Array, **options) -> EscapeStudy:
    """`escape_run` at every dimension of `dims` (key `fold_in(key, d)`), and the log-log
    slopes of the escape time (`EscapeStudy`); `options` go to `escape_run`.

    Example:
    ```python
    study = jaxgem.escape.escape_study(3, [100, 200, 400], jax.random.key(0), seeds=16)
    study.slope, study.slope_error, study.ode_slope    # about 1 = k - 2
    ```
    """
    dims = np.asarray(dims)
    if dims.ndim != 1 or dims.size < 2 or np.any(dims < 4) or np.any(np.diff(dims) <= 0):
        raise ValueError(f"dims must be two or more increasing dimensions >= 4, got {dims}")
    runs = [escape_run(k, int(d), jax.random.fold_in(key, int(d)), **options) for d in dims]
    return EscapeStudy.of(runs)


def _check_exponent(k) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_DEGREE:
        raise ValueError(f"k must be an information exponent in 1..{MAX_DEGREE}, got {k!r}")


def _start(problem: Problem) -> OrderParameters:
    K = problem.student.K
    return OrderParameters(
        Q=jnp.eye(K), R=jnp.zeros((K, 1)).at[0, 0].set(problem.student.overlap), T=jnp.eye(1),
        v=jnp.ones(K), A=jnp.ones(1),
    )  # fmt: skip


def _solve(problem, times, start):
    from .ode import theory

    return theory(problem, times, start=start, max_steps=2**20)


def _ode_escape(problem: Problem, threshold: float, t_guess: float) -> float:
    """The ODE's escape time from `m0`, doubling the horizon until it escapes (NaN if it never
    does within `2^11 t_guess`)."""
    start, horizon = _start(problem), t_guess
    for _ in range(12):
        times = jnp.linspace(0.0, horizon, _ODE_POINTS)
        solution = jax.tree.map(np.asarray, _solve(problem, times, start))
        cosine = alignment(solution.R[0], solution.Q[0], solution.T[0])
        t = float(escape_times(times, cosine, threshold))
        if math.isfinite(t):
            return t
        horizon *= 2
    return math.nan
