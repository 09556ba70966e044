"""`Trajectory`: the records of a simulation, their statistics over seeds, and their files.

A trajectory carries the `Problem` it ran, so its theory needs nothing passed again
(`jaxgem.theory(trajectory)`), also after `save` and `load`: the problem is stored in the file
with `cloudpickle` (user functions such as a `Custom` activation included). Load only files you
trust, as with any pickle.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import warnings
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np

from .io import save_csv, save_npz
from .order_parameters import OrderParameters

__all__ = ["Trajectory", "pickle_problem"]

_RECORDED = ("eg", "Q", "R", "v", "eg_test", "eg_test_sem")


def pickle_problem(problem) -> np.ndarray:
    """The problem as bytes in a `uint8` array, ready for an `.npz` (no `allow_pickle` needed)."""
    return np.frombuffer(cloudpickle.dumps(problem), np.uint8)


@dataclasses.dataclass
class Trajectory:
    """Records of online SGD at times `t`, per hyperparameter `h` and seed `s`.

    Fields (numpy arrays): `t (R,)`; `eg (H, S, R)` from the order parameters; `Q (H, S, R, K, K)`,
    `R (H, S, R, K, M)`, `v (H, S, R, K)` (effective readout); `T (S, M, M)` and `A (S, M)`
    (constant); `eg_test`, `eg_test_sem (H, S, R)` or `None`; `hyperparameters` (name -> `(H,)`);
    `seeds (S,)`; `w0 (S, K, N)` and `B0 (S, M, D)`, each seed's initial student and teacher
    weights (what the spectral theory starts from); `w (H, S, R, K, N)`, the students' weights
    at every record (only with `simulate(..., record_weights=True)`, else `None`);
    `diverged_at (H, S)`, the first record time at which a run was non-finite or above the
    divergence threshold (NaN if never);
    `completed`, the number of records filled (the rest are NaN in a partial result);
    `metadata`, the configuration, versions, dtype and device; `problem`, the `jaxgem.Problem`
    it ran (`None` if a loaded file's problem could not be restored).
    """

    t: np.ndarray
    eg: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    T: np.ndarray
    A: np.ndarray
    hyperparameters: dict[str, np.ndarray]
    seeds: np.ndarray
    diverged_at: np.ndarray
    completed: int
    metadata: dict
    eg_test: np.ndarray | None = None
    eg_test_sem: np.ndarray | None = None
    w0: np.ndarray | None = None
    B0: np.ndarray | None = None
    w: np.ndarray | None = None
    problem: Any = None

    # ----------------------------------------------------------------------------- statistics
    @property
    def healthy(self) -> np.ndarray:
        """`(H, S)` mask of runs that never diverged."""
        return np.isnan(self.diverged_at)

    def _seed_values(self, name: str) -> np.ndarray:
        values = getattr(self, name)
        if values is None:
            raise ValueError(f"this trajectory has no {name!r} records (test_set_size was 0)")
        mask = self.healthy.reshape(self.healthy.shape + (1,) * (values.ndim - 2))
        return np.where(mask, values, np.nan)

    def mean(self, name: str = "eg") -> np.ndarray:
        """Mean over the seeds that did not diverge, shape `(H, R, ...)`."""
        with warnings.catch_warnings():  # a row whose seeds all diverged has a NaN mean
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self._seed_values(name), axis=1)

    def sem(self, name: str = "eg") -> np.ndarray:
        """Standard error of the mean over the seeds that did not diverge; NaN where fewer than
        two seeds are left (one seed has no error estimate)."""
        values = self._seed_values(name)
        count = np.sum(np.isfinite(values), axis=1)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            std = (
                np.nanstd(values, axis=1, ddof=1) if values.shape[1] > 1 else np.nan * values[:, 0]
            )
            return np.where(count > 1, std / np.sqrt(np.maximum(count, 1)), np.nan)

    def order_parameters(self, h: int = 0, s: int = 0) -> OrderParameters:
        """The recorded order parameters of run `(h, s)`, with a leading axis over records."""
        R = self.t.shape[0]
        return OrderParameters(
            Q=self.Q[h, s],
            R=self.R[h, s],
            T=np.broadcast_to(self.T[s], (R,) + self.T.shape[1:]),
            v=self.v[h, s],
            A=np.broadcast_to(self.A[s], (R,) + self.A.shape[1:]),
        )

    def initial_order_parameters(self) -> OrderParameters:
        """Every seed's order parameters at the start, with a leading seed axis `(S, ...)` (the
        start of a theory from order parameters, e.g. the `N, D -> infinity` limit)."""
        return OrderParameters(
            Q=self.Q[0, :, 0], R=self.R[0, :, 0], T=self.T, v=self.v[0, :, 0], A=self.A
        )

    def run_label(self, h: int, s: int) -> str:
        """Run `(h, s)` named by its hyperparameters and seed, e.g. `lr=0.5, ..., seed=3`."""
        hyper = ", ".join(f"{k}={v[h]:g}" for k, v in self.hyperparameters.items())
        return f"{hyper}, seed={self.seeds[s]}"

    def divergence_report(self) -> list[str]:
        """One line per diverged run: which hyperparameters, which seed, when."""
        lines = []
        for h, s in zip(*np.nonzero(~self.healthy)):
            lines.append(f"run diverged: {self.run_label(h, s)} at t={self.diverged_at[h, s]:g}")
        return lines

    # ----------------------------------------------------------------------------- tables, files
    def rows(self, theory: np.ndarray | None = None, **extra) -> list[dict]:
        """Long-format table: one row per (hyperparameter, time) with mean and error over seeds;
        `theory (H, R)`, if given, adds the predicted error as `eg_theory`."""
        mean, sem = self.mean("eg"), self.sem("eg")
        test = (self.mean("eg_test"), self.sem("eg_test")) if self.eg_test is not None else None
        rows = []
        for h in range(mean.shape[0]):
            for r in range(self.completed):
                row = dict(extra)
                row.update({k: v[h].item() for k, v in self.hyperparameters.items()})
                row.update(t=float(self.t[r]), eg_mean=float(mean[h, r]), eg_sem=float(sem[h, r]))
                if test is not None:
                    row.update(eg_test_mean=float(test[0][h, r]), eg_test_sem=float(test[1][h, r]))
                if theory is not None:
                    row["eg_theory"] = float(theory[h, r])
                row["seeds"] = int(self.healthy[h].sum())
                rows.append(row)
        return rows

    def to_csv(self, path) -> Path:
        return save_csv(path, self.rows())

    def arrays(self) -> dict[str, np.ndarray]:
        """Every field as a named array, ready for `numpy.savez`."""
        out = {name: getattr(self, name) for name in ("t", "eg", "Q", "R", "v", "T", "A")}
        out.update(
            seeds=self.seeds, diverged_at=self.diverged_at, completed=np.int64(self.completed)
        )
        out.update({f"hyper_{k}": v for k, v in self.hyperparameters.items()})
        for name in ("eg_test", "eg_test_sem", "w0", "B0", "w"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out["metadata_json"] = np.array(json.dumps(self.metadata, default=str))
        if self.problem is not None:
            out["problem_pickle"] = pickle_problem(self.problem)
        return out

    def save(self, path) -> Path:
        """Write an `.npz` (atomically); `Trajectory.load` reads it back."""
        return save_npz(path, **self.arrays())

    @classmethod
    def load(cls, path) -> Trajectory:
        """Read a trajectory (or the partial trajectory inside a checkpoint) from an `.npz`, with
        the problem it ran (a warning, and `problem = None`, if that cannot be restored here:
        e.g. a function from a module this Python cannot import)."""
        with np.load(path, allow_pickle=False) as data:
            fields = {k: data[k] for k in data.files}
        hyper = {k[len("hyper_") :]: fields.pop(k) for k in list(fields) if k.startswith("hyper_")}
        problem = None
        if "problem_pickle" in fields:
            try:
                problem = pickle.loads(fields["problem_pickle"].tobytes())
            except Exception as error:  # noqa: BLE001 - any failure to restore is reported
                warnings.warn(
                    f"{path}: the problem of this trajectory could not be restored ({error!r}); "
                    "its arrays are loaded, pass the problem to theories explicitly",
                    RuntimeWarning,
                    stacklevel=2,
                )
        return cls(
            t=fields["t"],
            eg=fields["eg"],
            Q=fields["Q"],
            R=fields["R"],
            v=fields["v"],
            T=fields["T"],
            A=fields["A"],
            hyperparameters=hyper,
            seeds=fields["seeds"],
            diverged_at=fields["diverged_at"],
            completed=int(fields["completed"]),
            metadata=json.loads(str(fields["metadata_json"])),
            eg_test=fields.get("eg_test"),
            eg_test_sem=fields.get("eg_test_sem"),
            w0=fields.get("w0"),
            B0=fields.get("B0"),
            w=fields.get("w"),
            problem=problem,
        )
