"""Plot the order parameters of a finished `jaxgem run`: Q, R and the readout v against time.

    python scripts/plot_order_parameters.py runs/default  # writes runs/default/order_parameters.png

One panel per curve of the run (e.g. hidden manifold and Gaussian equivalent), first
hyperparameter, every seed as a thin line: a quick look at specialisation (R_km for k != m
separating from R_kk) and at the growth of the weights (Q_kk).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import jaxgem  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a folder written by `jaxgem run`")
    parser.add_argument("--hyper", type=int, default=0, help="which hyperparameter run to show")
    args = parser.parse_args()
    record = json.loads((args.run / "run.json").read_text())
    curves = record["files"]["trajectories"]
    fig, axes = plt.subplots(len(curves), 3, figsize=(11, 3.2 * len(curves)), squeeze=False)
    for row, (name, file) in enumerate(curves.items()):
        traj = jaxgem.Trajectory.load(args.run / file)
        t, n = traj.t[1 : traj.completed], traj.completed
        for s in range(traj.eg.shape[1]):
            K, M = traj.R.shape[-2:]
            for k in range(K):
                axes[row, 0].plot(t, traj.Q[args.hyper, s, 1:n, k, k], lw=0.6)
                for m in range(M):
                    axes[row, 1].plot(t, traj.R[args.hyper, s, 1:n, k, m], lw=0.6)
                axes[row, 2].plot(t, traj.v[args.hyper, s, 1:n, k], lw=0.6)
        for ax, label in zip(axes[row], ("Q_kk", "R_km", "v_k")):
            ax.set_xscale("log")
            ax.set_xlabel("t")
            ax.set_title(f"{name}: {label}", fontsize=9)
    fig.tight_layout()
    out = args.run / "order_parameters.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
