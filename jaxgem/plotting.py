"""PNG plots of learning curves: eg(t), mean over seeds with a band of one standard error."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .io import atomic_write_bytes
from .results import Trajectory

__all__ = ["plot_learning_curves"]


def _label(name: str, trajectory: Trajectory, h: int) -> str:
    swept = [k for k, v in trajectory.hyperparameters.items() if np.unique(v).size > 1]
    parts = [name] + [f"{k}={trajectory.hyperparameters[k][h]:g}" for k in swept]
    return ", ".join(p for p in parts if p)


def plot_learning_curves(
    curves: dict[str, Trajectory], path, *, title: str = "", theory: dict | None = None
) -> Path:
    """Plot `eg(t)` of every curve and hyperparameter (log-log) and write a PNG atomically;
    `theory[name]`, an `(H, R)` array, is drawn as a black dashed line over its curve."""
    import io
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    styles = ["-", "--", ":", "-."]
    for i, (name, trajectory) in enumerate(curves.items()):
        n = trajectory.completed
        t, mean, sem = trajectory.t[1:n], trajectory.mean()[:, 1:n], trajectory.sem()[:, 1:n]
        for h in range(mean.shape[0]):
            (line,) = ax.plot(
                t, mean[h], styles[i % len(styles)], label=_label(name, trajectory, h)
            )
            ax.fill_between(
                t, mean[h] - sem[h], mean[h] + sem[h], color=line.get_color(), alpha=0.25
            )
            if theory and name in theory:
                label = "theory (ODE)" if (i, h) == (0, 0) else None
                ax.plot(t, theory[name][h, 1:n], "k--", lw=1, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("t = steps / N")
    ax.set_ylabel("generalisation error  eg")
    if title:
        ax.set_title(textwrap.fill(title, 80), fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())
