"""Fitting by gradient against a derivative-free fit of the same ODE, in the same run.

Two cases, each online SGD with 8 seeds, the theory started from each seed's initial weights
(Tsit5 + PID, the same options on both sides):
- iid inputs, N = 1000, K = M = 2 erf, lr = 0.8, label noise 0.3, t = 0..20 (11 records):
  lr and noise fitted from 0.5 and 0.1 (Saad–Solla ODEs: a cheap solve);
- the sign hidden manifold, N = 1000, D = 500, lr = 0.5, t = 0..30 (16 records): delta and lr
  fitted from 1 and 0.3 with the N, D -> infinity theory (spectral ODEs on 129 nodes).

- jaxgem.fit: Levenberg–Marquardt (optimistix) on the standardised residuals, derivatives by
  diffrax's forward mode;
- SciPy Nelder–Mead on the same chi-square (log-parameters, a jitted `jaxgem.theory`), to a
  tolerance of 1e-4 on the log-parameters (the fit's own).

Printed: wall time, compilation (JAX's own trace, lowering and backend-compile durations, from
`jax.monitoring`) and the time after it; the number of ODE solves (a forward-mode solve carries
the tangents of both parameters and counts once); the fitted values.

    python benchmarks/fit.py [--out benchmarks/results/fit.json]
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import importlib
import time

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

import jaxgem
from jaxgem.fit.parameters import with_parameters
from jaxgem.io import save_json
from jaxgem.provenance import run_metadata

TRUE = {"lr": 0.8, "noise": 0.3}
GUESS = {"lr": 0.5, "noise": 0.1}
COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)


class Clock:
    """Wall time, JAX's compilation time (from `jax.monitoring`) and a count of ODE solves."""

    def __init__(self):
        self.durations = collections.defaultdict(float)
        jax.monitoring.register_event_duration_secs_listener(self._listen)
        self.solves = 0

    def _listen(self, name, duration, **kwargs):
        self.durations[name] += duration

    def count(self, *args):
        self.solves += 1

    def measure(self, function):
        self.durations.clear()
        self.solves = 0
        started = time.perf_counter()
        result = function()
        wall = time.perf_counter() - started
        compile_s = sum(self.durations[e] for e in COMPILE_EVENTS)
        return result, dict(wall_s=wall, compile_s=compile_s, after_compile_s=wall - compile_s,
                            solves=self.solves)  # fmt: skip


def counted_theory(clock):
    """`jaxgem.theory` that counts every solve it runs (a callback on its output, executed once
    per solve, tangents included)."""
    theory = jaxgem.theory

    def wrapped(*args, **kwargs):
        solution = theory(*args, **kwargs)
        jax.debug.callback(clock.count, solution.eg[0, 0, -1])
        return solution

    return wrapped


def compare(clock, traj, guess: dict) -> list[dict]:
    """jaxgem.fit and Nelder-Mead on the same chi-square of `traj` (its problem carries the
    unknown values), from `guess`."""
    result, gradient = clock.measure(lambda: jaxgem.fit(traj, free=guess))
    curve = jaxgem.Curve.of(traj)
    target, sem = jnp.asarray(curve.eg), jnp.asarray(curve.scale())
    problem = traj.problem
    names = tuple(guess)

    @jax.jit
    def chi2(log_values):  # the same theory from the seeds' own starts, jitted once
        candidate = with_parameters(problem, dict(zip(names, jnp.exp(log_values))))
        solution = counted_theory(clock)(dataclasses.replace(traj, problem=candidate))
        return jnp.sum(((solution.eg[0].mean(0) - target) / sem) ** 2)

    def nelder_mead():
        return scipy.optimize.minimize(
            lambda u: float(chi2(jnp.asarray(u, jnp.float32))), np.log(list(guess.values())),
            method="Nelder-Mead", options=dict(xatol=1e-4, fatol=1e-6, maxfev=2000),
        )  # fmt: skip

    found, derivative_free = clock.measure(nelder_mead)
    rows = [
        dict(method="jaxgem.fit (LM, forward mode)", **gradient, converged=result.converged,
             values=dict(zip(names, result.values.tolist())),
             stderr=dict(zip(names, result.stderr.tolist()))),
        dict(method="SciPy Nelder-Mead", **derivative_free, converged=bool(found.success),
             values=dict(zip(names, np.exp(found.x).tolist()))),
    ]  # fmt: skip
    return rows


def show(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    header = f"{'method':>30}{'wall s':>9}{'compile s':>11}{'after s':>9}{'solves':>8}  values"
    print(header)
    print("-" * len(header))
    for row in rows:
        values = ", ".join(f"{k} {v:.4f}" for k, v in row["values"].items())
        print(f"{row['method']:>30}{row['wall_s']:>9.2f}{row['compile_s']:>11.2f}"
              f"{row['after_compile_s']:>9.2f}{row['solves']:>8d}  {values}"
              f"{'' if row['converged'] else ' (not converged)'}")  # fmt: skip
    gradient, derivative_free = rows
    speedup = derivative_free["after_compile_s"] / gradient["after_compile_s"]
    fewer = derivative_free["solves"] / max(gradient["solves"], 1)
    print(f"after compilation: gradient fit {speedup:.1f}x the speed, {fewer:.1f}x fewer solves")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="benchmarks/results/fit.json")
    args = parser.parse_args()
    clock = Clock()
    fit_module = importlib.import_module("jaxgem.fit.fit")  # jaxgem.fit is the function
    fit_module.theory = counted_theory(clock)
    cases = {}

    iid = jaxgem.Problem(jaxgem.IIDGaussian(N=1000), jaxgem.GaussianInit(2, "erf"),
                         jaxgem.GaussianInit(2, "erf", std=0.5), **TRUE)  # fmt: skip
    simulated = jaxgem.simulate(iid, jax.random.key(0), t_max=20.0, n_records=11,
                                spacing="linear", seeds=8)  # fmt: skip
    unknown = iid.replace(hyperparameters=jaxgem.Hyperparameters(**GUESS))
    title = "iid inputs (Saad-Solla ODEs): lr, noise (truth 0.8, 0.3)"
    cases[title] = compare(clock, dataclasses.replace(simulated, problem=unknown), GUESS)
    show(title, cases[title])

    hmm = jaxgem.HiddenManifold.random(jax.random.key(11), 1000, 500, "sign")
    manifold = jaxgem.Problem(hmm, jaxgem.GaussianInit(2, "erf"),
                              jaxgem.GaussianInit(2, "erf", std=0.1), lr=0.5)  # fmt: skip
    simulated = jaxgem.simulate(manifold, jax.random.key(0), t_max=30.0, n_records=16,
                                spacing="linear", seeds=8)  # fmt: skip
    unknown = manifold.replace(
        data=jaxgem.HiddenManifoldLimit(1.0, "sign"), hyperparameters=jaxgem.Hyperparameters(lr=0.3)
    )
    title = ("sign hidden manifold, N = 1000, D = 500 (spectral ODEs of the N, D -> infinity "
             "limit, 129 nodes): delta, lr (truth 0.5, 0.5)")  # fmt: skip
    guess = {"delta": 1.0, "lr": 0.3}
    cases[title] = compare(clock, dataclasses.replace(simulated, problem=unknown), guess)
    show(title, cases[title])
    save_json(args.out, dict(benchmark="fit", **run_metadata(), cases=cases))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
