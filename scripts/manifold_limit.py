"""Online SGD on the sign hidden manifold at growing N against its N, D -> infinity theory on
Marchenko–Pastur nodes (no sampled matrix in the theory).

    python scripts/manifold_limit.py --out runs/manifold_limit   # about 2 min on 2 CPU cores

D = N / 2, K = M = 2 erf networks, eta = 0.2, first layer trained. Writes `manifold_limit.csv`
(N, t, simulated mean and standard error, theory) and `manifold_limit.png`, and prints the table.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import jax
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import jaxgem  # noqa: E402


def run(N: int, seeds: int, t_max: float, delta: float = 0.5):
    D = int(round(delta * N))
    hmm = jaxgem.HiddenManifold.random(jax.random.key(11), N, D, "sign")
    problem = jaxgem.Problem(
        hmm, jaxgem.GaussianInit(2, "erf"), jaxgem.GaussianInit(2, "erf", std=0.1), lr=0.2
    )
    traj = jaxgem.simulate(problem, jax.random.key(N), t_max=t_max, n_records=12, seeds=seeds)
    # the same problem with the N, D -> infinity limit as its data: the theory by type
    limit = problem.replace(data=hmm.limit())
    theory = jaxgem.theory(limit, traj.t, start=traj.initial_order_parameters()).eg[0]
    return traj.t, traj.mean()[0], traj.sem()[0], np.asarray(theory).mean(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/manifold_limit"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--t-max", type=float, default=20.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    fig, ax = plt.subplots(figsize=(6, 4))
    for N in args.sizes:
        t, mean, sem, theory = run(N, args.seeds, args.t_max)
        rows += [(N, *values) for values in zip(t, mean, sem, theory)]
        line = ax.errorbar(t[1:], mean[1:], sem[1:], fmt="o", ms=3, label=f"simulation N={N}")
        ax.plot(t[1:], theory[1:], "--", color=line[0].get_color(), lw=0.8)
        z = np.abs(mean - theory)[1:] / np.maximum(sem[1:], 1e-12)
        print(
            f"N={N:5d}  eg(t={t[-1]:.0f}) = {mean[-1]:.4f} ± {sem[-1]:.4f}  "
            f"limit theory {theory[-1]:.4f}  max |gap|/s.e. {z.max():.2f}"
        )
    ax.set(xscale="log", xlabel="t = steps / N", ylabel="eg", title="sign HMM, D = N/2, eta = 0.2")
    ax.legend(title="dashed: N, D -> inf theory", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "manifold_limit.png", dpi=120)
    with open(args.out / "manifold_limit.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["N", "t", "eg_mean", "eg_sem", "eg_theory_limit"])
        writer.writerows(rows)
    print(f"wrote {args.out / 'manifold_limit.csv'} and {args.out / 'manifold_limit.png'}")


if __name__ == "__main__":
    main()
