"""Committee machine, K = 2 sign committee, Gaussian weights: a 64-point state-evolution curve
(after compilation) beside a NumPy/SciPy implementation of the same update (`scipy.integrate.
nquad` over the two Gaussian fields, Owen's T for the bivariate orthant probabilities, as a
research script would write it), per update and projected onto the curve's updates, in one run;
and AMP iterations per second at d = 2000, alpha = 2.

    python benchmarks/committee.py [--quick]      # writes benchmarks/results/committee.json

float64 on both sides; the SciPy update is timed at three overlaps and checked against jaxgem's.
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
from scipy import integrate, special  # noqa: E402

from jaxgem import committee  # noqa: E402
from jaxgem.committee.evolution import _to_vector, _Update  # noqa: E402
from jaxgem.io import save_json  # noqa: E402
from jaxgem.provenance import run_metadata  # noqa: E402


# ------------------------------------------------------------- the SciPy baseline (float64)
def owen_orthant(h, k, c):
    """P(u1 > -h, u2 > -k)... written as Phi2(h, k; c) = P(x1 < h, x2 < k) by Owen's T."""
    h = h if h != 0 else 1e-15
    k = k if k != 0 else 1e-15
    root = math.sqrt(1 - c * c)
    beta = 0.0 if h * k > 0 or (h * k == 0 and h + k >= 0) else 0.5
    return (0.5 * (special.ndtr(h) + special.ndtr(k))
            - special.owens_t(h, (k - c * h) / (h * root))
            - special.owens_t(k, (h - c * k) / (k * root)) - beta)  # fmt: skip


def label_terms(omega, V):
    """Z_out and its gradient in omega for Y = -1, 0, 1 of the K = 2 sign committee."""
    s1, s2 = math.sqrt(V[0, 0]), math.sqrt(V[1, 1])
    c = V[0, 1] / (s1 * s2)
    Z, G = {}, {}
    for y, patterns in ((1, [(1, 1)]), (-1, [(-1, -1)]), (0, [(1, -1), (-1, 1)])):
        Z[y], G[y] = 0.0, np.zeros(2)
        for a, b in patterns:
            h, k, cc = a * omega[0] / s1, b * omega[1] / s2, a * b * c
            rt = math.sqrt(1 - cc * cc)
            Z[y] += owen_orthant(h, k, cc)
            G[y] += np.array([a / s1 * math.exp(-h * h / 2) / math.sqrt(2 * math.pi)
                              * special.ndtr((k - cc * h) / rt),
                              b / s2 * math.exp(-k * k / 2) / math.sqrt(2 * math.pi)
                              * special.ndtr((h - cc * k) / rt)])  # fmt: skip
    return Z, G


def scipy_update(q, alpha, epsabs=1e-8):
    """One state-evolution step q -> (I + r)^{-1} r, r = alpha E sum_Y Z g g^T, by nquad."""
    L = np.linalg.cholesky(q + 1e-300 * np.eye(2)) if np.linalg.det(q) > 1e-14 else None
    if L is None:  # rank one (non-specialised)
        values, vectors = np.linalg.eigh(q)
        L = vectors * np.sqrt(np.maximum(values, 0))
    V = np.eye(2) - q

    def entry(i, j):
        def integrand(x1, x2):
            omega = L @ np.array([x1, x2])
            Z, G = label_terms(omega, V)
            total = sum(Z[y] * (G[y][i] / Z[y]) * (G[y][j] / Z[y]) for y in Z if Z[y] > 1e-300)
            return total * math.exp(-(x1 * x1 + x2 * x2) / 2) / (2 * math.pi)

        return integrate.nquad(integrand, [(-8, 8), (-8, 8)], opts=dict(epsabs=epsabs))[0]

    gg = np.array([[entry(0, 0), entry(0, 1)], [0.0, entry(1, 1)]])
    gg[1, 0] = gg[0, 1]
    r = alpha * gg
    return np.linalg.solve(np.eye(2) + r, r)


def clock(fn, repeat=2):
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one SciPy update, 2 AMP seeds")
    args = parser.parse_args()
    prior, channel = committee.GaussianWeights(2), committee.SignCommittee(2)
    grid = jnp.linspace(0.5, 4.0, 64)
    results = {}

    start = time.perf_counter()
    se = committee.committee_evolution(prior, channel, grid, start="informed")
    jax.block_until_ready(se.q)
    first = time.perf_counter() - start
    curve = clock(lambda: committee.committee_evolution(prior, channel, grid, start="informed").q)
    steps = int(np.sum(np.asarray(se.steps)))
    per_update = curve / steps
    print(f"state evolution, 64 alphas in [0.5, 4] from the informed start: {curve:.2f} s after "
          f"compilation ({first:.1f} s first call), {steps} updates: "
          f"{1e3 * per_update:.1f} ms per update")  # fmt: skip

    step = jax.jit(lambda a, q: _Update()(_to_vector(q), (a, prior, channel)))
    checks = [(1.5, 0.3 * np.ones((2, 2))), (3.0, np.array([[0.6, 0.2], [0.2, 0.6]]))]
    if not args.quick:
        checks.append((2.5, np.array([[0.5, 0.25], [0.25, 0.5]])))
    scipy_times, differences = [], []
    for alpha, q in checks:
        start = time.perf_counter()
        new = scipy_update(q, alpha)
        scipy_times.append(time.perf_counter() - start)
        ours = np.asarray(step(alpha, jnp.asarray(q)))
        differences.append(float(np.max(np.abs(_to_vector(new) - ours))))
        print(f"SciPy nquad update at alpha = {alpha}: {scipy_times[-1]:.1f} s "
              f"(|difference| to jaxgem {differences[-1]:.1e})")  # fmt: skip
    scipy_per_update = float(np.mean(scipy_times))
    print(f"per update: jaxgem {1e3 * per_update:.1f} ms, SciPy {scipy_per_update:.1f} s "
          f"({scipy_per_update / per_update:.0f}x); the curve's {steps} updates would take "
          f"SciPy {scipy_per_update * steps / 3600:.1f} h, jaxgem {curve:.1f} s")  # fmt: skip
    results["state_evolution_curve"] = dict(
        alphas=64, updates=steps, jaxgem_s=curve, jaxgem_first_call_s=first,
        jaxgem_s_per_update=per_update, scipy_s_per_update=scipy_per_update,
        scipy_projected_s=scipy_per_update * steps, max_difference=max(differences),
    )  # fmt: skip

    seeds = 2 if args.quick else 4
    run = lambda: (
        committee.committee_amp_experiment(  # noqa: E731
            prior, channel, 2.0, 2000, jax.random.key(0), seeds=seeds, iterations=20
        ).q_a
    )
    jax.block_until_ready(run())
    amp_s = clock(run)
    rate = seeds * 20 / amp_s
    print(f"AMP d = 2000, n = 4000, K = 2: {rate:.0f} iterations per second ({seeds} seeds)")
    results["amp"] = dict(d=2000, n=4000, seeds=seeds, iterations_per_s=rate)

    out = save_json(Path(__file__).parent / "results" / "committee.json",
                    dict(results=results, **run_metadata()))  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
