"""Throughput of jaxgem's online-SGD engine against its bounds and a NumPy loop.

For iid inputs (N = 500, 1000, 4000) and the sign hidden manifold model (D = N/2), with 1, 8 and
32 seeds, K = M = 2 erf networks, it measures in one run:

- the engine: sample-steps per second (one sample-step = one SGD step of one seed), compile time
  (first call) apart from run time;
- the random-number bound: the time `jax.random.normal` takes to draw one sample's Gaussian numbers
  (N for iid, D for the hidden manifold) with the same generator;
- the matrix-product bound (hidden manifold): the time of the product `c F^T` that makes one
  sample's input, batched over the same number of samples;
- the baselines: a plain NumPy loop doing the same per-step computation, one step at a time, in
  two styles: as research scripts are written (float64, `np.random.randn`) and tuned (float32,
  numpy's PCG64 `Generator`), both with scipy's erf;
- the machine's float32 matrix-product rate (GFLOP/s).

Prints a table and writes JSON (default `benchmarks/results/online_sgd.json`).

    python benchmarks/online_sgd.py            # the full table (about two minutes on 2 cores)
    python benchmarks/online_sgd.py --quick    # a smoke run at tiny sizes
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import erf as scipy_erf

import jaxgem
from jaxgem.io import save_json
from jaxgem.online import SimulationState, advance, default_steps_per_block
from jaxgem.provenance import run_metadata


def _timed(fn, *args, repeat: int = 3) -> float:
    """Best wall time of `repeat` calls of an already-compiled function."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - start)
    return best


def matmul_rate(n: int = 2048) -> float:
    """float32 GFLOP/s of an n x n matrix product."""
    a = jax.random.normal(jax.random.key(0), (n, n))
    product = jax.jit(lambda a: a @ a)
    jax.block_until_ready(product(a))
    return 2 * n**3 / _timed(product, a) / 1e9


def make_state(data_model, seeds: int) -> SimulationState:
    keys = jax.random.split(jax.random.key(0), seeds)
    teachers = eqx.filter_vmap(
        lambda k: jaxgem.TwoLayerNetwork.gaussian(k, 2, data_model.latent_dim, "erf")
    )(keys)
    students = eqx.filter_vmap(
        lambda k: jaxgem.TwoLayerNetwork.small(k, 2, data_model.input_dim, "erf")
    )(keys)
    students = jax.tree.map(lambda a: a[:, None], students)  # one hyperparameter
    return SimulationState(students, teachers, keys, jnp.asarray(0, jnp.int32))


def engine_rate(data_model, seeds: int, target_seconds: float) -> dict:
    N = data_model.input_dim
    steps = default_steps_per_block(N, 1)
    hyper = jaxgem.Hyperparameters(0.2)
    state = make_state(data_model, seeds)
    args = (data_model, hyper, steps, 1, False)
    start = time.perf_counter()
    jax.block_until_ready(advance(state, jnp.asarray(1, jnp.int32), *args))
    first_call = time.perf_counter() - start
    probe = _timed(lambda: advance(state, jnp.asarray(4, jnp.int32), *args), repeat=1) / 4
    n_blocks = max(2, int(target_seconds / max(probe, 1e-6)))
    elapsed = _timed(lambda: advance(state, jnp.asarray(n_blocks, jnp.int32), *args), repeat=2)
    sample_steps = n_blocks * steps * seeds
    return {
        "compile_s": first_call - probe,
        "run_s": elapsed,
        "seconds_per_sample_step": elapsed / sample_steps,
        "sample_steps_per_s": sample_steps / elapsed,
    }


def random_number_bound(count: int, samples: int) -> float:
    """Seconds to draw `count` standard normals per sample, per sample (jax.random.normal)."""
    draw = jax.jit(lambda key: jax.random.normal(key, (samples, count)))
    jax.block_until_ready(draw(jax.random.key(1)))
    return _timed(draw, jax.random.key(2)) / samples


def input_matmul_bound(model, samples: int) -> float:
    """Seconds per sample of the product `c F^T / sqrt D` that makes hidden-manifold inputs."""
    c = jax.random.normal(jax.random.key(3), (samples, model.latent_dim))
    product = jax.jit(lambda c, F: c @ F.T / math.sqrt(F.shape[1]))
    jax.block_until_ready(product(c, model.F))
    return _timed(product, c, model.F) / samples


def numpy_loop(model_name: str, N: int, D: int, steps: int, style: str) -> float:
    """Seconds per SGD step of a plain NumPy loop (one seed), in one of two styles:

    - `"script"`: float64 and `np.random.randn`, the way research scripts are written;
    - `"tuned"`: float32 and numpy's `Generator` (PCG64, ziggurat), the best case for NumPy.
    """
    dtype = np.float64 if style == "script" else np.float32
    rng = np.random.default_rng(0)
    if style == "script":
        normal = lambda n: np.random.randn(n)  # noqa: E731
    else:
        normal = lambda n: rng.standard_normal(n, dtype=np.float32)  # noqa: E731
    K = M = 2
    w = 1e-3 * rng.standard_normal((K, N)).astype(dtype)
    v = np.ones(K, dtype)
    B = rng.standard_normal((M, D)).astype(dtype)
    A = np.ones(M, dtype)
    F = rng.standard_normal((N, D)).astype(dtype) if model_name == "hidden_manifold" else None
    lr, root_n, root_d = 0.2, math.sqrt(N), math.sqrt(D)
    start = time.perf_counter()
    for _ in range(steps):
        if F is None:
            x = normal(N)
            c = x
        else:
            c = normal(D)
            x = np.sign(F @ c / root_d)
        lam = w @ x / root_n
        nu = B @ c / root_d
        error = A @ scipy_erf(nu / math.sqrt(2)) - v @ scipy_erf(lam / math.sqrt(2))
        gprime = math.sqrt(2 / math.pi) * np.exp(-(lam**2) / 2)
        w += (lr / root_n) * np.outer(v * gprime * error, x)
    return (time.perf_counter() - start) / steps


def batch_sweep(N: int, seeds: int, batches=(1, 16, 256), t_max: float = 0.2) -> dict:
    """Batch sizes as an array hyperparameter: the sweep `batches` in one compiled call (every
    step draws the largest batch, each run uses its first `batch_size` samples) against one
    call per batch size; iid inputs, K = M = 2 erf, `seeds` seeds, to `t_max`. Run times after
    compilation (each setting run twice, the second timed)."""

    def timed(batch_size) -> float:
        problem = jaxgem.Problem(
            jaxgem.IIDGaussian(N=N),
            jaxgem.GaussianInit(2, "erf"),
            jaxgem.GaussianInit.small(2, "erf"),
            lr=0.5,
            batch_size=batch_size,
        )
        run = lambda: jaxgem.simulate(problem, jax.random.key(0), t_max=t_max, seeds=seeds)  # noqa: E731
        run()
        start = time.perf_counter()
        run()
        return time.perf_counter() - start

    sweep = timed(list(batches))
    alone = {b: timed(b) for b in batches}
    print(
        f"batch sizes {list(batches)} at N = {N}, {seeds} seeds, t = {t_max}: one call "
        f"{sweep:.2f} s; one call per batch size {sum(alone.values()):.2f} s "
        f"({', '.join(f'{b}: {s:.2f} s' for b, s in alone.items())})"
    )
    return dict(N=N, seeds=seeds, t_max=t_max, batches=list(batches), sweep_s=sweep,
                alone_s={str(b): s for b, s in alone.items()})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a smoke run")
    parser.add_argument("--out", default="benchmarks/results/online_sgd.json")
    args = parser.parse_args()
    sizes, seed_counts, seconds = (
        ([100], [1, 2], 0.05) if args.quick else ([500, 1000, 4000], [1, 8, 32], 1.0)
    )

    rate = matmul_rate(256 if args.quick else 2048)
    print(f"float32 matrix-product rate: {rate:.1f} GFLOP/s   device: {jax.devices()[0]}")
    header = (
        f"{'model':<16}{'N':>6}{'D':>6}{'seeds':>6}{'compile s':>10}{'steps/s':>12}"
        f"{'us/step':>10}{'rng us':>9}{'x rng':>7}{'mm us':>8}{'x mm':>7}"
        f"{'script us':>10}{'x':>6}{'tuned us':>10}{'x':>6}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for model_name in ("iid", "hidden_manifold"):
        for N in sizes:
            D = N if model_name == "iid" else N // 2
            if model_name == "iid":
                model = jaxgem.IIDGaussian(N=N)
            else:
                model = jaxgem.HiddenManifold.random(
                    jax.random.key(0), N, D, "sign", moments="gaussian_equivalent"
                )
            steps = 300 if args.quick else 3000
            script_step = numpy_loop(model_name, N, D, steps, "script")
            tuned_step = numpy_loop(model_name, N, D, steps, "tuned")
            for seeds in seed_counts:
                engine = engine_rate(model, seeds, seconds)
                samples = seeds * default_steps_per_block(N, 1) * 16
                rng_bound = random_number_bound(D, samples)
                mm_bound = input_matmul_bound(model, samples) if model_name != "iid" else None
                per = engine["seconds_per_sample_step"]
                row = dict(
                    model=model_name,
                    N=N,
                    D=D,
                    seeds=seeds,
                    **engine,
                    random_number_bound_s=rng_bound,
                    ratio_to_random_bound=per / rng_bound,
                    matmul_bound_s=mm_bound,
                    ratio_to_matmul_bound=None if mm_bound is None else per / mm_bound,
                    numpy_script_s=script_step,
                    speedup_vs_numpy_script=script_step / per,
                    numpy_tuned_s=tuned_step,
                    speedup_vs_numpy_tuned=tuned_step / per,
                )
                rows.append(row)
                mm = f"{'':>8}{'':>7}"
                if mm_bound:
                    mm = f"{mm_bound * 1e6:8.2f}{per / mm_bound:7.2f}"
                print(
                    f"{model_name:<16}{N:>6}{D:>6}{seeds:>6}{engine['compile_s']:>10.2f}"
                    f"{engine['sample_steps_per_s']:>12.4g}{per * 1e6:>10.2f}"
                    f"{rng_bound * 1e6:>9.2f}{per / rng_bound:>7.2f}{mm}"
                    f"{script_step * 1e6:>10.1f}{script_step / per:>6.1f}"
                    f"{tuned_step * 1e6:>10.1f}{tuned_step / per:>6.1f}"
                )

    batch = batch_sweep(N=200 if args.quick else 1000, seeds=2 if args.quick else 8)
    result = {
        "benchmark": "online_sgd",
        "machine": platform.processor() or platform.machine(),
        "cpu_count": __import__("os").cpu_count(),
        "matmul_gflops": rate,
        **run_metadata(),
        "rows": rows,
        "batch_sweep": batch,
    }
    targets = [r for r in rows if r["N"] == 1000 and r["seeds"] == 32]
    for r in targets:
        if r["model"] == "iid":
            print(
                f"target iid N=1000, 32 seeds: {r['ratio_to_random_bound']:.2f}x the "
                f"random-number bound (<= 1.5); {r['speedup_vs_numpy_script']:.1f}x the NumPy "
                f"research-script loop, {r['speedup_vs_numpy_tuned']:.1f}x the tuned NumPy "
                "loop (>= 3)"
            )
        else:
            print(
                f"target hidden manifold N=1000 D=500, 32 seeds: "
                f"{r['ratio_to_matmul_bound']:.2f}x the matrix-product bound (<= 2)"
            )
    out = save_json(args.out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
