"""`job = "bayes"`: the Bayes-optimal GLM of the `bayes` section — state evolution on a grid of
alpha from both starts (the MMSE branch and what AMP reaches), the thresholds, GAMP on finite
instances against the state evolution, the optimally regularised ERM beside it (sign teacher),
and a compressed-sensing phase diagram over densities (THEORY.md Sec. 8)."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .. import bayes
from ..io import column_rows, save_csv
from .config import ConfigError
from .feedback import status
from .plotting import plot_bayes
from .precision import in_float64

__all__ = ["run_bayes", "model_of"]


def model_of(section: dict):
    """The prior and channel of a `bayes` configuration section."""
    sparse = section["prior"] == "gauss-bernoulli"
    prior = bayes.get_prior(section["prior"], **({"density": section["density"]} if sparse else {}))
    name = section["channel"]
    if name in ("abs", "relu", "logit") and section["noise"]:
        raise ConfigError(f"bayes.noise = {section['noise']!r}: channel {name!r} is noiseless here")
    channel = bayes.get_output_channel(name, noise=section["noise"])
    if not section["start_overlap"] < float(prior.rho):
        raise ConfigError(
            f"bayes.start_overlap = {section['start_overlap']!r} must be below rho = "
            f"{float(prior.rho):g}, the prior's second moment"
        )
    return prior, channel


_SE_COLUMNS = ("alpha", "m", "mse", "free_entropy", "output_error", "classification_error",
               "gibbs_error")  # fmt: skip


def _se_rows(result: bayes.BayesOptimal) -> list[dict]:
    rows = []
    for branch in ("amp", "informed", "mmse"):
        se = getattr(result, branch)
        columns = {name: getattr(se, name) for name in _SE_COLUMNS}
        rows += column_rows(dict(columns, hard_phase=result.hard, status=se.status,
                                 steps=se.steps), branch=branch)  # fmt: skip
    return rows


@in_float64
def run_bayes(config, out: Path, *, progress, quick, echo, files, title, save):
    section = config["bayes"]
    prior, channel = model_of(section)
    alphas = jnp.asarray(section["alphas"], jnp.float64)
    with status("state evolution from both starts", enabled=progress):
        result = bayes.bayes_optimal(prior, channel, alphas)
    for line in result.amp.failures() + result.informed.failures():
        echo(f"state evolution did not converge at {line}")
    se_rows = _se_rows(result)
    save_csv(out / "state_evolution.csv", se_rows)
    files["state evolution"] = "state_evolution.csv"
    with status("thresholds", enabled=progress):
        found = bayes.thresholds(prior, channel)
    limits = {k: float(getattr(found, k)) for k in ("alpha_wr", "alpha_alg", "alpha_it")}
    limits["alpha_it_rule"] = found.it_rule
    echo("thresholds: " + ", ".join(f"{k} = {v:.6g}" for k, v in limits.items()
                                     if not isinstance(v, str) and np.isfinite(v)))  # fmt: skip
    save()
    gamp_rows = []
    gamp_at = section["gamp_at"][::2] if quick else section["gamp_at"]
    key = jax.random.key(config["seed"])
    for i, alpha in enumerate(gamp_at):
        with status(f"GAMP at alpha = {alpha:g}, N = {section['gamp_N']}", enabled=progress):
            run = bayes.gamp_experiment(
                prior, channel, float(alpha), section["gamp_N"], jax.random.fold_in(key, i),
                seeds=config["seeds"], iterations=section["gamp_iterations"],
                damping=section["gamp_damping"], start_overlap=section["start_overlap"],
            )  # fmt: skip
        gamp_rows += column_rows(
            dict(iteration=np.arange(run.mean.shape[0]), mse=run.mean, mse_sem=run.sem,
                 predicted=run.predicted), alpha=float(alpha))  # fmt: skip
        echo(f"GAMP alpha = {alpha:g}: MSE {float(run.mean[-1]):.4g} ± {float(run.sem[-1]):.2g} "
             f"after {section['gamp_iterations']} iterations (state evolution "
             f"{float(run.predicted[-1]):.4g})")  # fmt: skip
        save_csv(out / "gamp.csv", gamp_rows)
        files["gamp"] = "gamp.csv"
        save()
    erm_rows = []
    if section["versus_erm"]:
        if section["channel"] != "sign" or section["prior"] != "gaussian" or section["noise"]:
            raise ConfigError("bayes.versus_erm needs the noiseless sign channel, gaussian prior")
        with status("optimally regularised logistic and ridge (replica)", enabled=progress):
            erm_rows = bayes.versus_erm(alphas).rows()
        save_csv(out / "versus_erm.csv", erm_rows)
        files["versus erm"] = "versus_erm.csv"
    phase_rows = []
    if section["densities"]:
        densities = jnp.asarray(section["densities"], jnp.float64)
        with status(f"phase diagram over {densities.size} densities", enabled=progress):
            diagram = bayes.phase_diagram(bayes.GaussBernoulli(density=densities), channel)
        phase_rows = [
            dict(density=float(d), alpha_alg=float(a), alpha_it=float(i))
            for d, a, i in zip(densities, diagram.alpha_alg, diagram.alpha_it)
        ]
    if phase_rows:
        save_csv(out / "phase_diagram.csv", phase_rows)
        files["phase diagram"] = "phase_diagram.csv"
    plot_bayes(se_rows, gamp_rows, erm_rows, limits, phase_rows, out / "bayes.png", title=title)
    files["plot"] = "bayes.png"
    return se_rows, {"thresholds": limits}
