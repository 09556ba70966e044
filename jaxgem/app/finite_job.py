"""`job = "finite"`: learning from a fixed training set of `n = alpha N` samples of the run's
data model, teacher and student (the online sections) — full-batch gradient descent and
multi-pass SGD beside one-pass SGD with the same `n` samples, on one gradient-flow clock
`tau` — with the exact linear theory where it holds (a linear teacher and student on any data
model: the Gaussian covariate model of its covariances, `jaxgem.finite.gd_theory`)."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from .. import finite
from ..io import column_rows, save_csv
from ..online import simulate
from . import build
from .config import ConfigError
from .feedback import plain_warnings, status
from .plotting import plot_finite

__all__ = ["run_finite", "check_finite"]


def check_finite(config: dict) -> None:
    """One hyperparameter run: the three methods share its learning rate and noise."""
    for key in ("lr", "noise", "batch_size"):
        value = config["training"][key]
        if isinstance(value, list) and len(value) != 1:
            raise ConfigError(f"training.{key} = {value!r}: the finite-data job runs one "
                              "hyperparameter setting (give one number)")  # fmt: skip


def run_finite(config, out: Path, *, progress, quick, echo, files, title, save):
    check_finite(config)
    section = config["finite"]
    data_key, run_key = jax.random.split(jax.random.key(config["seed"]))
    with status("building the data model", enabled=progress):
        data = next(iter(build.data_models(config, data_key, out).values()))
    problem = build.problem(config, data)
    seeds, lr = config["seeds"], float(problem.hyperparameters.lr[0])
    linear = finite.is_linear(problem)
    rows, runs = [], {}
    for alpha in section["alphas"][::2] if quick else section["alphas"]:
        with status(f"alpha = {alpha:g}: gradient descent, multi-pass SGD", enabled=progress), \
                plain_warnings(echo):  # fmt: skip
            gd = finite.gradient_descent(problem, run_key, alpha=alpha, steps=section["gd_steps"],
                                         n_records=section["n_records"], seeds=seeds)  # fmt: skip
            mp = finite.multipass_sgd(problem, run_key, alpha=alpha,
                                      epochs=section["multipass_epochs"],
                                      n_records=section["n_records"], seeds=seeds)  # fmt: skip
        with plain_warnings(echo):
            one_pass = simulate(problem, run_key, seeds=seeds, t_max=alpha, spacing="log",
                                n_records=section["n_records"], progress=progress,
                                description=f"one-pass SGD, alpha = {alpha:g}")  # fmt: skip
        theory = {}
        if linear:  # from every seed's own teacher and start
            for name, run in (("gd", gd), ("multipass", mp)):
                try:
                    th = finite.gd_theory(problem, run_key, run)
                except ValueError as error:  # a step beyond 2 / s_max: it diverges
                    echo(f"theory ({name}, alpha = {alpha:g}): {error}")
                    continue
                theory[name] = (th.test[0].mean(0), th.train[0].mean(0))
        for name, run in (("gd", gd), ("multipass", mp)):
            predicted = theory.get(name, (np.full(len(run.steps), np.nan),) * 2)
            rows += column_rows(dict(
                tau=run.tau[0], steps=run.steps, epochs=run.epochs, test_mean=run.mean("test")[0],
                test_sem=run.sem("test")[0], train_mean=run.mean("train")[0],
                train_sem=run.sem("train")[0], test_theory=predicted[0],
                train_theory=predicted[1]), method=name, alpha=alpha, samples=run.n,
            )  # fmt: skip
        t = np.asarray(one_pass.t)
        rows += column_rows(dict(
            tau=lr * t, steps=t * gd.N, epochs=t / alpha, test_mean=one_pass.mean("eg")[0],
            test_sem=one_pass.sem("eg")[0]), method="one-pass", alpha=alpha,
            samples=np.round(t * gd.N).astype(int),
        )  # fmt: skip
        runs[alpha] = (gd, mp, one_pass, theory)
        test = {name: run.mean("test")[0] for name, run in (("gd", gd), ("mp", mp))}
        predicted = f" (theory {theory['gd'][0][-1]:.4f})" if "gd" in theory else ""
        echo(f"alpha = {alpha:g} (n = {gd.n}), test error: GD {test['gd'][-1]:.4f} at tau = "
             f"{gd.tau[0, -1]:.3g}{predicted}, best {np.nanmin(test['gd']):.4f}; multi-pass SGD "
             f"{test['mp'][-1]:.4f} at tau = {mp.tau[0, -1]:.3g}, best "
             f"{np.nanmin(test['mp']):.4f}; one-pass SGD on n fresh samples "
             f"{float(one_pass.mean('eg')[0, -1]):.4f} at tau = {lr * alpha:.3g}")  # fmt: skip
        save_csv(out / "finite.csv", rows)
        files["table"] = "finite.csv"
        save()
    plot_finite(runs, lr, out / "finite.png", title=title)
    files["plot"] = "finite.png"
    return rows, {"linear_theory": linear}
