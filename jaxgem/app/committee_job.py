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
    for key, what in (
        ("large_k_alphas", "the large-K limit"),
        ("finite_k", "the finite-K thresholds"),
    ):
        if section[key] and (name, section["prior"]) != ("sign", "gaussian"):
            raise ConfigError(f"committee.{key} = {section[key]!r}: {what} are for the sign "
                              "committee with gaussian weights")  # fmt: skip
    if section["finite_k_samples"] < 2000:
        raise ConfigError(f"committee.finite_k_samples = {section['finite_k_samples']!r}: at "
                          "least 2000 Monte Carlo draws (fewer leave the branch in noise)"
                          )  # fmt: skip
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
    finite = _finite_k(section, out, files, progress, echo, save)
    large_k = {}
    if section["large_k_alphas"] or finite:
        with status("the large-K limit", enabled=progress):
            large_k = _large_k(section, out, files, limits, finite, title, echo)
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
    thresholds = {**limits, **large_k}
    if finite:
        thresholds["finite_k"] = finite
    return rows, {"thresholds": thresholds}


_FINITE_K_COLUMNS = ("alpha", "q_d", "q_a", "free_entropy", "generalisation_error", "psi",
                     "psi_error")  # fmt: skip


def _finite_k(section, out: Path, files: dict, progress, echo, save) -> list[dict]:
    """The thresholds at each K of `finite_k` (committee-symmetric Monte Carlo, one K after
    another, each saved as it finishes): `finite_k.csv` (one row per K) and
    `finite_k_branches.csv` (both branches of each K on alpha/K = 2 ... 12)."""
    found, branches = [], []
    for K in section["finite_k"]:
        try:
            with status(f"finite-K thresholds, K = {K}", enabled=progress):
                t = committee.finite_k_transition(K, samples=section["finite_k_samples"])
        except ValueError as error:  # no crossing found: reported, the other K go on
            echo(f"finite-K thresholds: {error}")
            continue
        found.append(dict(K=K, alpha_spec=t.alpha_spec, alpha_spec_error=t.alpha_spec_error,
                          alpha_spec_over_K=t.alpha_spec / K, spinodal=t.spinodal,
                          spinodal_over_K=t.spinodal / K, spec_q_d=t.spec_q_d,
                          error_non_specialised=t.error_non_specialised,
                          error_specialised=t.error_specialised))  # fmt: skip
        for name, branch in (("non-specialised", t.non_specialised),
                             ("specialised", t.specialised)):  # fmt: skip
            columns = {column: getattr(branch, column) for column in _FINITE_K_COLUMNS}
            branches += column_rows(dict(alpha_over_K=branch.alpha / K, **columns), K=K,
                                    branch=name)  # fmt: skip
        echo(f"K = {K}: alpha_spec/K = {t.alpha_spec / K:.4g} ± {t.alpha_spec_error / K:.2g} "
             f"(spinodal/K {t.spinodal / K:.4g}); errors {t.error_non_specialised:.4f} -> "
             f"{t.error_specialised:.4f}")  # fmt: skip
        save_csv(out / "finite_k.csv", found)
        save_csv(out / "finite_k_branches.csv", branches)
        files["finite-K thresholds"] = "finite_k.csv"
        files["finite-K branches"] = "finite_k_branches.csv"
        save()
    return found


def _large_k(section, out: Path, files: dict, limits: dict, finite: list, title: str,
             echo) -> dict:  # fmt: skip
    """Both branches of the K -> infinity limit on `large_k_alphas`, its thresholds in alpha/K
    and the phase diagram beside the thresholds of the run's K (`limits`) and of the finite-K
    Monte Carlo (`finite`), all in alpha / K."""
    alpha_tilde = jnp.asarray(section["large_k_alphas"] or np.linspace(4.0, 12.0, 33), jnp.float64)
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
    if "alpha_spec" in limits:
        points.insert(0, dict(K=K, alpha_spec=limits["alpha_spec"] / K,
                              alpha_alg=limits["alpha_alg"] / K))  # fmt: skip
    for row in finite:
        points.insert(-1, dict(K=row["K"], alpha_spec=row["alpha_spec_over_K"],
                               alpha_spec_error=row["alpha_spec_error"] / row["K"],
                               spinodal=row["spinodal_over_K"]))  # fmt: skip
    plot_large_k(rows, points, out / "large_k.png", title=title)
    files["large-K plot"] = "large_k.png"
    return dict(
        large_k_spinodal=found.spinodal,
        large_k_alpha_spec=found.alpha_spec,
        large_k_error_jump=[found.error_non_specialised, found.error_specialised],
    )
