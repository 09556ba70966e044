"""How honest are `jaxgem.fit`'s uncertainties? Repeat a simulation with known parameters under
new keys, fit each, and count how often the truth lies within two reported standard errors
(95 % for honest Gaussian errors).

iid inputs, N = 1000, K = M = 2 erf, lr = 0.8, noise = 0.3, 8 seeds, t = 0..20 (11 records),
fitted from 0.5 / 0.1. Measured 2026-12-02 (20 repetitions, 2-core CPU, about 12 s each): 65 %
(lr) and 70 % (noise) within 2 sigma, rms z 2.0 and 1.9: the 8-seed sandwich errors are too
small (docs/api.md, known limitation).

    python scripts/fit_coverage.py [--repetitions 20] [--seeds 8]
"""

from __future__ import annotations

import argparse
import dataclasses

import jax
import numpy as np

import jaxgem

TRUE = {"lr": 0.8, "noise": 0.3}
GUESS = {"lr": 0.5, "noise": 0.1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    problem = jaxgem.Problem(
        jaxgem.IIDGaussian(N=1000),
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit(2, "erf", std=0.5),
        **TRUE,
    )
    unknown = problem.replace(hyperparameters=jaxgem.Hyperparameters(**GUESS))
    truth = np.array(list(TRUE.values()))
    scores = []
    for repetition in range(args.repetitions):
        traj = jaxgem.simulate(
            problem, jax.random.key(100 + repetition), t_max=20.0, n_records=11,
            spacing="linear", seeds=args.seeds,
        )  # fmt: skip
        result = jaxgem.fit(dataclasses.replace(traj, problem=unknown), free=GUESS)
        z = (result.values - truth) / result.stderr
        scores.append(z)
        print(
            f"{repetition:>3}: values {np.round(result.values, 4)}, errors "
            f"{np.round(result.stderr, 4)}, z {np.round(z, 2)}, converged {result.converged}",
            flush=True,
        )
    scores = np.array(scores)
    for i, name in enumerate(TRUE):
        inside = np.mean(np.abs(scores[:, i]) < 2)
        rms = np.sqrt(np.mean(scores[:, i] ** 2))
        print(f"{name}: {inside:.0%} within 2 reported sigma (honest: 95 %), rms z = {rms:.2f}")


if __name__ == "__main__":
    main()
