"""A measured learning curve to fit: times, errors, their standard errors and, when it comes from
a jaxgem simulation, every seed's curve (for error bars that respect the seeds' correlations)."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

from ..results import Trajectory

__all__ = ["Curve"]


@dataclasses.dataclass(frozen=True)
class Curve:
    """`t (R,)` strictly increasing and non-negative, `eg (R,)` finite; `sem (R,)` positive
    standard errors or `None` (then the fit weighs every point alike and scales its
    uncertainties by the scatter); `seeds (S, R)` the independent runs whose mean `eg` is, or
    `None`."""

    t: np.ndarray
    eg: np.ndarray
    sem: np.ndarray | None = None
    seeds: np.ndarray | None = None

    def __post_init__(self):
        t, eg = np.asarray(self.t, np.float64), np.asarray(self.eg, np.float64)
        if t.ndim != 1 or t.size < 2 or eg.shape != t.shape:
            raise ValueError(
                f"a curve needs t and eg of one equal length of at least 2, got shapes "
                f"{t.shape} and {eg.shape}"
            )
        if not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(np.diff(t) <= 0):
            raise ValueError("a curve's t must be finite, non-negative and strictly increasing")
        if not np.all(np.isfinite(eg)):
            bad = int(np.flatnonzero(~np.isfinite(eg))[0])
            raise ValueError(f"a curve's eg must be finite, got {eg[bad]} at t = {t[bad]:g}")
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "eg", eg)
        if self.sem is not None:
            sem = np.asarray(self.sem, np.float64)
            if sem.shape != t.shape or not np.all(np.isfinite(sem)) or np.any(sem <= 0):
                raise ValueError("a curve's sem must be positive and finite at every t")
            object.__setattr__(self, "sem", sem)

    def scale(self) -> np.ndarray:
        """What the residuals are divided by: the standard errors, at least 1/1000 of the
        largest (a point known almost exactly, such as a start every seed shares, must not
        dominate a fit through rounding); ones when there are none (least squares)."""
        if self.sem is None:
            return np.ones_like(self.eg)
        return np.maximum(self.sem, 1e-3 * np.max(self.sem))

    @classmethod
    def of(cls, trajectory: Trajectory, h: int = 0) -> Curve:
        """Run `h` of a simulation: the mean over its healthy seeds, their standard error and
        the seeds' curves (at least two seeds)."""
        completed = trajectory.completed
        seeds = trajectory.eg[h][trajectory.healthy[h]][:, :completed]
        if seeds.shape[0] < 2:
            raise ValueError("fitting a simulation needs at least two healthy seeds")
        mean, sem = seeds.mean(0), seeds.std(0, ddof=1) / np.sqrt(seeds.shape[0])
        t = trajectory.t[:completed]
        sem = np.maximum(sem, 1e-12)  # a record every seed shares (a common start)
        return cls(t=t, eg=mean, sem=sem, seeds=seeds)

    @classmethod
    def of_erm(cls, alphas, results, name: str = "test_error") -> Curve:
        """A replica-style curve from finite-size ERM: `t` holds the sample complexities
        `alphas`, `eg` the mean of `name` over each `ERMResult`'s seeds, `sem` its standard
        error (each alpha's seeds are independent data sets)."""
        alphas = np.asarray(alphas, np.float64)
        if len(results) != alphas.size:
            raise ValueError(f"{alphas.size} alphas but {len(results)} ERM results")
        mean = np.array([float(r.mean(name)) for r in results])
        sem = np.array([float(r.sem(name)) for r in results])
        return cls(t=alphas, eg=mean, sem=np.maximum(sem, 1e-12))

    @classmethod
    def load_csv(cls, path, columns: tuple[str, str] = ("t", "eg")) -> Curve:
        """A CSV with columns `t`, `eg` (or `eg_mean`, as `jaxgem run` writes) and optionally
        `eg_sem` (any code's output); other names by `columns`, e.g. `("alpha",
        "test_error")` with `test_error_sem`."""
        path = Path(path)
        x, y = columns
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        found = set(rows[0]) if rows else set()
        mean = f"{y}_mean"  # the eg.csv of `jaxgem run`: eg_mean, eg_sem
        value = y if y in found or mean not in found else mean
        if not {x, value} <= found:
            raise ValueError(
                f"{path}: a learning curve needs columns {x} and {y} (and optionally {y}_sem), "
                f"got {sorted(found) or 'no rows'}"
            )

        def column(name):
            try:
                return np.array([float(row[name]) for row in rows])
            except ValueError as error:
                raise ValueError(f"{path}: column {name}: {error}") from None

        sem = column(f"{y}_sem") if f"{y}_sem" in found else None
        t = column(x)
        if "curve" in found and np.any(np.diff(t) <= 0):
            raise ValueError(
                f"{path}: several curves in one file (the output of jaxgem run): keep the rows "
                "of the one to fit"
            )
        return cls(t=t, eg=column(value), sem=sem)
