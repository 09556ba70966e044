"""Escape from the equator (issue 16, item 1): the escape time of spherical online SGD on a
single-index target h_k against the dimension d, for k = 1 ... 4, simulated (median of the
seeds, bootstrap error of the log-log slope) beside the ODE from m0 = 2 / sqrt d; and the cost of
the Hermite integrals in the ODE, closed form against Gauss-Hermite quadrature of the lowest
orders that are exact for these polynomials (the same accuracy).

    python benchmarks/escape.py [--quick]        # writes benchmarks/results/escape.json

Dimensions: k = 1, 2 at d = 250 ... 4000; k = 3 at 100 ... 800 (lr ~ d^-1/2, so d^2 samples);
k = 4 at 32 ... 128 (lr ~ 1/d, d^3 samples: 128 is what a CPU does in minutes).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp

import jaxgem
from jaxgem.escape import escape_study
from jaxgem.hermite import Hermite
from jaxgem.io import save_json
from jaxgem.ode import OrderParameterState, RunArgs, iid_vector_field
from jaxgem.provenance import run_metadata

STUDIES = {1: [250, 500, 1000, 2000, 4000], 2: [250, 500, 1000, 2000, 4000],
           3: [100, 200, 400, 800], 4: [32, 64, 128]}  # fmt: skip
SEEDS = {1: 16, 2: 16, 3: 16, 4: 8}


def vector_field_cost(activation, repeats=200) -> float:
    """Seconds per evaluation of the iid ODE's vector field, K = M = 2, after compilation."""
    hyper = jaxgem.Hyperparameters(lr=0.01).astype(jnp.float32)
    args = RunArgs(T=jnp.eye(2), A=jnp.ones(2), hyper=hyper, activation=activation,
                   teacher_activation=activation, output_scale=1.0, train_second_layer=False,
                   spherical=True)  # fmt: skip
    y = OrderParameterState(Q=jnp.array([[1.0, 0.1], [0.1, 1.0]]),
                            R=jnp.array([[0.05, 0.02], [0.01, 0.04]]), v=jnp.ones(2))  # fmt: skip
    field = jax.jit(lambda y: iid_vector_field(0.0, y, (args, None)))
    jax.block_until_ready(field(y))
    started = time.perf_counter()
    for _ in range(repeats):
        out = field(y)
    jax.block_until_ready(out)
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="k = 1, 2, 3 at three dimensions")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "escape.json"))
    only = "only the ODE integrals' cost, into the existing results file"
    parser.add_argument("--integrals-only", action="store_true", help=only)
    options = parser.parse_args()
    studies = {k: dims[:3] for k, dims in STUDIES.items() if k < 4} if options.quick else STUDIES
    result = {"machine": run_metadata(), "studies": []}
    if options.integrals_only:
        result = {**json.loads(Path(options.out).read_text()), "machine": run_metadata()}
        studies = {}

    for k in (3, 4):
        h = Hermite.single(k, normalised=True)
        closed = vector_field_cost(h)
        # the lowest orders that are exact for these degrees (I4 has degree 4k - 2 in each
        # field after the Cholesky factor mixes them): the same accuracy as the closed form
        exact = 2 * k  # 2 * order - 1 >= 4k - 2
        quadrature = vector_field_cost(jaxgem.Quadrature(h, orders=(4 * k, exact, exact, exact)))
        print(f"ODE vector field, K = M = 2, h_{k}: closed form {closed * 1e6:.0f} us, "
              f"quadrature {quadrature * 1e6:.0f} us ({quadrature / closed:.1f}x)")  # fmt: skip
        result[f"vector_field_h{k}"] = {"closed_form_s": closed, "quadrature_s": quadrature}

    for k, dims in studies.items():
        started = time.perf_counter()
        study = escape_study(k, dims, jax.random.key(k), seeds=SEEDS[k])
        wall = time.perf_counter() - started
        samples = sum(float(run.times[-1]) * run.d * run.simulated.size for run in study.runs)
        print(f"k = {k}, d = {dims}: slope {study.slope:.3f} ± {study.slope_error:.3f}, ODE "
              f"{study.ode_slope:.3f}, d -> infinity {study.exponent:g} [{wall:.0f} s, "
              f"{samples / wall:.3g} sample-steps/s]")  # fmt: skip
        for row in study.rows():
            print(f"   d = {row['d']:5d}: t median {row['t_median']:.4g} (10-90 % "
                  f"{row['t_q10']:.4g} - {row['t_q90']:.4g}), ODE {row['t_ode']:.4g}, "
                  f"{row['escaped']}/{row['seeds']} escaped")  # fmt: skip
        result["studies"].append({**study.summary(), "rows": study.rows(), "wall_s": wall,
                                  "sample_steps_per_s": samples / wall})  # fmt: skip
        save_json(options.out, result)
    save_json(options.out, result)
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
