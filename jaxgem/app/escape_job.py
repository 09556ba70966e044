"""`job = "escape"`: escape from the equator of spherical online SGD on single-index targets
`h_k` of the `escape` section — for each information exponent `k`, simulations and the ODE at
every dimension, the escape times against `d` and their log-log slopes (`jaxgem.escape`).

Each (k, d) is saved as it finishes (`escape_k{k}_d{d}.npz`), so an interrupted run resumes
where it stopped."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from .. import escape
from ..io import save_csv
from .config import ConfigError
from .plotting import plot_escape

__all__ = ["run_escape", "check_escape"]


def check_escape(section: dict) -> None:
    """What the configuration checks alone cannot see: one `lr0` per `k`."""
    if section["lr0"] and len(section["lr0"]) != len(section["k"]):
        raise ConfigError(f"escape.lr0 = {section['lr0']!r} needs one rate per k in "
                          f"escape.k = {section['k']!r} (or [] for the defaults)")  # fmt: skip


def _dims(section: dict, k: int, quick: bool) -> list[int]:
    dims = section["dims"] if k <= 2 else section["dims_high_k"]
    return dims[::2] if quick and len(dims) > 2 else dims


def run_escape(config, out: Path, *, progress, quick, echo, files, title, save):
    section = config["escape"]
    check_escape(section)
    key = jax.random.key(config["seed"])
    rows, summaries, studies = [], [], []
    for i, k in enumerate(section["k"]):
        runs = []
        for d in _dims(section, k, quick):
            path = out / f"escape_k{k}_d{d}.npz"
            if path.exists():
                run = escape.EscapeRun.load(path)
                echo(f"k = {k}, d = {d}: read from {path.name}")
            else:
                run = escape.escape_run(
                    k, d, jax.random.fold_in(jax.random.fold_in(key, k), d),
                    seeds=config["seeds"], lr0=section["lr0"][i] if section["lr0"] else None,
                    overlap_scale=section["overlap_scale"], threshold=section["threshold"],
                    horizon=section["horizon"], n_records=section["n_records"],
                    progress=progress,
                )  # fmt: skip
                run.save(path)
                files[f"k = {k}, d = {d}"] = path.name
                save()
            escaped = np.isfinite(run.simulated)
            echo(f"k = {k}, d = {d}: lr = {run.lr:.4g}, median escape t = {run.median():.4g} "
                 f"({escaped.sum()}/{escaped.size} escaped), ODE {run.ode:.4g}")  # fmt: skip
            runs.append(run)
        study = escape.EscapeStudy.of(runs)
        studies.append(study)
        rows += study.rows()
        summaries.append(study.summary())
        echo(f"k = {k}: log-log slope of the escape time {study.slope:.3f} ± "
             f"{study.slope_error:.3f} (ODE {study.ode_slope:.3f}; d -> infinity "
             f"{study.exponent:g}{', with a log' if k == 2 else ''})")  # fmt: skip
        save_csv(out / "escape.csv", rows)
        files["table"] = "escape.csv"
        save()
    plot_escape(studies, out / "escape.png", title=title)
    files["plot"] = "escape.png"
    return rows, {"slopes": summaries}
