"""`simulate`: online SGD of a problem's student on its teacher's labels, over seeds and the
problem's hyperparameter runs, in one compiled call per shape (THEORY.md Sec. 1).

A short loop over the compiled engine (`advance`, `observe`) with a `Recorder` and a
`Checkpoint`: it records at the chosen times (log-spaced by default), shows progress, saves
atomically as it goes and resumes to the same numbers, and reports runs that diverge while
keeping the others.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from ..problem import Problem, seed_keys, seed_list
from ..provenance import run_metadata
from ..results import Trajectory
from ..sweep.layout import RunLayout
from .engine import SimulationState, advance, observe
from .recorder import Checkpoint, Recorder, fingerprint
from .schedule import record_times

__all__ = ["simulate"]


def simulate(
    problem: Problem,
    key: jax.Array,
    *,
    seeds: int | Sequence[int] = 1,
    t_max: float | None = None,
    times=None,
    n_records: int = 50,
    spacing: str = "log",
    test_set_size: int = 0,
    steps_per_block: int | None = None,
    divergence_threshold: float = 1e6,
    checkpoint: str | Path | None = None,
    save_every: float = 20.0,
    progress: bool = False,
    description: str = "online SGD",
    record_weights: bool = False,
    layout: RunLayout | None = None,
    seed_group: int | None = None,
    fast_random: bool = False,
) -> Trajectory:
    """Online SGD of `problem` (THEORY.md Sec. 1): every hyperparameter run, every seed.

    **Arguments:**

    - `problem`: a `jaxgem.Problem` (data model, teacher, student, hyperparameters).
    - `key`: a `jax.random.key`; seed `s` uses `fold_in(key, s)` for its networks and its input
      stream, so a seed gives the same numbers whatever other seeds run beside it. All runs of a
      seed share its input stream (common random numbers).
    - `seeds`: a count or a list of seeds.
    - `t_max`, `n_records`, `spacing` (`"log"` or `"linear"`) or explicit `times`: when to
      record; `t = steps / N`, rounded to whole blocks of `steps_per_block` steps.
    - `test_set_size`: if positive, also estimate `eg` on a fixed held-out set of this size.
    - `divergence_threshold`: a run whose `eg` exceeds it (or is not finite) is reported.
    - `checkpoint`: an `.npz` path; the run saves there atomically every `save_every` seconds
      and, if the file exists from the same run, resumes from it to the same numbers.
    - `progress`: show a progress bar.
    - `record_weights`: also keep the students' weights at every record (`Trajectory.w`,
      `(H, S, R, K, N)`), e.g. for `diagnostics.field_gaussianity_along`.
    - `layout`: a `RunLayout` laying the seeds out over devices (default: every device of every
      process, `RunLayout.over()`); each device advances its own seeds, the records are gathered
      on every process, and with several processes each writes its own checkpoint. The numbers
      do not depend on the layout (bit for bit: each seed is computed alone).
    - `seed_group`: seeds advanced together on a device (default: as many as keep a block of
      inputs within a few MiB of cache, `online.engine.seed_group`; at most 8).
    - `fast_random`: draw the inputs with JAX's older, non-partitionable threefry layout
      (`jax.threefry_partitionable(False)`), 1.0-1.25x faster on a CPU; other random numbers
      with the same statistics. JAX's default is kept unless asked.

    **Returns:** a `Trajectory` with arrays `(H, S, R, ...)`, carrying `problem`.

    Example:
    ```python
    problem = jaxgem.Problem(jaxgem.IIDGaussian(N=500), jaxgem.GaussianInit(2, "erf"),
                             jaxgem.GaussianInit.small(2, "erf"), lr=[0.1, 0.5])
    traj = jaxgem.simulate(problem, jax.random.key(0), t_max=20, seeds=4)
    traj.mean("eg")  # (2, R)
    ```
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"simulate needs a jaxgem.Problem, got {type(problem).__name__}")
    if problem.is_limit:
        raise ValueError(
            "the N, D -> infinity limit cannot be simulated: simulate a finite data model "
            "(e.g. HiddenManifold.random(key, N, D)) and compare with theory(problem)"
        )
    seeds = seed_list(seeds)
    if isinstance(test_set_size, bool) or not isinstance(test_set_size, int) or test_set_size < 0:
        raise ValueError(f"test_set_size must be a non-negative integer, got {test_set_size!r}")
    data = problem.data
    N = data.input_dim
    max_batch = int(np.max(problem.hyperparameters.table()["batch_size"]))
    steps_per_block, blocks, t = record_times(
        problem,
        t_max=t_max,
        times=times,
        n_records=n_records,
        spacing=spacing,
        steps_per_block=steps_per_block,
    )

    layout = RunLayout.over() if layout is None else layout
    if not isinstance(layout, RunLayout):
        raise TypeError(f"layout must be a jaxgem.RunLayout, got {type(layout).__name__}")
    keys, test_key = seed_keys(key, seeds)
    teachers, students = problem.draw_networks(keys)
    hyper = problem.hyperparameters.astype(students.w.dtype)  # rates follow the precision
    H = hyper.size
    students = jax.tree.map(
        lambda a: jnp.broadcast_to(a[:, None], (a.shape[0], H) + a.shape[1:]), students
    )
    state = SimulationState(students, teachers, keys[:, 2], jnp.asarray(0, jnp.int32))
    test_x = test_c = None
    if test_set_size:
        test_x, test_c = data.sample(test_key, test_set_size)

    summary = problem.summary()
    if seed_group is not None and (
        isinstance(seed_group, bool) or not isinstance(seed_group, int) or seed_group < 1
    ):
        raise ValueError(f"seed_group must be a positive integer or None, got {seed_group!r}")
    static = dict(
        fast_random=bool(fast_random),
        steps_per_block=steps_per_block,
        max_batch=max_batch,
        seeds=seeds,
        blocks=blocks,
        test_set_size=test_set_size,
        record_weights=record_weights,
        problem=summary,
    )
    digest = fingerprint(static, data, state, hyper, key)
    metadata = dict(
        run_metadata(),
        **summary,
        description=description,
        steps_per_block=steps_per_block,
        test_set_size=test_set_size,
        fingerprint=digest,
        dtype=str(students.w.dtype),
        key=np.asarray(jax.random.key_data(key)).tolist(),
    )
    recorder = Recorder(
        problem,
        t,
        seeds,
        teachers,
        students,
        test_set_size=test_set_size,
        record_weights=record_weights,
        metadata=metadata,
        divergence_threshold=divergence_threshold,
    )
    # the seeds padded to a multiple of the devices, each device's share placed on it
    S = len(seeds)
    runs = layout.put(layout.pad((state.students, state.teachers, state.keys), S))
    state = SimulationState(*runs, layout.put(state.blocks_done, replicated=True))
    del runs, students, teachers  # the recorder keeps the initial weights it needs
    engine_layout = layout if layout.size > 1 else None
    # what every run reads, replicated on every device (a global array for several processes)
    on_mesh = layout.put((data, test_x, test_c, hyper), replicated=True)
    saver = None if checkpoint is None else Checkpoint(checkpoint, digest, layout, S)
    if saver is not None:
        state = saver.restore(state, recorder)

    def record(r):
        observations = observe(state, *on_mesh[:3], engine_layout)
        if record_weights:
            observations = dict(observations, w=state.students.w)
        observations = jax.tree.map(lambda a: a[:S], layout.gather(observations))
        recorder.record(r, observations)

    # blocks per compiled call: a hundredth of the run, at most, and adapted so that a call
    # takes about a quarter of a second (the bar moves, and Ctrl-C or a save waits no longer)
    chunk, largest = 1, max(1, math.ceil(blocks[-1] / 100))
    bar = tqdm(
        total=int(blocks[-1]),
        desc=description,
        disable=not progress,
        mininterval=1.0,
        bar_format="{l_bar}{bar}| {postfix} [{elapsed}<{remaining}]",
    )
    block_time = steps_per_block / N

    def show(done: int):
        bar.set_postfix_str(f"t = {done * block_time:.4g} of {t[-1]:.4g}", refresh=False)

    done = int(np.asarray(state.blocks_done.addressable_data(0)))
    show(done)
    bar.update(done)
    if progress and recorder.completed:
        bar.write(
            f"{description}: resumed from {checkpoint} at t = {t[recorder.completed - 1]:.4g}",
            file=sys.stderr,
        )
    last_save = time.monotonic()
    step_args = (
        on_mesh[0],
        on_mesh[3],
        steps_per_block,
        max_batch,
        problem.train_second_layer,
        engine_layout,
        seed_group,
        problem.spherical,
    )
    if recorder.completed == 0:
        record(0)
    try:
        for r in range(recorder.completed, len(blocks)):
            while done < blocks[r]:
                n = min(chunk, blocks[r] - done)
                started = time.monotonic()
                with jax.threefry_partitionable(False) if fast_random else nullcontext():
                    state = advance(state, layout.put(jnp.asarray(n, jnp.int32), True), *step_args)
                done += n
                show(done)
                bar.update(n)
                took = time.monotonic() - started
                if n == chunk:
                    chunk = int(min(largest, 2 * chunk, max(1, chunk * 0.25 / max(took, 1e-3))))
            record(r)
            if saver is not None and time.monotonic() - last_save > save_every:
                saver.save(state, recorder)
                last_save = time.monotonic()
    finally:  # interrupted or not, keep everything computed so far
        bar.close()
        if saver is not None:
            saver.save(state, recorder)
    result = recorder.trajectory()
    report = result.divergence_report()
    if report:
        warnings.warn("\n".join(report), RuntimeWarning, stacklevel=2)
    return result
