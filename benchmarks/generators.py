"""Throughput of the generator tools: the streaming Monte Carlo moment estimator against a NumPy
research-script baseline, and online SGD on the DCGAN-style convolutional generator.

- Convergence: the Monte Carlo Omega and Phi of a one-layer sign generator against the exact
  arcsine law, actual and estimated relative Frobenius errors, at 10^4, 4 x 10^4, 1.6 x 10^5
  samples;
- Moments of a deep random sign generator (D = 100 -> 500 -> N = 1000): samples per second of
  `estimate_moments` (jitted, batches of 1000, fourth moments on every 4th batch) against NumPy
  doing the same per batch (generate with float64 matrix products, accumulate `x^T x`, `x^T c`
  and the fourth-moment sums on every 4th batch), after a warm-up;
- online SGD on `ConvGenerator.random` (D = 100, N = 3072), K = M = 2 erf, eta = 0.2, with 8 and 32
  seeds: sample-steps per second (one SGD step of one seed), compile time apart; and the
  generator's own cost (images per second, batched) as the bound the engine cannot beat.

    python benchmarks/generators.py [--quick] [--out benchmarks/results/generators.json]
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxgem
from jaxgem.generators import ConvGenerator, DeepRandomGenerator, estimate_moments
from jaxgem.io import save_json
from jaxgem.provenance import run_metadata


def jax_moment_rate(gen, samples: int) -> float:
    options = dict(rtol=1e-9, batch_size=1000, batches_per_chunk=10)
    estimate_moments(gen, jax.random.key(0), min_samples=10_000, max_samples=10_000, **options)
    start = time.perf_counter()
    estimate_moments(gen, jax.random.key(1), min_samples=samples, max_samples=samples, **options)
    return samples / (time.perf_counter() - start)


def numpy_moment_rate(gen, samples: int) -> float:
    weights = [np.asarray(w, np.float64) for w in gen.weights]
    N, D = gen.output_dim, gen.latent_dim
    rng = np.random.default_rng(0)
    sxx, sxc, sx = np.zeros((N, N)), np.zeros((N, D)), np.zeros(N)
    fourth = np.zeros((N, N))
    start = time.perf_counter()
    for batch in range(samples // 1000):
        c = rng.standard_normal((1000, D))
        x = c
        for W in weights:
            x = np.sign(x @ W.T)
        sx += x.sum(0)
        sxx += x.T @ x
        sxc += x.T @ c
        if batch % 4 == 0:
            x2 = x**2
            fourth += x2.T @ x2
    return samples / (time.perf_counter() - start)


def convergence_table(samples_list):
    """Relative Frobenius error of the Monte Carlo Omega and Phi against the exact arcsine law
    of a one-layer sign generator (D = 50, N = 200), actual and estimated, against samples."""
    gen = DeepRandomGenerator.random(jax.random.key(0), [50, 200], "sign")
    omega, phi = jaxgem.HiddenManifold(gen.weights[0] * np.sqrt(50), "sign").covariances()
    rows = []
    print(f"{'samples':>9}{'Omega err':>11}{'estimated':>11}{'Phi err':>10}{'estimated':>11}")
    for n in samples_list:
        m = estimate_moments(gen, jax.random.key(1), rtol=1e-9, min_samples=n, max_samples=n)
        row = dict(
            samples=n,
            omega_error=float(jnp.linalg.norm(m.omega - omega) / jnp.linalg.norm(omega)),
            omega_estimated=m.omega_error,
            phi_error=float(jnp.linalg.norm(m.phi - phi) / jnp.linalg.norm(phi)),
            phi_estimated=m.phi_error,
        )
        rows.append(row)
        print(
            f"{n:>9}{row['omega_error']:>11.4f}{row['omega_estimated']:>11.4f}"
            f"{row['phi_error']:>10.4f}{row['phi_estimated']:>11.4f}"
        )
    return rows


def sgd_rate(gen_data, seeds: int, t_max: float):
    problem = jaxgem.Problem(
        gen_data,
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit(2, "erf", std=0.1),
        lr=0.2,
        train_second_layer=True,
    )
    run = lambda key: jaxgem.simulate(problem, key, t_max=t_max, n_records=2, seeds=seeds)  # noqa: E731
    start = time.perf_counter()
    run(jax.random.key(0))
    first = time.perf_counter() - start
    start = time.perf_counter()
    run(jax.random.key(1))
    seconds = time.perf_counter() - start
    steps = int(round(t_max * gen_data.input_dim))
    return steps * seeds / seconds, first - seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/generators.json")
    args = parser.parse_args()
    samples = 20_000 if args.quick else 100_000
    convergence = convergence_table([10_000, 40_000] if args.quick else [10_000, 40_000, 160_000])
    deep = DeepRandomGenerator.random(jax.random.key(0), [100, 500, 1000], "sign")
    ours = jax_moment_rate(deep, samples)
    numpy = numpy_moment_rate(deep, samples // 5)
    print(
        f"moments, deep sign generator 100 -> 500 -> 1000: jaxgem {ours:,.0f} samples/s, "
        f"NumPy {numpy:,.0f} samples/s ({ours / numpy:.1f}x)"
    )
    conv = ConvGenerator.random(jax.random.key(0))
    images = eqx.filter_jit(lambda g, c: g.batch(c))
    c = jax.random.normal(jax.random.key(1), (1000, 100))
    jax.block_until_ready(images(conv, c))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        jax.block_until_ready(images(conv, c))
        best = min(best, time.perf_counter() - start)
    image_rate = 1000 / best

    def body(total, k):  # the same generation inside a loop body, as in the engine
        return total + conv.batch(jax.random.normal(k, (128, 100))).sum(), None

    in_loop = jax.jit(lambda k: jax.lax.scan(body, 0.0, jax.random.split(k, 16))[0])
    jax.block_until_ready(in_loop(jax.random.key(3)))
    start = time.perf_counter()
    jax.block_until_ready(in_loop(jax.random.key(4)))
    loop_rate = 16 * 128 / (time.perf_counter() - start)
    print(
        f"convolutional generator alone: {image_rate:,.0f} images/s batched at top level, "
        f"{loop_rate:,.0f} images/s in blocks of 128 inside lax.scan (XLA:CPU)"
    )
    moments = estimate_moments(
        conv, jax.random.key(2), rtol=1.0, min_samples=4000, max_samples=4000
    )
    data = jaxgem.GeneratorData.from_moments(conv, moments)
    rows = []
    for seeds in (8, 32):
        rate, compile_s = sgd_rate(data, seeds, 0.1 if args.quick else 0.5)
        rows.append(
            dict(
                seeds=seeds,
                sample_steps_per_s=rate,
                compile_s=compile_s,
                ratio_to_in_scan_generator=rate / loop_rate,
            )
        )
        print(
            f"online SGD on the convolutional generator (N = 3072), {seeds} seeds: "
            f"{rate:,.0f} sample-steps/s ({rate / loop_rate:.2f} of the in-loop generator rate; "
            f"compile {compile_s:.1f} s)"
        )
    result = dict(
        benchmark="generators",
        **run_metadata(),
        convergence=convergence,
        moments=dict(jaxgem_samples_per_s=ours, numpy_samples_per_s=numpy, speedup=ours / numpy),
        conv_images_per_s=image_rate,
        conv_images_per_s_in_scan=loop_rate,
        conv_sgd=rows,
    )
    out = save_json(args.out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
