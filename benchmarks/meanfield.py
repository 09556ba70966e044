"""The wide-network particle flow (issue 16, item 3): cost of one evaluation of the particle
velocity (`jaxgem.meanfield`, erf, k = 1, float32, after compilation) against the width p, with
the log-log slope (the claim: no faster than p^2), beside the full K x K order-parameter ODE of
THEORY.md Sec. 3 (`ode.iid_vector_field`, with and without its (K + M)^4 variance integrals) at
K = p where it fits, in one run on this machine.

    python benchmarks/meanfield.py [--quick]        # writes benchmarks/results/meanfield.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jaxgem
from jaxgem import meanfield
from jaxgem.io import save_json
from jaxgem.ode.iid import OrderParameterState, RunArgs, iid_vector_field
from jaxgem.provenance import run_metadata


def per_call(fn, *args, repeats: int) -> float:
    """Seconds per call of a compiled `fn`, the best of three rounds of `repeats` calls."""
    jax.block_until_ready(fn(*args))
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            out = fn(*args)
        jax.block_until_ready(out)
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="p up to 3000, K up to 30")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "meanfield.json"))
    options = parser.parse_args()
    widths = [10, 100, 300, 1000, 3000] + ([] if options.quick else [10_000])
    P, A = jnp.eye(1), jnp.ones(1)
    velocity = jax.jit(lambda parts: meanfield._velocity_blocked(0.0, parts, (P, A, 64)))
    dense = jax.jit(lambda parts: meanfield._velocity(0.0, parts, (P, A)))
    particle_s, dense_s = {}, {}
    for p in widths:
        parts = meanfield.draw_particles(jax.random.key(0), p, quantiles=True)
        particle_s[p] = per_call(velocity, parts, repeats=max(1, int(2e6 / p**2)))
        dense_s[p] = per_call(dense, parts, repeats=max(1, int(2e6 / p**2)))
        print(f"particle velocity, p = {p:6d}: {particle_s[p] * 1e3:9.3f} ms in row blocks of "
              f"64 ({dense_s[p] * 1e3:9.3f} ms dense, by autodiff)")  # fmt: skip
    large = [p for p in widths if p >= 300]
    slope = float(np.polyfit(np.log(large), np.log([particle_s[p] for p in large]), 1)[0])
    print(f"log-log slope of the cost for p >= 300: {slope:.2f} (p^2 is 2)")

    erf = jaxgem.get_activation("erf")
    hyper = jax.tree.map(lambda a: a[0], jaxgem.Hyperparameters(lr=1.0))
    full_s = {}
    for K in [10, 30] + ([] if options.quick else [60]):
        parts = meanfield.draw_particles(jax.random.key(0), K, quantiles=True)
        Q, R = parts.order_parameters(P)
        state = OrderParameterState(Q=Q, R=R, v=jnp.full(K, 1.0 / K))
        for second_order in (False, True):
            args = RunArgs(T=P, A=A, hyper=hyper, activation=erf, teacher_activation=erf,
                           output_scale=1.0, train_second_layer=False,
                           second_order=second_order)  # fmt: skip
            field = jax.jit(lambda y, a=args: iid_vector_field(0.0, y, (a, None)))
            seconds = per_call(field, state, repeats=max(1, int(2e4 / K**3)))
            full_s[f"K={K}, second_order={second_order}"] = seconds
            print(f"K x K ODE, K = {K:3d}, variance terms {second_order!s:5}: "
                  f"{seconds * 1e3:9.3f} ms (particles at p = {K}: "
                  f"{per_call(velocity, parts, repeats=100) * 1e3:.3f} ms)")  # fmt: skip
    save_json(options.out, {
        "machine": run_metadata(),
        "particle_velocity_ms": {p: s * 1e3 for p, s in particle_s.items()},
        "dense_autodiff_velocity_ms": {p: s * 1e3 for p, s in dense_s.items()},
        "slope_p_ge_300": slope, "kxk_ode_ms": {k: s * 1e3 for k, s in full_s.items()},
    })  # fmt: skip
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
