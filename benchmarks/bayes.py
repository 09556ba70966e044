"""Bayes-optimal GLMs: state evolution per alpha and for a vmapped 64-point curve, a threshold,
and GAMP iterations per second, each beside a plain NumPy/SciPy baseline of the same computation
(adaptive quadrature per call, `scipy.integrate.quad`, as research scripts do), in one run.

    python benchmarks/bayes.py [--quick]      # writes benchmarks/results/bayes.json

Times are after compilation (compile time reported separately), float64 on both sides.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy import integrate, optimize, special  # noqa: E402

from jaxgem import bayes  # noqa: E402
from jaxgem.io import save_json  # noqa: E402
from jaxgem.provenance import run_metadata  # noqa: E402


def clock(fn, repeat=3):
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return best


# ---------------------------------------------------------------- the SciPy baseline (float64)
def scipy_g_squared_sign(m):
    V = 1 - m

    def integrand(v):
        x = math.sqrt(m / V) * v
        log_value = -v * v / 2 - x * x - special.log_ndtr(x)
        return math.exp(log_value) / (2 * math.pi * math.sqrt(2 * math.pi))

    return 2 / V * integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-12, limit=200)[0]


def scipy_g_squared_abs(m):
    V = 1 - m

    def inner(v):
        omega = math.sqrt(m) * v

        def over_xi(xi):
            y = abs(omega + math.sqrt(V) * xi)
            g = -omega / V + y / V * math.tanh(y * omega / V)
            return g * g * math.exp(-xi * xi / 2) / math.sqrt(2 * math.pi)

        return integrate.quad(over_xi, -12, 12, epsabs=1e-10, limit=200)[0]

    outer = lambda v: inner(v) * math.exp(-v * v / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    return integrate.quad(outer, -12, 12, epsabs=1e-10, limit=200)[0]


def scipy_state_evolution(alpha, g_squared, tol=1e-10, max_steps=2000):
    """Gaussian prior: m = mh / (1 + mh), iterated to tolerance."""
    m = 1e-6
    for _ in range(max_steps):
        mh = alpha * g_squared(m)
        new = mh / (1 + mh)
        if abs(new - m) < tol:
            return new
        m = new
    return m


def scipy_rademacher_overlap(mh):
    f = lambda z: math.tanh(mh + math.sqrt(mh) * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    return integrate.quad(f, -12, 12, epsabs=1e-12, limit=200)[0]


def scipy_alpha_alg_binary(points=200):
    """alpha(mh) = mh / E g^2(m(mh)) on a grid, then its maximum by bounded scalar search."""

    def alpha(u):
        m = min(scipy_rademacher_overlap(math.exp(u)), 1 - 1e-12)
        return math.exp(u) / scipy_g_squared_sign(m)

    u = np.linspace(np.log(0.3), np.log(10.0), points)
    values = [alpha(x) for x in u]
    i = int(np.argmax(values))
    found = optimize.minimize_scalar(lambda x: -alpha(x), bounds=(u[i - 1], u[i + 1]),
                                     method="bounded", options=dict(xatol=1e-10))  # fmt: skip
    return -found.fun


def numpy_gamp_sign(F, y, iterations):
    """The same GAMP (Gaussian prior, sign channel), in NumPy."""
    n, d = F.shape
    F2 = F * F
    a, v, g = np.zeros(d), np.ones(d), np.zeros(n)
    for _ in range(iterations):
        V = F2 @ v
        omega = F @ a - V * g
        x = y * omega / np.sqrt(V)
        ratio = np.exp(-x * x / 2 - 0.5 * np.log(2 * np.pi) - special.log_ndtr(x))
        g = y * ratio / np.sqrt(V)
        dg = -ratio * (x + ratio) / V
        Sigma = 1 / np.maximum(-(F2.T @ dg), 1e-300)
        R = a + Sigma * (F.T @ g)
        a, v = R / (1 + Sigma), Sigma / (1 + Sigma)
    return a


def bench_state_evolution(name, prior, channel, baseline) -> dict:
    """One alpha point, a vmapped 64-point curve, and the SciPy iteration at the same point."""
    alpha = 2.0 if name == "sign" else 1.5
    grid = jnp.linspace(0.6, 5.0, 64)
    start = time.perf_counter()
    jax.block_until_ready(bayes.state_evolution(prior, channel, alpha).m)
    compile_s = time.perf_counter() - start
    one = clock(lambda: bayes.state_evolution(prior, channel, alpha).m)
    jax.block_until_ready(bayes.state_evolution(prior, channel, grid).m)
    curve = clock(lambda: bayes.state_evolution(prior, channel, grid).m)
    start = time.perf_counter()
    m_scipy = scipy_state_evolution(alpha, baseline)
    scipy_s = time.perf_counter() - start
    m_jax = float(bayes.state_evolution(prior, channel, alpha).m)
    print(f"SE {name} at alpha {alpha}: jaxgem {1e3 * one:.1f} ms/alpha, {1e3 * curve / 64:.2f} "
          f"ms/alpha in a 64-point curve (compile {compile_s:.1f} s); SciPy quad "
          f"{1e3 * scipy_s:.0f} ms; m {m_jax:.10f} vs {m_scipy:.10f}")  # fmt: skip
    return dict(alpha=alpha, jaxgem_s_per_alpha=one, jaxgem_s_per_alpha_in_64_curve=curve / 64,
                compile_s=compile_s, scipy_s_per_alpha=scipy_s, m_jaxgem=m_jax,
                m_scipy=m_scipy)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 2000 for GAMP")
    args = parser.parse_args()
    results = {}
    prior, sign, absolute = bayes.Gaussian(), bayes.Sign(), bayes.Abs()

    for name, channel, baseline in (("sign", sign, scipy_g_squared_sign),
                                    ("abs", absolute, scipy_g_squared_abs)):  # fmt: skip
        results[f"state_evolution_{name}"] = bench_state_evolution(name, prior, channel, baseline)

    rademacher = bayes.Rademacher()
    start = time.perf_counter()
    found = bayes.thresholds(rademacher, sign)
    first = time.perf_counter() - start
    again = clock(lambda: bayes.thresholds(rademacher, sign).alpha_alg, repeat=2)
    start = time.perf_counter()
    scipy_alg = scipy_alpha_alg_binary()
    scipy_s = time.perf_counter() - start
    results["thresholds_binary_perceptron"] = dict(
        alpha_alg=float(found.alpha_alg), alpha_it=float(found.alpha_it), first_call_s=first,
        after_compile_s=again, scipy_alpha_alg=scipy_alg, scipy_alpha_alg_s=scipy_s,
    )  # fmt: skip
    print(f"thresholds (binary perceptron): alpha_alg {float(found.alpha_alg):.6f}, alpha_IT "
          f"{float(found.alpha_it):.6f} in {again:.2f} s ({first:.1f} s with compilation); SciPy "
          f"alpha_alg alone {scipy_alg:.6f} in {scipy_s:.1f} s")  # fmt: skip

    N = 2000 if args.quick else 10_000
    alpha, iterations = 2.0, 20
    key_w, key_x = jax.random.split(jax.random.key(0))
    w = prior.sample(key_w, (N,), jnp.float64)
    F = jax.random.normal(key_x, (int(alpha * N), N), jnp.float64) / np.sqrt(N)
    y = jnp.sign(F @ w)
    run = jax.jit(lambda F, y: bayes.gamp(prior, sign, F, y, iterations=iterations).a)
    jax.block_until_ready(run(F, y))
    jax_s = clock(lambda: run(F, y), repeat=2)
    lean = jax.jit(lambda F, y: bayes.gamp(prior, sign, F, y, iterations=iterations,
                                           variances="uniform").a)  # fmt: skip
    jax.block_until_ready(lean(F, y))
    lean_s = clock(lambda: lean(F, y), repeat=2)
    F_np, y_np = np.asarray(F), np.asarray(y)
    start = time.perf_counter()
    a_np = numpy_gamp_sign(F_np, y_np, iterations)
    numpy_s = time.perf_counter() - start
    a_jax = np.asarray(run(F, y))
    results["gamp_sign"] = dict(
        N=N, alpha=alpha, iterations=iterations, jaxgem_iterations_per_s=iterations / jax_s,
        numpy_iterations_per_s=iterations / numpy_s,
        jaxgem_uniform_variances_iterations_per_s=iterations / lean_s,
        max_difference=float(np.max(np.abs(a_np - a_jax))),
    )  # fmt: skip
    print(f"GAMP sign, N = {N}, alpha = {alpha}: jaxgem {iterations / jax_s:.1f} it/s, NumPy "
          f"{iterations / numpy_s:.1f} it/s (same algorithm, float64; estimates agree to "
          f"{results['gamp_sign']['max_difference']:.1e}); uniform variances "
          f"{iterations / lean_s:.1f} it/s")  # fmt: skip

    out = save_json(Path(__file__).parent / "results" / "bayes.json",
                    dict(results=results, **run_metadata()))  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
