"""Run a configuration, either job, into an output folder: tables (CSV), a JSON record of what ran
and where it came from, a PNG, and for online SGD every trajectory and its theory.

`job = "online"`: every curve (a data model, and its Gaussian equivalent if asked) is simulated
(`jaxgem.simulate`) and predicted from each seed's own initial weights (`jaxgem.theory`).
Re-running into the same folder resumes from the checkpoints there (an interrupted run continues;
a finished one is read back), so nothing computed is lost.

`job = "erm"`: every curve's replica learning curve on a grid of `alpha` (one vmapped solve) and
finite-size ERM at a few `alpha` (seeds vmapped), from the same data model.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..data import IIDGaussian
from ..diagnostics import field_gaussianity_along
from ..io import save_csv, save_json, save_npz
from ..ode import theory
from ..online import simulate
from ..provenance import run_metadata
from ..replica import learning_curve, simulate_erm
from ..results import Trajectory
from . import build
from .config import curve_configs
from .plotting import plot_erm_curves, plot_learning_curves

__all__ = ["run", "summary_table"]


def run(
    config: dict,
    out_dir: str | Path,
    *,
    progress: bool = True,
    restart: bool = False,
    quick: bool = False,
    echo=print,
) -> dict:
    """Run `config` into `out_dir` and write `run.json` (the configuration, seed, versions,
    device, precision, start time, wall time, command and files). Returns what the job made:
    trajectories by curve (online) or the table rows (erm).

    - online: `eg.csv` (curve, hyperparameters, t, eg mean and standard error, seeds, and the
      ODE prediction `eg_theory`), `eg.png`, `<curve>.npz` (`jaxgem.Trajectory.load`) and
      `<curve>.theory.npz` (the prediction per run), `<curve>.checkpoint.npz` to resume from, and
      with `record.diagnostics` `diagnostics.csv` (how Gaussian the fields of each curve's first
      run are at every record);
    - erm: `curves.csv` (curve, kind `theory` or `erm`, alpha, test error and training loss with
      their standard errors, status) and `curves.png`; `quick` runs every other ERM point.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    job = _online if config["job"] == "online" else _erm
    made, record = job(config, out, progress=progress, restart=restart, quick=quick, echo=echo)
    save_json(
        out / "run.json",
        {
            "preset": config["name"],
            "config": config,
            "job": config["job"],
            "seed": config["seed"],
            **run_metadata(),
            "dtype": str(jnp.zeros(()).dtype),
            "started": started.isoformat(timespec="seconds"),
            "wall_s": round(time.perf_counter() - clock, 3),
            "command": sys.argv,
            **record,
        },
    )
    return made


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


def _curve_name(label: str | None, kind: str) -> str:
    return kind if label is None else f"{label} / {kind}"


# ------------------------------------------------------------------------------------- online
def _online(config, out: Path, *, progress, restart, quick, echo):
    del quick
    data_key, run_key = jax.random.split(jax.random.key(config["seed"]))
    curves: dict[str, tuple[dict, object, str]] = {}
    for label, curve_config in curve_configs(config):
        for kind, data in build.data_models(curve_config, data_key, out).items():
            curves[_curve_name(label, kind)] = (curve_config, data, label or "")
    results: dict[str, Trajectory] = {}
    predicted: dict[str, np.ndarray] = {}  # the ODE prediction (H, R) per curve
    spectra: dict[str, object] = {}  # a Gaussian equivalent shares its original's Omega
    diagnostics_rows: list[dict] = []
    files = {}
    for name, (curve_config, data, label) in curves.items():
        stem = _slug(name)
        checkpoint = out / f"{stem}.checkpoint.npz"
        if restart and checkpoint.exists():
            checkpoint.unlink()
        record = curve_config["record"]
        trajectory = simulate(
            build.problem(curve_config, data),
            run_key,
            seeds=curve_config["seeds"],
            t_max=record["t_max"],
            n_records=record["n_records"],
            spacing=record["spacing"],
            test_set_size=record["test_set_size"],
            checkpoint=checkpoint,
            progress=progress,
            description=name,
            record_weights=record["diagnostics"],
        )
        trajectory.metadata["config"] = curve_config
        trajectory.save(out / f"{stem}.npz")
        results[name] = trajectory
        files[name] = f"{stem}.npz"
        if not isinstance(data, IIDGaussian):
            spectra.setdefault(label, data.spectrum())
        prediction = theory(trajectory, spectrum=spectra.get(label))
        per_seed = np.where(trajectory.healthy[..., None], np.asarray(prediction.eg), np.nan)
        predicted[name] = np.nanmean(per_seed, axis=1)
        save_npz(out / f"{stem}.theory.npz", t=np.asarray(prediction.t), eg=per_seed)
        rows = [row for n, t in results.items() for row in t.rows(predicted.get(n), curve=n)]
        save_csv(out / "eg.csv", rows)
        if record["diagnostics"]:
            diagnostics_rows += _diagnostics_rows(name, trajectory, run_key)
            save_csv(out / "diagnostics.csv", diagnostics_rows)

    plot_learning_curves(
        results, out / "eg.png", title=config["description"] or config["name"], theory=predicted
    )
    divergences = {n: t.divergence_report() for n, t in results.items()}
    echo(summary_table(results, predicted))
    for lines in divergences.values():
        for line in lines:
            echo(line)
    written = [f"{_slug(n)}.npz" for n in results] + [f"{_slug(n)}.theory.npz" for n in results]
    echo(f"wrote {out}/eg.csv, eg.png, run.json and {', '.join(written)}")
    record = {
        "files": {
            "table": "eg.csv",
            "plot": "eg.png",
            "trajectories": files,
            **({"diagnostics": "diagnostics.csv"} if config["record"]["diagnostics"] else {}),
        },
        "divergences": divergences,
    }
    return results, record


def summary_table(curves: dict[str, Trajectory], theory: dict | None = None) -> str:
    """A text table: final eg (mean ± error over seeds, and the ODE's where available) per
    curve and hyperparameter run."""
    theory = theory or {}
    header = (
        f"{'curve':<22}{'lr':>8}{'noise':>8}{'batch':>6}{'t':>9}{'eg (mean ± sem)':>26}"
        f"{'theory':>12}{'seeds ok':>10}"
    )
    lines = [header, "-" * len(header)]
    for name, traj in curves.items():
        last = traj.completed - 1
        mean, sem = traj.mean(), traj.sem()
        hyper = traj.hyperparameters
        for h in range(mean.shape[0]):
            eg = f"{mean[h, last]:.5g} ± {sem[h, last]:.2g}"
            ok = f"{traj.healthy[h].sum()}/{traj.healthy.shape[1]}"
            predicted = f"{theory[name][h, last]:.5g}" if name in theory else "-"
            lines.append(
                f"{name:<22}{hyper['lr'][h]:>8.3g}{hyper['noise'][h]:>8.3g}"
                f"{hyper['batch_size'][h]:>6d}{traj.t[last]:>9.4g}{eg:>26}{predicted:>12}{ok:>10}"
            )
    return "\n".join(lines)


def _diagnostics_rows(name: str, trajectory: Trajectory, key) -> list:
    """One row per record: the Gaussianity statistics of the fields of the curve's first run."""
    t, diagnostics = field_gaussianity_along(trajectory, jax.random.fold_in(key, 1))
    columns = {k: v.tolist() for k, v in diagnostics.summary().items()}
    return [
        {"curve": name, "t": float(t[r]), **{k: v[r] for k, v in columns.items()}}
        for r in range(t.shape[0])
    ]


# ---------------------------------------------------------------------------------------- erm
def _erm(config, out: Path, *, progress, restart, quick, echo):
    del progress, restart
    data_key, teacher_key, erm_key = jax.random.split(jax.random.key(config["seed"]), 3)
    rows: list[dict] = []
    log_y: dict[str, bool] = {}
    for c, (label, curve_config) in enumerate(curve_configs(config)):
        erm = curve_config["erm"]
        label = label or f"{erm['loss']}, {erm['teacher']} teacher, lambda = {erm['lam']}"
        for kind, data in build.data_models(curve_config, data_key, out).items():
            name = label if kind != "gaussian_equivalent" else f"{label} (Gaussian equivalent)"
            log_y[name] = erm["log_y"]
            model = build.erm_model(data, teacher_key)
            options = dict(teacher=erm["teacher"], noise=erm["noise"])
            curve = learning_curve(
                model, erm["loss"], jnp.asarray(erm["alphas"]), erm["lam"], **options
            )
            for row in curve.rows():
                rows.append(
                    _erm_row(
                        name,
                        "theory",
                        row["alpha"],
                        row["test_error"],
                        0.0,
                        row["train_loss"],
                        0.0,
                        row["status"],
                    )
                )
            simulate_at = erm["simulate_at"][::2] if quick else erm["simulate_at"]
            for i, alpha in enumerate(simulate_at):
                result = simulate_erm(
                    model,
                    erm["loss"],
                    float(alpha),
                    erm["lam"],
                    jax.random.fold_in(erm_key, 1000 * c + i),
                    seeds=curve_config["seeds"],
                    **options,
                )
                mean, sem = float(result.mean()), float(result.sem())
                rows.append(
                    _erm_row(
                        name,
                        "erm",
                        float(alpha),
                        mean,
                        sem,
                        float(result.mean("train_loss")),
                        float(result.sem("train_loss")),
                        f"{curve_config['seeds']} seeds",
                    )
                )
                echo(f"{name}: alpha = {alpha:g}, ERM test error {mean:.4f} ± {sem:.4f}")
            save_csv(out / "curves.csv", rows)
    plot_erm_curves(rows, out / "curves.png", title=config["description"], log_y=log_y)
    echo(f"wrote {out}/curves.csv, curves.png, run.json")
    return rows, {"quick": quick, "files": {"table": "curves.csv", "plot": "curves.png"}}


def _erm_row(curve, kind, alpha, test, test_sem, train, train_sem, status) -> dict:
    return dict(
        curve=curve,
        kind=kind,
        alpha=alpha,
        test_error=test,
        test_error_sem=test_sem,
        train_loss=train,
        train_loss_sem=train_sem,
        status=status,
    )
