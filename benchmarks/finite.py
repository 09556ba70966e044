"""Full-batch gradient descent on a finite training set (issue 16, item 4): GD steps per second
of `jaxgem.finite.gradient_descent` (linear networks, N = 1000, n = 2000 samples, 8 seeds,
float32, after compilation) beside a NumPy script of the same algorithm and precision (the 8
seeds batched in one einsum per step, or one seed after another: the better counts), in one
run. A step reads the training set twice (fields, then gradient): memory-bound unless one
seed's set stays in cache, which is why jaxgem runs the seeds one after another.

Then the theory on features: one test/training-error curve (50 records) of the Gaussian
covariate model at N (`finite.covariate_gd_theory`, deterministic equivalents on a contour)
beside the same curve from the exact finite-n formulas on sampled covariances (one
eigendecomposition of `X^T X / n` per sample, float64), with the samples' spread.

    python benchmarks/finite.py [--quick]        # writes benchmarks/results/finite.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np

import jaxgem
from jaxgem import finite
from jaxgem.io import save_json
from jaxgem.provenance import run_metadata


def numpy_gd(x, y, u, lr, steps):
    """`u <- u + lr (1/n) X^T (y - X u)` for every seed: x (S, n, N), y (S, n), u (S, N)."""
    n = x.shape[1]
    for _ in range(steps):
        error = y - np.einsum("snd,sd->sn", x, u)
        u = u + (lr / n) * np.einsum("snd,sn->sd", x, error)
    return u


def numpy_gd_per_seed(x, y, u, lr, steps):
    """The same, one seed after another (its training set stays in cache within a step)."""
    n = x.shape[1]
    out = []
    for xs, ys, us in zip(x, y, u):
        for _ in range(steps):
            us = us + (lr / n) * (xs.T @ (ys - xs @ us))
        out.append(us)
    return np.stack(out)


def sampled_curve(rng, w, U, a, alpha, lr, steps, noise_eff, residual):
    """The exact finite-n test error of GD after `steps` on one sampled training set of
    Gaussian inputs with covariance `U diag(w) U^T` (float64)."""
    N = w.size
    n = int(alpha * N)
    X = rng.normal(size=(n, N)) * np.sqrt(w) @ U.T
    s, V = np.linalg.eigh(X.T @ X / n)
    s = np.clip(s, 0, None)
    null = s < 1e-9
    omega_v = V.T @ ((U * w) @ (U.T @ V))  # Omega in S's eigenbasis
    a_s = V.T @ a
    P = (1 - lr * s[None, :]) ** np.asarray(steps, float)[:, None]  # (R, N)
    fitted = np.where(null, 0, (1 - P) ** 2 / np.where(null, 1, s))
    moved = P * a_s
    signal = np.einsum("ri,ij,rj->r", moved, omega_v, moved)
    return 0.5 * (signal + noise_eff / n * fitted @ np.diag(omega_v) + residual)


def theory_benchmark(N: int) -> dict:
    """The covariate theory of one GD curve against sampled covariances (module docstring)."""
    rng = np.random.default_rng(0)
    D, alpha, lr, noise = N // 2, 2.0, 0.2, 0.5
    F = rng.normal(size=(N, D))
    omega = 2 / np.pi * F @ F.T / D + (1 - 2 / np.pi) * np.eye(N)  # sign features' kappa form
    w, U = np.linalg.eigh(omega)
    b = rng.normal(size=D) / np.sqrt(D)
    beta = np.linalg.solve(omega, np.sqrt(2 / np.pi) * F @ b / np.sqrt(D))
    residual, a = b @ b - beta @ omega @ beta, -beta
    steps = np.unique(np.round(np.geomspace(1, 300, 50)))
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        theory = finite.covariate_gd_theory(w, (U.T @ a) ** 2, alpha, lr, steps, noise=noise,
                                            residual=residual).test  # fmt: skip
        timings.append(time.perf_counter() - started)
    curves, sample_s = [], []
    for _ in range(3):
        started = time.perf_counter()
        curves.append(sampled_curve(rng, w, U, a, alpha, lr, steps, noise**2 + residual,
                                    residual))  # fmt: skip
        sample_s.append(time.perf_counter() - started)
    curves = np.array(curves)
    gap = float(np.max(np.abs(curves.mean(0) / theory - 1)))
    spread = float(np.max(curves.std(0, ddof=1) / theory))
    print(f"theory of one GD curve on sign features, N = {N}, n = {int(alpha * N)}, "
          f"{steps.size} records: covariate model {min(timings):.3f} s; one sampled training "
          f"set {min(sample_s):.3f} s (whose curve spreads by {spread:.2%} from sample to "
          f"sample); the mean of 3 samples is {gap:.2%} from the theory")  # fmt: skip
    return {
        "N": N, "records": int(steps.size), "theory_s": min(timings),
        "one_sample_s": min(sample_s), "sample_spread": spread, "gap_of_3_samples": gap,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 500")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "finite.json"))
    options = parser.parse_args()
    N, alpha, seeds, steps = (500 if options.quick else 1000), 2.0, 8, 200
    problem = jaxgem.Problem(jaxgem.IIDGaussian(N=N), teacher=jaxgem.GaussianInit(1, "linear"),
                             student=jaxgem.GaussianInit(1, "linear", std=0.0), lr=0.2,
                             noise=0.5)  # fmt: skip
    key = jax.random.key(0)

    def run(total):
        return finite.gradient_descent(problem, key, alpha=alpha, steps=total, n_records=2,
                                       seeds=seeds)  # fmt: skip

    def best_of_three(total):
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            result = run(total)
            timings.append(time.perf_counter() - started)
        return min(timings), result

    started = time.perf_counter()
    run(steps)
    compiled = time.perf_counter() - started
    whole, again = best_of_three(steps)
    run(2 * steps)  # compile the longer run too
    longer, _ = best_of_three(2 * steps)
    ours = longer - whole  # the steps alone: drawing the training set and the networks cancel
    train_set = finite.TrainingSet.draw(problem, key, int(alpha * N), seeds)
    x = np.asarray(train_set.x, np.float32)
    y = np.asarray(train_set.y, np.float32)
    u = np.zeros((seeds, N), np.float32)
    started = time.perf_counter()
    batched = numpy_gd(x, y, u, np.float32(0.2), steps)
    numpy_batched = time.perf_counter() - started
    started = time.perf_counter()
    u = numpy_gd_per_seed(x, y, u, np.float32(0.2), steps)
    numpy_per_seed = time.perf_counter() - started
    np.testing.assert_allclose(batched, u, rtol=1e-3, atol=1e-5)
    baseline = min(numpy_batched, numpy_per_seed)  # the better NumPy script
    teacher = np.asarray(train_set.teachers.w[:, 0], np.float32) / np.sqrt(N)
    numpy_eg = 0.5 * np.mean(np.sum((u - teacher) ** 2, axis=1))
    ours_eg = float(np.mean(again.test[0, :, -1]))
    print(f"GD, linear, N = {N}, n = {int(alpha * N)}, {seeds} seeds, {steps} steps, float32:")
    print(f"  jaxgem {steps * seeds / ours:.4g} seed-steps/s ({ours:.3f} s for the steps; the "
          f"whole call with the training set drawn {whole:.3f} s, first call {compiled:.2f} s "
          f"with compilation); NumPy {steps * seeds / baseline:.4g} "
          f"seed-steps/s ({baseline:.3f} s; seeds batched {numpy_batched:.3f} s, one after "
          f"another {numpy_per_seed:.3f} s): {baseline / ours:.2f}x")  # fmt: skip
    print(f"  final test error: jaxgem {ours_eg:.5f}, NumPy {numpy_eg:.5f} (same data)")
    theory = theory_benchmark(N)
    save_json(options.out, {
        "machine": run_metadata(), "N": N, "n": int(alpha * N), "seeds": seeds, "steps": steps,
        "jaxgem_s": ours, "jaxgem_whole_call_s": whole, "jaxgem_first_call_s": compiled,
        "numpy_s": baseline,
        "numpy_batched_s": numpy_batched, "numpy_per_seed_s": numpy_per_seed,
        "speedup": baseline / ours, "test_error": {"jaxgem": ours_eg, "numpy": numpy_eg},
        "covariate_theory": theory,
    })  # fmt: skip
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
