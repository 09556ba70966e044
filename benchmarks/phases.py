"""The SGD phase diagram (issue 16, item 2): cost per cell of `jaxgem.phases.phase_diagram` (the
whole grid as one batched ODE solve, chunked by learning rate, plus one gradient-flow solve per
kappa) beside the same ODEs solved cell by cell in a Python loop (the same solver, tolerance and
divergence stop), on one row and one column of the grid, after compilation, in one run.

    python benchmarks/phases.py [--quick]        # writes benchmarks/results/phases.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from jaxgem import phases
from jaxgem.hyperparameters import Hyperparameters
from jaxgem.io import save_json
from jaxgem.ode import theory
from jaxgem.provenance import run_metadata


def one_cell(problem, start, kappa_index, lr, times, controller, horizon, divergence):
    """Cell by cell: the SGD ODE, then the gradient flow, of one (kappa, delta)."""
    first = jax.tree.map(lambda a: a[kappa_index], start)
    cell = problem.replace(hyperparameters=Hyperparameters(lr=lr, noise=0.1))
    full = theory(cell, times, start=first, divergence_threshold=divergence,
                  stepsize_controller=controller)  # fmt: skip
    drift = theory(cell, jnp.asarray([0.0, horizon]), start=first, second_order=False,
                   stepsize_controller=controller)  # fmt: skip
    return float(full.eg[0, -1]), float(drift.eg[0, -1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 6 x 6 grid")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "phases.json"))
    options = parser.parse_args()
    n = 6 if options.quick else 11
    kappas, deltas = np.linspace(0, 1.5, n), np.linspace(-1.5, 1.0, n)
    key, horizon, divergence = jax.random.key(0), 1000.0, 50.0
    phases.phase_diagram(kappas[:2], deltas[:2], key)  # compile the shapes' programs once
    start_clock = time.perf_counter()
    diagram = phases.phase_diagram(kappas, deltas, key)
    grid_s = time.perf_counter() - start_clock
    print(f"batched grid of {n} x {n} cells: {grid_s:.1f} s, {grid_s / n**2 * 1e3:.0f} ms a cell "
          f"(first call with this shape, compilation included)")  # fmt: skip
    start_clock = time.perf_counter()
    phases.phase_diagram(kappas, deltas, key)
    grid_again = time.perf_counter() - start_clock
    print(f"again, compiled: {grid_again:.1f} s, {grid_again / n**2 * 1e3:.0f} ms a cell")

    problem = phases.phase_problem(0.0, 0.0)
    start = phases._starts(problem, key, kappas)
    times = jnp.asarray(diagram.times)
    controller = diffrax.PIDController(rtol=1e-4, atol=1e-6)
    cells = [(j, deltas[n // 2]) for j in range(n)] + [(n // 2, d) for d in deltas]
    one_cell(problem, start, 0, 1.0, times, controller, horizon, divergence)  # compile
    start_clock = time.perf_counter()
    for j, delta in cells:
        one_cell(problem, start, j, 8.0**-delta, times, controller, horizon, divergence)
    loop_s = (time.perf_counter() - start_clock) / len(cells)
    speedup = loop_s / (grid_again / n**2)
    print(f"cell by cell in a Python loop (compiled, {len(cells)} cells of a row and a "
          f"column): {loop_s * 1e3:.0f} ms a cell; batched {speedup:.1f}x faster")  # fmt: skip
    save_json(options.out, {
        "machine": run_metadata(), "grid": [n, n], "K": 8, "M": 2, "horizon": horizon,
        "batched_grid_s_first_call": round(grid_s, 2), "batched_grid_s": round(grid_again, 2),
        "batched_ms_per_cell": round(grid_again / n**2 * 1e3, 1),
        "loop_ms_per_cell": round(loop_s * 1e3, 1), "loop_cells": len(cells),
        "counts": diagram.counts(),
    })  # fmt: skip
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
