"""The paper's figure: online SGD on deep-generator inputs against the spectral ODE theory, one
panel per generator (simulation mean ± standard error, its Gaussian equivalent, theory).

    jaxgem run deep-sign --out runs/deep-sign          # about 2 min on 2 CPU cores
    jaxgem run conv-generator --out runs/conv          # about 10 min (Monte Carlo moments)
    jaxgem run digits-flow --out runs/digits           # about 2 min (trains the flow)
    python scripts/plot_generators.py runs/deep-sign runs/conv runs/digits --out generators.png

Reads each run's `eg.csv` (first hyperparameter) and prints the final-time agreement.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_curves(run: Path) -> dict[str, dict[str, np.ndarray]]:
    columns: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    with open(run / "eg.csv") as f:
        rows = list(csv.DictReader(f))
    first_lr = rows[0]["lr"]
    for row in rows:
        if row["lr"] != first_lr:
            continue
        for key in ("t", "eg_mean", "eg_sem", "eg_theory"):
            columns[row["curve"]][key].append(float(row[key] or "nan"))
    return {c: {k: np.asarray(v) for k, v in cols.items()} for c, cols in columns.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="folders written by `jaxgem run`")
    parser.add_argument("--out", type=Path, default=Path("generators.png"))
    args = parser.parse_args()
    fig, axes = plt.subplots(1, len(args.runs), figsize=(4.2 * len(args.runs), 3.6), squeeze=False)
    for ax, run in zip(axes[0], args.runs):
        config = json.loads((run / "run.json").read_text())["config"]
        curves = read_curves(run)
        for name, c in curves.items():
            t, m, s = c["t"][1:], c["eg_mean"][1:], c["eg_sem"][1:]
            ax.plot(t, m, label=name.replace("_", " "))
            ax.fill_between(t, m - s, m + s, alpha=0.25)
            print(
                f"{run.name:>16} {name:>20}: eg(t={t[-1]:.0f}) = {m[-1]:.4f} ± {s[-1]:.4f}, "
                f"theory {c['eg_theory'][-1]:.4f}"
            )
        theory = next(iter(curves.values()))
        ax.plot(theory["t"][1:], theory["eg_theory"][1:], "k--", label="theory (ODE)")
        data = config["data"]
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="t = steps / N",
            ylabel="eg",
            title=f"{data['model']} (N={data['N']}, D={data['D']})",
        )
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
