"""When to record: times `t = steps / N` rounded to whole blocks of steps."""

from __future__ import annotations

import numpy as np

from .engine import group_budget

__all__ = ["record_blocks", "default_steps_per_block", "record_times"]


def default_steps_per_block(N: int, batch_size: int, platform: str | None = None) -> int:
    """Steps generated per block: at most 128 samples (large enough for efficient generation),
    at most N / 10 steps (records resolve `dt = 0.1`), and on a CPU at most what keeps one
    seed's block of float32 inputs within `GROUP_BYTES` (4 MiB) of cache: 104 steps at
    N = 10^4, 10 at 10^5 (measured 1.4x faster at N = 16 000 than blocks of 128, with 16x less
    memory at 10^5). On a GPU or TPU the block is not cut for a cache."""
    budget, largest = group_budget(platform)
    fits = budget // (4 * N * batch_size) if largest else 128
    return max(1, min(128 // batch_size, N // 10, fits))


def record_blocks(
    N: int,
    steps_per_block: int,
    *,
    t_max: float | None = None,
    times=None,
    n_records: int = 50,
    spacing: str = "log",
) -> np.ndarray:
    """Block counts at which to record, strictly increasing and starting with 0.

    Give explicit `times`, or `t_max` with `n_records` points spaced `"log"` (default) or
    `"linear"`. Each time becomes the nearest whole number of blocks.
    """
    dt = steps_per_block / N
    if times is None:
        if t_max is None or not t_max > 0:
            raise ValueError(f"t_max must be a positive time, got {t_max!r}")
        if n_records < 2:
            raise ValueError(f"n_records must be at least 2, got {n_records}")
        if spacing == "log":
            # geomspace of one point would give dt alone: two records are 0 and t_max
            times = np.geomspace(dt, t_max, n_records - 1) if n_records > 2 else [t_max]
        elif spacing == "linear":
            times = np.linspace(0, t_max, n_records)
        else:
            raise ValueError(f"spacing must be 'log' or 'linear', got {spacing!r}")
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or np.any(times < 0) or not np.all(np.isfinite(times)):
        raise ValueError("times must be a non-empty 1-d list of non-negative finite numbers")
    blocks = np.unique(np.concatenate([[0], np.round(times / dt).astype(np.int64)]))
    return blocks


def record_times(
    problem,
    *,
    t_max: float | None = None,
    times=None,
    n_records: int = 50,
    spacing: str = "log",
    steps_per_block: int | None = None,
) -> tuple[int, np.ndarray, np.ndarray]:
    """`(steps_per_block, blocks, t)`: the block length and the record points (block counts and
    times `t = steps / N`) at which `simulate(problem, ...)` with these arguments records, known
    before it runs (so its theory can be solved meanwhile)."""
    N = problem.data.input_dim
    max_batch = int(np.max(problem.hyperparameters.table()["batch_size"]))
    steps_per_block = steps_per_block or default_steps_per_block(N, max_batch)
    blocks = record_blocks(
        N, steps_per_block, t_max=t_max, times=times, n_records=n_records, spacing=spacing
    )
    return steps_per_block, blocks, blocks * steps_per_block / N
