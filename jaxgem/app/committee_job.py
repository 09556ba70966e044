"""`job = "committee"`: the Bayes-optimal committee machine of the `committee` section — state
evolution on a grid of alpha from three starts (AMP's uninformative start, the non-specialised
branch, the informed one) with their free entropies, the specialisation thresholds, and AMP on
finite instances against its state evolution (THEORY.md Sec. 9)."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .. import committee
from ..io import column_rows, save_csv
from .config import ConfigError
from .feedback import status
from .plotting import plot_committee, plot_large_k
from .precision import in_float64

__all__ = ["run_committee", "committee_model_of"]

_BRANCHES = ("uninformative", "non-specialised", "informed")


def committee_model_of(section: dict):
    """The prior and channel of a `committee` configuration section."""
    K, name = section["K"], section["channel"]
    if name == "sign" and section["noise"]:
        raise ConfigError(f"committee.noise = {section['noise']!r}: the sign committee is "
                          "noiseless here")  # fmt: skip
    if name in ("erf", "relu") and not section["noise"]:
        raise ConfigError(f"committee.noise = 0: a soft committee of {name} units needs noise > 0")
    if name == "sign" and K > 3:
        raise ConfigError(f"committee.K = {K}: the sign committee's state evolution is for K = 2 "
                          "and 3 here")  # fmt: skip
    if section["large_k_alphas"] and (name, section["prior"]) != ("sign", "gaussian"):
        raise ConfigError(f"committee.large_k_alphas = {section['large_k_alphas']!r}: the large-K "
                          "limit is for the sign committee with gaussian weights")  # fmt: skip
    prior = committee.get_committee_prior(section["prior"], K)
    return prior, committee.get_committee_channel(name, K, noise=section["noise"])


_COLUMNS = ("alpha", "q_d", "q_a", "specialised", "free_entropy", "generalisation_error",
            "status", "steps")  # fmt: skip
_AMP_COLUMNS = ("q_d", "q_d_sem", "q_a", "q_a_sem", "predicted_q_d", "predicted_q_a")
_LARGE_K_COLUMNS = ("q_d", "overlap", "free_entropy", "generalisation_error", "specialised",
                    "status")  # fmt: skip


def _rows(branches: dict) -> list[dict]:
    rows = []
    for branch, se in branches.items():
        rows += column_rows({name: getattr(se, name) for name in _COLUMNS}, branch=branch)
    return rows


@in_float64
def run_committee(config, out: Path, *, progress, quick, echo, files, title, save):
    section = config["committee"]
    prior, channel = committee_model_of(section)
    alphas = jnp.asarray(section["alphas"], jnp.float64)
    branches = {}
    for start in _BRANCHES:
        with status(f"state evolution from the {start} start", enabled=progress):
            branches[start] = committee.committee_evolution(prior, channel, alphas, start=start)
        for line in branches[start].failures():
            echo(f"state evolution ({start}) did not converge at {line}")
    rows = _rows(branches)
    save_csv(out / "state_evolution.csv", rows)
    files["state evolution"] = "state_evolution.csv"
    save()
    limits = {}
    if section["transitions"] and section["channel"] == "sign":
        with status("specialisation thresholds", enabled=progress):
            found = committee.committee_transitions(prior, channel)
        limits = dict(alpha_alg=float(found.alpha_alg), alpha_spec=float(found.alpha_spec),
                      order="continuous" if found.continuous else "first",
                      rule=found.rule)  # fmt: skip
        echo(f"thresholds: alpha_alg = {found.alpha_alg:.6g} (AMP leaves the non-specialised "
             f"branch), alpha_spec = {found.alpha_spec:.6g} ({found.rule})")  # fmt: skip
        save()
    large_k = {}
    if section["large_k_alphas"]:
        with status("the large-K limit", enabled=progress):
            large_k = _large_k(section, out, files, limits, title, echo)
        echo(
            f"K -> infinity: the specialised branch appears at alpha/K = "
            f"{large_k['large_k_spinodal']:.6g} and takes over at alpha/K = "
            f"{large_k['large_k_alpha_spec']:.6g}; AMP does not specialise at alpha = O(K)"
        )
        save()
    amp_rows = []
    amp_at = section["amp_at"][::2] if quick else section["amp_at"]
    key = jax.random.key(config["seed"])
    for i, alpha in enumerate(amp_at):
        with status(f"AMP at alpha = {alpha:g}, d = {section['amp_d']}", enabled=progress):
            run = committee.committee_amp_experiment(
                prior, channel, float(alpha), section["amp_d"], jax.random.fold_in(key, i),
                seeds=config["seeds"], iterations=section["amp_iterations"],
                damping=section["amp_damping"], start_overlap=section["start_overlap"],
            )  # fmt: skip
        columns = {name: getattr(run, name) for name in _AMP_COLUMNS}
        amp_rows += column_rows(dict(iteration=np.arange(run.q_d.shape[0]), **columns),
                                alpha=float(alpha))  # fmt: skip
        echo(f"AMP alpha = {alpha:g}: q_d {float(run.q_d[-1]):.4f} ± {float(run.q_d_sem[-1]):.2g}"
             f", q_a {float(run.q_a[-1]):.4f} ± {float(run.q_a_sem[-1]):.2g} (state evolution "
             f"{float(run.predicted_q_d[-1]):.4f}, {float(run.predicted_q_a[-1]):.4f})"
             )  # fmt: skip
        save_csv(out / "amp.csv", amp_rows)
        files["amp"] = "amp.csv"
        save()
    plot_committee(rows, amp_rows, limits, out / "committee.png", title=title)
    files["plot"] = "committee.png"
    return rows, {"thresholds": {**limits, **large_k}}


def _large_k(section, out: Path, files: dict, finite: dict, title: str, echo) -> dict:
    """Both branches of the K -> infinity limit on `large_k_alphas`, its thresholds in alpha/K
    and the phase diagram beside the finite-K thresholds in `finite` (alpha / K)."""
    alpha_tilde = jnp.asarray(section["large_k_alphas"], jnp.float64)
    rows = []
    for start in ("uninformative", "informed"):
        se = committee.large_k_evolution(alpha_tilde, start)
        for line in se.failures():
            echo(f"large-K state evolution ({start}) did not converge at {line}")
        columns = {name: getattr(se, name) for name in _LARGE_K_COLUMNS}
        rows += column_rows(dict(alpha_over_K=alpha_tilde, **columns), branch=start)
    found = committee.large_k_transitions()
    save_csv(out / "large_k.csv", rows)
    files["large-K limit"] = "large_k.csv"
    K = section["K"]
    points = [dict(K="infinity", spinodal=found.spinodal, alpha_spec=found.alpha_spec,
                   alpha_alg="grows faster than K")]  # fmt: skip
    if "alpha_spec" in finite:
        points.insert(0, dict(K=K, alpha_spec=finite["alpha_spec"] / K,
                              alpha_alg=finite["alpha_alg"] / K))  # fmt: skip
    plot_large_k(rows, points, out / "large_k.png", title=title)
    files["large-K plot"] = "large_k.png"
    return dict(
        large_k_spinodal=found.spinodal,
        large_k_alpha_spec=found.alpha_spec,
        large_k_error_jump=[found.error_non_specialised, found.error_specialised],
    )
