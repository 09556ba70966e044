"""The walkthrough of docs/fitting.md: one experiment through simulation, theory and fit.

Online SGD on the sign hidden manifold (N = 1000, D = 500, K = M = 2 erf, lr = 0.5, 8 seeds),
its spectral ODE theory (the finite matrix, and the N, D -> infinity limit), then the limit's
delta and lr fitted back from the simulated curve alone. Writes the figures and numbers the page
shows: `walkthrough-theory.png`, `fit.png`, `fit.json`, `fit.csv` in `--out`.

    python scripts/fit_walkthrough.py [--out docs/walkthrough]
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import jaxgem  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/walkthrough")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. the experiment: one Problem, simulated
    hmm = jaxgem.HiddenManifold.random(jax.random.key(11), N=1000, D=500, activation="sign")
    problem = jaxgem.Problem(
        hmm, jaxgem.GaussianInit(2, "erf"), jaxgem.GaussianInit(2, "erf", std=0.1), lr=0.5
    )
    traj = jaxgem.simulate(problem, jax.random.key(0), t_max=30.0, n_records=16,
                           spacing="linear", seeds=8)  # fmt: skip

    # 2. the theory: the spectral ODEs of this matrix, and of the N, D -> infinity limit, both
    #    from each seed's initial weights
    finite = jaxgem.theory(traj)
    limit_problem = problem.replace(data=hmm.limit())
    limit = jaxgem.theory(limit_problem, traj.t, start=traj.initial_order_parameters())
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(traj.t, traj.mean()[0], yerr=traj.sem()[0], fmt="o", ms=3, label="simulation")
    ax.plot(traj.t, np.asarray(finite.eg[0]).mean(0), "-", label="spectral ODEs (this F)")
    ax.plot(traj.t, np.asarray(limit.eg[0]).mean(0), "--", label="N, D -> infinity limit")
    ax.set(xlabel="t = steps / N", ylabel="generalisation error", yscale="log",
           title="sign hidden manifold, delta = 0.5, lr = 0.5")  # fmt: skip
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "walkthrough-theory.png", dpi=90)

    # 3. the fit: forget delta and lr, recover them from the simulated curve
    unknown = limit_problem.replace(
        data=jaxgem.HiddenManifoldLimit(1.0, "sign"),
        hyperparameters=jaxgem.Hyperparameters(lr=0.3),
    )
    result = jaxgem.fit(dataclasses.replace(traj, problem=unknown), free={"delta": 1.0, "lr": 0.3})
    print("\n".join(result.summary()))
    for path in result.save(out):
        print(f"wrote {path}")
    print(f"wrote {out / 'walkthrough-theory.png'}")


if __name__ == "__main__":
    main()
