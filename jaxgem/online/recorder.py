"""What a running simulation keeps: the records filled as they come (a valid partial
`Trajectory` at any moment), and an atomic checkpoint to resume from to the same numbers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..io import save_npz
from ..results import Trajectory, pickle_problem
from ..sweep.layout import RunLayout
from .engine import SimulationState

__all__ = ["Recorder", "Checkpoint", "fingerprint"]


class Recorder:
    """Records `(H, S, R, ...)`, NaN until filled; `trajectory()` is what has been done so far.

    **Arguments:**

    - `problem`: the problem being simulated (carried by the trajectory).
    - `t (R,)`, `seeds (S,)`: record times and seeds.
    - `teachers`, `students`: the initial networks, seeds first (students `(S, H, ...)`).
    - `test_set_size`, `record_weights`: which optional records to keep.
    - `metadata`: stored with the trajectory.
    - `divergence_threshold`: an `eg` above it (or non-finite) marks a run as diverged.
    """

    def __init__(
        self,
        problem,
        t,
        seeds,
        teachers,
        students,
        *,
        test_set_size: int,
        record_weights: bool,
        metadata: dict,
        divergence_threshold: float,
    ):
        self.problem, self.t, self.seeds, self.metadata = problem, t, seeds, metadata
        self.divergence_threshold = divergence_threshold
        self.problem_bytes = None  # pickled at the first save, then written with every save
        S, H, K, N = students.w.shape
        M, R = teachers.K, t.shape[0]
        dtype = np.asarray(students.w).dtype
        nan = lambda *shape: np.full(shape, np.nan, dtype)  # noqa: E731
        self.records = {
            "eg": nan(H, S, R),
            "Q": nan(H, S, R, K, K),
            "R": nan(H, S, R, K, M),
            "v": nan(H, S, R, K),
        }
        if test_set_size:
            self.records.update(eg_test=nan(H, S, R), eg_test_sem=nan(H, S, R))
        if record_weights:
            self.records["w"] = nan(H, S, R, K, N)
        self.T = np.asarray(jax.vmap(problem.data.latent_overlap)(teachers.w, teachers.w))
        self.A = np.asarray(teachers.readout)
        self.w0, self.B0 = np.asarray(students.w[:, 0]), np.asarray(teachers.w)
        self.completed = 0

    def record(self, r: int, observations: dict) -> None:
        """Fill record `r` from observations with axes `(S, H, ...)`."""
        for name, value in observations.items():
            self.records[name][:, :, r] = np.moveaxis(np.asarray(value), 1, 0)
        self.completed = r + 1

    def trajectory(self) -> Trajectory:
        eg = self.records["eg"][:, :, : self.completed]
        bad = ~np.isfinite(eg) | (eg > self.divergence_threshold)
        diverged_at = np.where(bad.any(-1), self.t[np.argmax(bad, axis=-1)], np.nan)
        return Trajectory(
            t=self.t,
            Q=self.records["Q"],
            R=self.records["R"],
            v=self.records["v"],
            eg=self.records["eg"],
            eg_test=self.records.get("eg_test"),
            eg_test_sem=self.records.get("eg_test_sem"),
            T=self.T,
            A=self.A,
            hyperparameters=self.problem.hyperparameters.table(),
            seeds=self.seeds,
            diverged_at=diverged_at,
            completed=self.completed,
            metadata=self.metadata,
            w0=self.w0,
            B0=self.B0,
            w=self.records.get("w"),
            problem=self.problem,
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """The trajectory's arrays (the problem pickled once, not at every save)."""
        trajectory = self.trajectory()
        trajectory.problem = None
        out = trajectory.arrays()
        if self.problem_bytes is None:
            self.problem_bytes = pickle_problem(self.problem)
        out["problem_pickle"] = self.problem_bytes
        return out

    def restore(self, data, completed: int) -> None:
        for name in self.records:
            self.records[name] = np.array(data[name])
        self.completed = completed


class Checkpoint:
    """An `.npz` holding the simulation state and the records so far, written atomically; a
    rerun with the same fingerprint resumes from it, any other is refused.

    With several processes each writes its own file (`NAME.process{i}of{n}.npz`) holding the
    state of its own seeds and the gathered records, and resumes from it. With one process the
    file holds the state of the `seeds` real runs (not the padding), so it resumes on any number
    of devices.
    """

    def __init__(self, path, fingerprint: str, layout: RunLayout, seeds: int):
        path = Path(path)
        if layout.processes > 1:
            index = jax.process_index()
            path = path.with_name(f"{path.stem}.process{index}of{layout.processes}{path.suffix}")
        self.path, self.fingerprint = path, fingerprint
        self.layout, self.seeds = layout, seeds

    def restore(self, state: SimulationState, recorder: Recorder) -> SimulationState:
        """The saved state (and records into `recorder`), or `state` if there is no file."""
        if not self.path.exists():
            return state
        with np.load(self.path, allow_pickle=False) as data:
            if str(data["fingerprint"]) != self.fingerprint:
                raise CheckpointMismatch(
                    f"checkpoint {self.path} was written by a different run (other configuration, "
                    "networks, data or key); delete it or choose another path"
                )
            recorder.restore(data, int(data["completed"]))
            leaves, treedef = jax.tree.flatten(_runs(state))
            restored = []
            for i, leaf in enumerate(leaves):
                rows = np.asarray(data[f"state_{i}"])
                if self.layout.processes == 1:
                    rows = np.asarray(self.layout.pad(rows, rows.shape[0]))
                restored.append(self.layout.from_local_rows(leaf, rows))
            done = self.layout.put(jnp.asarray(int(data["blocks_done"]), jnp.int32), True)
            students, teachers, keys = jax.tree.unflatten(treedef, restored)
            return SimulationState(students, teachers, keys, done)

    def save(self, state: SimulationState, recorder: Recorder) -> None:
        arrays = recorder.arrays()
        for i, leaf in enumerate(jax.tree.leaves(_runs(state))):
            rows = self.layout.local_rows(leaf)
            arrays[f"state_{i}"] = rows[: self.seeds] if self.layout.processes == 1 else rows
        arrays["blocks_done"] = np.asarray(state.blocks_done.addressable_data(0))
        arrays["fingerprint"] = np.array(self.fingerprint)
        save_npz(self.path, **arrays)


def _runs(state: SimulationState):
    """The run-sharded part of a state: students, teachers, keys (arrays only)."""
    return eqx.filter((state.students, state.teachers, state.keys), eqx.is_array)


class CheckpointMismatch(ValueError):
    """A checkpoint file written by a different run than the one asked to resume from it."""


def fingerprint(static: dict, *trees) -> str:
    """A digest of a run's settings and arrays: a checkpoint resumes only the same run."""
    digest = hashlib.sha256(json.dumps(static, sort_keys=True, default=str).encode())
    for tree in trees:
        for leaf in jax.tree.leaves(eqx.filter(tree, eqx.is_array)):
            if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
                leaf = jax.random.key_data(leaf)
            digest.update(memoryview(np.ascontiguousarray(np.asarray(leaf))))  # no copy
    return digest.hexdigest()
