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
from collections.abc import Sequence
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
from ..online.recorder import CheckpointMismatch
from ..provenance import run_metadata
from ..replica import learning_curve, simulate_erm
from ..results import Trajectory
from . import build
from .config import ConfigError, curve_configs
from .feedback import plain_warnings, status
from .output import file_list, prepare_output
from .plotting import plot_erm_curves, plot_learning_curves, preload_pyplot

__all__ = ["run", "preflight", "summary_table"]


def run(
    config: dict,
    out_dir: str | Path,
    *,
    progress: bool = True,
    restart: bool = False,
    quick: bool = False,
    overrides: Sequence[str] = (),
    echo=print,
    announce=None,
) -> dict:
    """Run `config` into `out_dir` and write `run.json` (the configuration and the `overrides`
    that made it, seed, versions and source of jaxgem and its libraries, device, precision,
    command, start time, wall time, status and the files made); `announce()` is called once
    the input and the folder have passed their checks. Returns what the job made:
    trajectories by curve (online) or the table rows (erm).

    The folder is checked first: it must be writable, and results of another configuration
    there are refused unless `restart` (which removes them, and only them). Re-running the same
    configuration resumes from the checkpoints there.

    - online: `eg.csv` (curve, hyperparameters, t, eg mean and standard error, seeds, and the
      ODE prediction `eg_theory`), `eg.png`, `<curve>.npz` (`jaxgem.Trajectory.load`) and
      `<curve>.theory.npz` (the prediction per run, with each solve's status),
      `<curve>.checkpoint.npz` to resume from, and with `record.diagnostics` `diagnostics.csv`
      (how Gaussian the fields of each curve's first run are at every record);
    - erm: `curves.csv` (curve, kind `theory` or `erm`, alpha, test error and training loss with
      their standard errors, status) and `curves.png`; `quick` runs every other ERM point.
    """
    preflight(config)
    out = Path(out_dir)
    previous = prepare_output(out, config, restart=restart)
    if announce is not None:
        announce()  # once the input and the folder are known to be good
    if previous is not None and list(out.glob("*.checkpoint.npz")):
        echo(f"resuming the run in {out} started {previous.get('started', '?')}")
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    record = {
        "preset": config["name"],
        "config": config,
        "overrides": list(overrides),
        "job": config["job"],
        "seed": config["seed"],
        **run_metadata(),
        "dtype": str(jnp.zeros(()).dtype),
        "started": started.isoformat(timespec="seconds"),
        "command": sys.argv,
    }
    files: dict = {}

    def save(status: str, **extra):
        wall = round(time.perf_counter() - clock, 3)
        save_json(out / "run.json", {**record, "status": status, "wall_s": wall, **extra})

    save("running", files=files)
    jobs = {"online": _online, "erm": _erm, "bayes": _bayes, "committee": _committee,
            "escape": _escape, "finite": _finite, "phase": _phase,
            "meanfield": _meanfield}  # fmt: skip
    job = jobs[config["job"]]
    context = dict(
        progress=progress, quick=quick, echo=echo, files=files, title=_title(config, overrides)
    )
    try:
        made, extra = job(config, out, save=lambda: save("running", files=files), **context)
    except BaseException:
        save("interrupted", files=files)
        raise
    save("finished", files=files, **extra)
    echo(f"wrote {out}/: run.json, {', '.join(file_list(files))}")
    return made


def _bayes(config, out, **context):
    from .bayes_job import run_bayes  # imported for its job only (a tenth of a second each)

    return run_bayes(config, out, **context)


def _committee(config, out, **context):
    from .committee_job import run_committee

    return run_committee(config, out, **context)


def _escape(config, out, **context):
    from .escape_job import run_escape

    return run_escape(config, out, **context)


def _finite(config, out, **context):
    from .finite_job import run_finite

    return run_finite(config, out, **context)


def _phase(config, out, **context):
    from .phase_job import run_phase

    return run_phase(config, out, **context)


def _meanfield(config, out, **context):
    from .meanfield_job import run_meanfield

    return run_meanfield(config, out, **context)


def preflight(config: dict) -> None:
    """Refuse bad input of every curve before anything is computed (`build.preflight`; for
    the Bayes job, the prior and channel of its section)."""
    if config["job"] == "bayes":
        from .bayes_job import model_of

        model_of(config["bayes"])
        return
    if config["job"] == "committee":
        from .committee_job import committee_model_of

        committee_model_of(config["committee"])
        return
    if config["job"] == "escape":
        from .escape_job import check_escape

        check_escape(config["escape"])
        return
    if config["job"] == "phase":
        from .phase_job import check_phase

        check_phase(config["phase"])
        return
    if config["job"] == "finite":
        from .finite_job import check_finite

        check_finite(config)
    for _, curve_config in curve_configs(config):
        build.preflight(curve_config)


def _title(config: dict, overrides: Sequence[str]) -> str:
    """The plot's title: the description, or the name and what `--set` changed (the
    description may no longer hold)."""
    if not overrides:
        return config["description"] or config["name"]
    return f"{config['name']} with " + ", ".join(overrides)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")


def _curve_name(label: str | None, kind: str) -> str:
    return kind if label is None else f"{label} / {kind}"


# ------------------------------------------------------------------------------------- online
def _online(config, out: Path, *, progress, quick, echo, files, title, save):
    del quick
    preload_pyplot()
    data_key, run_key = jax.random.split(jax.random.key(config["seed"]))
    curves: dict[str, tuple[dict, object, str]] = {}
    for label, curve_config in curve_configs(config):
        what = f"building the data model{'' if label is None else f' of {label}'}"
        with status(what, enabled=progress):
            models = build.data_models(curve_config, data_key, out)
        for kind, data in models.items():
            curves[_curve_name(label, kind)] = (curve_config, data, label or "")
    results: dict[str, Trajectory] = {}
    predicted: dict[str, np.ndarray] = {}  # the ODE prediction (H, R) per curve
    spectra: dict[str, object] = {}  # a Gaussian equivalent shares its original's Omega
    diagnostics_rows: list[dict] = []
    files.update(table="eg.csv", trajectories={}, theory={}, checkpoints={})
    theory_failures: dict[str, list[str]] = {}
    for name, (curve_config, data, label) in curves.items():
        stem = _slug(name)
        checkpoint = out / f"{stem}.checkpoint.npz"
        files["checkpoints"][name] = checkpoint.name
        save()
        record = curve_config["record"]
        try:
            with plain_warnings(echo):
                trajectory = simulate(
                    build.problem(curve_config, data),
                    run_key,
                    seeds=curve_config["seeds"],
                    t_max=record["t_max"],
                    n_records=record["n_records"],
                    spacing=record["spacing"],
                    test_set_size=record["test_set_size"],
                    checkpoint=checkpoint,
                    save_every=record["save_every"],
                    progress=progress,
                    description=name,
                    record_weights=record["diagnostics"],
                )
        except CheckpointMismatch:
            raise ConfigError(
                f"{checkpoint} was written by a different run (another configuration, seed or "
                "version): add --restart to start afresh, or choose another --out"
            ) from None
        trajectory.metadata["config"] = curve_config
        trajectory.save(out / f"{stem}.npz")
        results[name] = trajectory
        files["trajectories"][name] = f"{stem}.npz"
        if not isinstance(data, IIDGaussian) and label not in spectra:
            with status(f"{name}: the spectrum of the input covariance", enabled=progress):
                spectra[label] = data.spectrum()
        with status(f"{name}: solving the ODE theory", enabled=progress):
            prediction = theory(trajectory, spectrum=spectra.get(label))
            eg = np.asarray(prediction.eg)
        theory_failures[name] = prediction.report(label=lambda i, run=trajectory: run.run_label(*i))
        per_seed = np.where(trajectory.healthy[..., None], eg, np.nan)
        predicted[name] = _mean_of_finite(per_seed)
        save_npz(
            out / f"{stem}.theory.npz",
            t=np.asarray(prediction.t),
            eg=per_seed,
            status=np.asarray(prediction.status),
        )
        files["theory"][name] = f"{stem}.theory.npz"
        rows = [row for n, t in results.items() for row in t.rows(predicted.get(n), curve=n)]
        save_csv(out / "eg.csv", rows)
        if record["diagnostics"]:
            diagnostics_rows += _diagnostics_rows(name, trajectory, run_key)
            save_csv(out / "diagnostics.csv", diagnostics_rows)
            files["diagnostics"] = "diagnostics.csv"
        save()

    plot_learning_curves(results, out / "eg.png", title=title, theory=predicted)
    files["plot"] = "eg.png"
    echo(summary_table(results, predicted))
    for lines in theory_failures.values():
        for line in lines:
            echo(line)
    record = {
        "divergences": {n: t.divergence_report() for n, t in results.items()},
        "theory_failures": theory_failures,
    }
    return results, record


def _mean_of_finite(values: np.ndarray) -> np.ndarray:
    """The mean over axis 1 of the finite entries; NaN where there are none."""
    finite = np.isfinite(values)
    count = finite.sum(axis=1)
    total = np.where(finite, values, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


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
            if not np.isfinite(mean[h, last]):
                eg = "diverged"
            elif np.isfinite(sem[h, last]):
                eg = f"{mean[h, last]:.5g} ± {sem[h, last]:.2g}"
            else:
                eg = f"{mean[h, last]:.5g} (no error bar)"
            ok = f"{traj.healthy[h].sum()}/{traj.healthy.shape[1]}"
            predicted = "-"
            if name in theory:
                value = theory[name][h, last]
                predicted = f"{value:.5g}" if np.isfinite(value) else "stopped"
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
def _erm(config, out: Path, *, progress, quick, echo, files, title, save):
    data_key, teacher_key, erm_key = jax.random.split(jax.random.key(config["seed"]), 3)
    rows: list[dict] = []
    log_y: dict[str, bool] = {}
    for c, (label, curve_config) in enumerate(curve_configs(config)):
        erm = curve_config["erm"]
        label = label or f"{erm['loss']}, {erm['teacher']} teacher, lambda = {erm['lam']}"
        with status(f"{label}: building the data model", enabled=progress):
            models = build.data_models(curve_config, data_key, out)
        for kind, data in models.items():
            name = label if kind != "gaussian_equivalent" else f"{label} (Gaussian equivalent)"
            log_y[name] = erm["log_y"]
            options = dict(teacher=erm["teacher"], noise=erm["noise"])
            with status(f"{name}: the replica learning curve", enabled=progress):
                model = build.erm_model(data, teacher_key)
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
                        float("nan"),  # no error bar: the theory is exact
                        row["train_loss"],
                        float("nan"),
                        row["status"],
                    )
                )
            simulate_at = erm["simulate_at"][::2] if quick else erm["simulate_at"]
            for i, alpha in enumerate(simulate_at):
                with status(f"{name}: ERM at alpha = {alpha:g}", enabled=progress):
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
            files["table"] = "curves.csv"
            save()
    plot_erm_curves(rows, out / "curves.png", title=title, log_y=log_y)
    files["plot"] = "curves.png"
    return rows, {"quick": quick}


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
