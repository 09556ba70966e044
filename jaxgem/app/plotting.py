"""PNG plots of both jobs: learning curves `eg(t)` of online SGD with their ODE theory, and
full-batch learning curves against `alpha` (replica lines, ERM points). Written atomically."""

from __future__ import annotations

import io
import textwrap
import threading
from pathlib import Path

import numpy as np

from ..io import atomic_write_bytes
from ..results import Trajectory

__all__ = [
    "plot_learning_curves",
    "plot_erm_curves",
    "plot_fit",
    "plot_escape",
    "plot_finite",
    "plot_phase",
    "plot_meanfield",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def preload_pyplot() -> None:
    """Import matplotlib in a background thread (0.4 s of Python) while a compiled call, which
    leaves the interpreter free, runs in this one; the plot then finds it imported."""
    threading.Thread(target=_pyplot, name="jaxgem-import-matplotlib", daemon=True).start()


def _save(fig, path, title: str, width: int) -> Path:
    plt = _pyplot()
    if title:
        fig.suptitle(textwrap.fill(title, width), fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def _label(name: str, trajectory: Trajectory, h: int) -> str:
    swept = [k for k, v in trajectory.hyperparameters.items() if np.unique(v).size > 1]
    parts = [name] + [f"{k}={trajectory.hyperparameters[k][h]:g}" for k in swept]
    return ", ".join(p for p in parts if p)


def plot_learning_curves(
    curves: dict[str, Trajectory], path, *, title: str = "", theory: dict | None = None
) -> Path:
    """`eg(t)` of every curve and hyperparameter run (log-log), mean over seeds with a band of
    one standard error; `theory[name]`, an `(H, R)` array, as a black dashed line."""
    plt = _pyplot()
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
    shown = [trajectory.mean()[:, 1 : trajectory.completed] for trajectory in curves.values()]
    _log_if_any(ax, shown, "xy")
    ax.set_xlabel("t = steps / N")
    ax.set_ylabel("generalisation error  eg")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path, title, 80)


def _log_if_any(ax, values, axes: str) -> None:
    """Log `axes` ("xy" or "y") if any of the plotted `values` is finite and positive;
    otherwise (every run diverged) linear axes and a note, since matplotlib cannot draw a log
    axis of nothing."""
    if any(np.any(np.isfinite(v) & (np.asarray(v) > 0)) for v in values):
        for axis in axes:
            getattr(ax, f"set_{axis}scale")("log")
    else:
        ax.text(0.5, 0.5, "no finite error: every run diverged (run.json says when)",
                ha="center", va="center", transform=ax.transAxes)  # fmt: skip


def plot_erm_curves(rows: list[dict], path, *, title: str = "", log_y: dict | None = None) -> Path:
    """Test error and training loss against alpha: theory lines, ERM points with error bars;
    `log_y[curve]` puts a curve's axes on a log scale."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    labels = list(dict.fromkeys(r["curve"] for r in rows))
    for label in labels:
        theory = [r for r in rows if r["curve"] == label and r["kind"] == "theory"]
        erm = [r for r in rows if r["curve"] == label and r["kind"] == "erm"]
        for ax, name in zip(axes, ("test_error", "train_loss")):
            (line,) = ax.plot([r["alpha"] for r in theory], [r[name] for r in theory], label=label)
            ax.errorbar(
                [r["alpha"] for r in erm],
                [r[name] for r in erm],
                yerr=[r[f"{name}_sem"] for r in erm],
                fmt="o",
                ms=4,
                color=line.get_color(),
            )
            if log_y and log_y.get(label):
                ax.set_yscale("log")
    for ax, name in zip(axes, ("test error", "training loss")):
        ax.set_xlabel("alpha = n / p")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7, title="lines: replica theory, points: ERM", title_fontsize=7)
    return _save(fig, path, title, 110)


def plot_fit(
    t, eg, sem, fitted, path, *, title: str = "", labels=("t = steps / N", "generalisation error")
) -> Path:
    """A measured learning curve (with its error bars, if any) against the fitted theory;
    `labels` of the axes."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(t, eg, yerr=sem, fmt="o", ms=3, capsize=2, label="data")
    ax.plot(t, fitted, "-", label="fitted theory")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.legend()
    return _save(fig, path, title, 90)


def plot_bayes(se_rows, gamp_rows, erm_rows, thresholds, phase_rows, path, *, title="") -> Path:
    """Bayes-optimal GLM: weight MSE against alpha (AMP's branch, the informed one, the MMSE),
    GAMP's final MSE with error bars, the thresholds as vertical lines; the error beside it
    (with optimally regularised ERM when given); the phase diagram when given."""
    plt = _pyplot()
    panels = 3 if phase_rows else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4.2), dpi=120)
    sign_like = any(np.isfinite(r["classification_error"]) for r in se_rows)
    error = "classification_error" if sign_like else "output_error"
    for branch, style in (("amp", "-"), ("informed", "--"), ("mmse", ":")):
        rows = [r for r in se_rows if r["branch"] == branch]
        alpha = [r["alpha"] for r in rows]
        axes[0].plot(alpha, [r["mse"] for r in rows], style, label=f"SE, {branch}")
        axes[1].plot(alpha, [r[error] for r in rows], style, label=f"Bayes, {branch}")
    if gamp_rows:
        last = max(r["iteration"] for r in gamp_rows)
        final = [r for r in gamp_rows if r["iteration"] == last]
        axes[0].errorbar([r["alpha"] for r in final], [r["mse"] for r in final],
                         yerr=[r["mse_sem"] for r in final], fmt="o", ms=4,
                         label=f"GAMP ({last} iterations)")  # fmt: skip
    for loss in ("logistic", "square"):
        if erm_rows and f"{loss}_error" in erm_rows[0]:
            axes[1].plot([r["alpha"] for r in erm_rows], [r[f"{loss}_error"] for r in erm_rows],
                         label=f"{loss}, optimal lambda")  # fmt: skip
    for name, value in thresholds.items():
        if isinstance(value, float) and np.isfinite(value):
            for ax in axes[:2]:
                ax.axvline(value, color="gray", lw=0.8, ls="-.")
            axes[0].text(value, 0.02, f" {name}", rotation=90, fontsize=7,
                         transform=axes[0].get_xaxis_transform())  # fmt: skip
    axes[0].set_ylabel("weight MSE, rho - m")
    axes[1].set_ylabel(error.replace("_", " "))
    for ax in axes[:2]:
        ax.set_xlabel("alpha = n / d")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if phase_rows:
        density = [r["density"] for r in phase_rows]
        axes[2].plot(density, [r["alpha_alg"] for r in phase_rows], "o-", label="alpha_alg (AMP)")
        axes[2].plot(density, [r["alpha_it"] for r in phase_rows], "s-", label="alpha_IT")
        axes[2].set_xlabel("density")
        axes[2].set_ylabel("alpha")
        axes[2].grid(alpha=0.3)
        axes[2].legend(fontsize=7)
    return _save(fig, path, title, 110)


def plot_committee(se_rows, amp_rows, thresholds, path, *, title="") -> Path:
    """Committee machine: q_d and q_a against alpha on each branch with AMP's final overlaps,
    the free entropy of each branch relative to the non-specialised one, and the Bayes-optimal
    generalisation error (the branch of larger free entropy); thresholds as vertical lines."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), dpi=120)
    by_branch = {}
    for row in se_rows:
        by_branch.setdefault(row["branch"], []).append(row)
    reference = {r["alpha"]: r["free_entropy"] for r in by_branch.get("non-specialised", [])}
    for (branch, rows), style in zip(by_branch.items(), ("-", ":", "--")):
        alpha = [r["alpha"] for r in rows]
        axes[0].plot(alpha, [r["q_d"] for r in rows], style, label=f"q_d, {branch}")
        axes[0].plot(alpha, [r["q_a"] for r in rows], style, label=f"q_a, {branch}")
        axes[1].plot(alpha, [r["free_entropy"] - reference.get(r["alpha"], 0.0) for r in rows],
                     style, label=branch)  # fmt: skip
    best = {}
    for row in se_rows:
        if row["alpha"] not in best or row["free_entropy"] > best[row["alpha"]]["free_entropy"]:
            best[row["alpha"]] = row
    alpha = sorted(best)
    axes[2].plot(alpha, [best[a]["generalisation_error"] for a in alpha], "-",
                 label="Bayes-optimal (larger free entropy)")  # fmt: skip
    amp_of = {r["alpha"]: r for r in by_branch.get("uninformative", [])}
    axes[2].plot(list(amp_of), [r["generalisation_error"] for r in amp_of.values()], ":",
                 label="AMP's fixed point")  # fmt: skip
    if amp_rows:
        last = max(r["iteration"] for r in amp_rows)
        final = [r for r in amp_rows if r["iteration"] == last]
        for part in ("q_d", "q_a"):
            axes[0].errorbar([r["alpha"] for r in final], [r[part] for r in final],
                             yerr=[r[f"{part}_sem"] for r in final], fmt="o", ms=4,
                             label=f"AMP {part} ({last} iterations)")  # fmt: skip
    for name, value in thresholds.items():
        if isinstance(value, float) and np.isfinite(value):
            for ax in axes:
                ax.axvline(value, color="gray", lw=0.8, ls="-.")
            axes[0].text(value, 0.02, f" {name}", rotation=90, fontsize=7,
                         transform=axes[0].get_xaxis_transform())  # fmt: skip
    axes[0].set_ylabel("overlap q = q_d I + q_a/K 11^T")
    axes[1].set_ylabel("free entropy - non-specialised branch")
    axes[2].set_ylabel("generalisation error (half squared)")
    for ax in axes:
        ax.set_xlabel("alpha = n / d")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path, title, 110)


def plot_escape(studies, path, *, title="") -> Path:
    """Escape from the equator: the samples `n = t d` to escape against `d` for every `k`
    (simulated median with the 25-75 % range, the ODE as a line, log-log), and the cosine of the
    largest `d` of each `k` against `t` over the ODE's escape time (seeds thin, ODE thick)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), dpi=120)
    for i, study in enumerate(studies):
        color = f"C{i}"
        rows = study.rows()
        d = np.array([r["d"] for r in rows], float)
        median = np.array([r["t_median"] for r in rows]) * d
        with np.errstate(invalid="ignore"):  # inf - inf where no seed escaped
            low = median - np.array([r["t_q25"] for r in rows]) * d
            high = np.array([r["t_q75"] for r in rows]) * d - median
        finite = np.isfinite(median) & np.isfinite(high)
        axes[0].errorbar(d[finite], median[finite], yerr=[low[finite], high[finite]], fmt="o",
                         color=color, capsize=3, label=f"k = {study.k}: SGD, slope "
                         f"{study.slope + 1:.2f} ± {study.slope_error:.2f}")  # fmt: skip
        ode_label = f"k = {study.k}: ODE from m0, slope {study.ode_slope + 1:.2f}"
        axes[0].plot(d, [r["samples_ode"] for r in rows], "-", color=color, label=ode_label)
        run = study.runs[-1]
        scale = run.ode if np.isfinite(run.ode) else run.times[-1]
        for s in range(run.cosine.shape[0]):
            axes[1].plot(run.times / scale, run.cosine[s], color=color, lw=0.5, alpha=0.35)
        axes[1].plot(run.times / scale, run.ode_cosine, color=color, lw=2,
                     label=f"k = {study.k}, d = {run.d}")  # fmt: skip
    if studies:
        axes[1].axhline(studies[0].runs[0].threshold, color="gray", lw=0.8, ls="-.")
    axes[0].set_xscale("log")
    _log_if_any(axes[0], [line.get_ydata() for line in axes[0].get_lines()], "y")
    axes[0].set_xlabel("dimension d")
    axes[0].set_ylabel("samples to escape n = t d")
    axes[1].set_xlabel("t / (ODE escape time)")
    axes[1].set_ylabel("cosine with the teacher")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path, title, 110)


def plot_finite(runs: dict, lr: float, path, *, title="") -> Path:
    """Finite data: the test error (left) and the training loss (right) against the
    gradient-flow time `tau` for gradient descent, multi-pass SGD and one-pass SGD (test only,
    up to its `n` samples) at each alpha, mean ± standard error over seeds; the linear theory
    dashed where it holds."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), dpi=120)
    for i, (alpha, (gd, mp, one_pass, theory)) in enumerate(runs.items()):
        color = f"C{i}"
        for run, style, name in ((gd, "-", "GD"), (mp, ":", "multi-pass SGD")):
            for ax, part in zip(axes, ("test", "train")):  # tau > 0: log axes
                mean, sem, tau = run.mean(part)[0, 1:], run.sem(part)[0, 1:], run.tau[0, 1:]
                ax.plot(tau, mean, style, color=color, label=f"{name}, alpha = {alpha:g}")
                ax.fill_between(tau, mean - sem, mean + sem, color=color, alpha=0.15)
        for ax, k in zip(axes, (0, 1)):
            if "gd" in theory:
                ax.plot(gd.tau[0, 1:], theory["gd"][k][1:], "--", color="black", lw=0.8,
                        label="linear theory" if i == 0 else None)  # fmt: skip
        t = np.asarray(one_pass.t)[1:]
        axes[0].plot(lr * t, one_pass.mean("eg")[0, 1:], "-.", color=color, lw=2,
                     label=f"one-pass SGD, n = {gd.n}")  # fmt: skip
    axes[0].set_ylabel("test error eg")
    axes[1].set_ylabel("training loss (label noise included)")
    for ax in axes:
        ax.set_xlabel("gradient-flow time tau = lr x steps (GD), lr x steps / N (SGD)")
        ax.set_xscale("log")  # one-pass SGD ends at tau = lr alpha, GD runs far beyond
        _log_if_any(ax, [line.get_ydata() for line in ax.get_lines()], "y")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    return _save(fig, path, title, 110)


def plot_phase(diagram, checks, path, *, title="") -> Path:
    """The SGD phase diagram: the regime of every `(kappa, delta)` cell as a coloured map, the
    line `lr s = 1` (`delta + kappa = log_K lr0`), and the simulated cells marked with the
    simulation's label (left); the ODE's `eg` at the horizon (right)."""
    from matplotlib.colors import ListedColormap

    from ..phases import LABELS

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), dpi=120)
    colours = ["#4daf4a", "#bbbbbb", "#ff7f00", "#e41a1c"]
    k, d = diagram.kappas, diagram.deltas
    extent = (*_edges(k), *_edges(d))
    axes[0].imshow(diagram.labels, origin="lower", aspect="auto", extent=extent, vmin=-0.5,
                   vmax=3.5, cmap=ListedColormap(colours), interpolation="nearest")  # fmt: skip
    K, lr0 = diagram.settings["K"], diagram.settings["lr0"]
    axes[0].plot(k, np.log(lr0) / np.log(K) - k, "k--", lw=0.8, label="lr x output scale = 1")
    for c in checks:
        axes[0].plot(c.kappa, c.delta, "o", mfc=colours[LABELS.index(c.simulated_label)],
                     mec="black", ms=10)  # fmt: skip
    for code, name in enumerate(LABELS):
        axes[0].plot([], [], "s", color=colours[code], ms=9, label=name)
    if checks:
        axes[0].plot([], [], "o", mfc="white", mec="black", label="simulated (its label)")
    axes[0].set_xlim(extent[:2])
    axes[0].set_ylim(extent[2:])
    axes[0].legend(fontsize=7, loc="upper right")
    axes[0].set_title("regime at the horizon", fontsize=9)
    with np.errstate(divide="ignore", invalid="ignore"):
        image = axes[1].imshow(np.log10(diagram.eg_final), origin="lower", aspect="auto",
                               extent=extent, cmap="viridis", interpolation="nearest")  # fmt: skip
    fig.colorbar(image, ax=axes[1], label="log10 eg at the horizon (ODE; blank: diverged)")
    for ax in axes:
        ax.set_xlabel(f"kappa (output scale K^-kappa, K = {K})")
        ax.set_ylabel(f"delta (learning rate {lr0:g} K^-delta)")
    return _save(fig, path, title, 110)


def plot_meanfield(flows: dict, comparisons, path, *, title="") -> Path:
    """The wide-network limit: eg against `tau` of the particle flow at each width (lines) and
    of SGD (markers, mean ± standard error; its own flow dashed) (left); the histogram of the
    units' overlaps with the teacher at three times, SGD (filled, seeds pooled) against the flow
    (outline), for the widest simulated network (right)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), dpi=120)
    for i, (p, flow) in enumerate(flows.items()):
        axes[0].plot(flow.tau, flow.eg, color=f"C{i}", label=f"particle flow, p = {p}")
    for i, c in enumerate(comparisons):
        S = c.eg_sim.shape[0]
        sem = c.eg_sim.std(0, ddof=1) / np.sqrt(S) if S > 1 else None
        axes[0].errorbar(c.tau, c.eg_sim.mean(0), yerr=sem, fmt="o", ms=4, color=f"C{i + 5}",
                         label=f"SGD, p = {c.p}, d = {c.d} ({S} seeds)")  # fmt: skip
        axes[0].plot(c.tau, c.eg_flow, "--", color=f"C{i + 5}", lw=0.8)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("tau = lr t / p")
    axes[0].set_ylabel("eg")
    axes[0].legend(fontsize=7)
    axes[0].grid(alpha=0.3)
    if comparisons:
        c = comparisons[-1]
        picks = sorted({0, len(c.tau) // 2, len(c.tau) - 1})
        finite = np.isfinite(c.m_sim)  # a diverged seed's records end with NaN
        edges = np.linspace(min(c.m_sim[finite].min(), c.m_flow.min()),
                            max(c.m_sim[finite].max(), c.m_flow.max()), 26)  # fmt: skip
        for i, r in enumerate(picks):
            units = c.m_sim[:, r].ravel()
            if np.isfinite(units).any():
                axes[1].hist(units[np.isfinite(units)], edges, density=True, alpha=0.35,
                             color=f"C{i}", label=f"SGD, tau = {c.tau[r]:g}")  # fmt: skip
            axes[1].hist(c.m_flow[r], edges, density=True, histtype="step", color=f"C{i}", lw=1.5,
                         label=f"flow, tau = {c.tau[r]:g}")  # fmt: skip
        axes[1].set_xlabel(f"overlap m_i of a unit with the teacher (p = {c.p})")
        axes[1].set_ylabel("density")
        axes[1].legend(fontsize=7)
    return _save(fig, path, title, 110)


def _edges(centres) -> tuple[float, float]:
    """The outer edges of a row of equally spaced cell centres."""
    centres = np.asarray(centres, float)
    half = (centres[1] - centres[0]) / 2 if centres.size > 1 else 0.5
    return float(centres[0] - half), float(centres[-1] + half)


def plot_large_k(rows, points, path, *, title="") -> Path:
    """The K -> infinity committee: q_d and the generalisation error of both branches against
    alpha/K, and the phase diagram in (1/K, alpha/K) from the thresholds in `points`."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), dpi=120)
    for branch, style in (("uninformative", ":"), ("informed", "-")):
        mine = [r for r in rows if r["branch"] == branch]
        x = [r["alpha_over_K"] for r in mine]
        axes[0].plot(x, [r["q_d"] for r in mine], style, label=f"q_d, {branch} start")
        axes[1].plot(x, [r["generalisation_error"] for r in mine], style,
                     label=f"{branch} start")  # fmt: skip
    limit = points[-1]
    for name in ("spinodal", "alpha_spec"):
        for ax in axes[:2]:
            ax.axvline(limit[name], color="gray", lw=0.8, ls="-.")
        axes[0].text(limit[name], 0.02, f" {name} = {limit[name]:.4g}", rotation=90, fontsize=7,
                     transform=axes[0].get_xaxis_transform())  # fmt: skip
    monte_carlo = [p for p in points if "alpha_spec_error" in p]
    if monte_carlo:
        x = [1 / p["K"] for p in monte_carlo]
        axes[2].errorbar(x, [p["alpha_spec"] for p in monte_carlo], ls="-", marker="o", ms=3,
                         yerr=[p["alpha_spec_error"] for p in monte_carlo], color="C0",
                         label="alpha_spec (odd K, committee-symmetric Monte Carlo)")  # fmt: skip
        axes[2].plot(x, [p["spinodal"] for p in monte_carlo], "s--", ms=3, color="C1",
                     label="spinodal (odd K, Monte Carlo)")  # fmt: skip
    for point in (p for p in points if "alpha_spec_error" not in p):
        x = 0.0 if point["K"] == "infinity" else 1 / point["K"]
        for name, style in (("alpha_spec", "oC0"), ("spinodal", "sC1"), ("alpha_alg", "^C2")):
            value = point.get(name)
            if isinstance(value, float) and np.isfinite(value):
                axes[2].plot([x], [value], style, label=f"{name} (K = {point['K']})")
    axes[2].set_xlim(-0.05, 0.6)
    axes[2].set_xlabel("1 / K")
    axes[2].set_ylabel("alpha / K")
    axes[2].set_title("specialisation thresholds (AMP at K -> infinity needs alpha >> K)",
                      fontsize=8)  # fmt: skip
    axes[0].set_ylabel("q_d (q = q_d I + (1 - q_d) 11^T / K)")
    axes[1].set_ylabel("generalisation error (half squared)")
    for ax in axes[:2]:
        ax.set_xlabel("alpha / K")
    for ax in axes:
        ax.grid(alpha=0.3)
    for ax in axes:
        ax.legend(fontsize=7)
    return _save(fig, path, title, 110)


def plot_sweep(rows: list[dict], swept: list[str], path, *, title: str = "") -> Path:
    """The final eg of a sweep (mean over seeds, runs and curves at each point's last time):
    a heatmap over the first two swept keys (averaged over any others), or a line against the
    one swept key with the theory beside it."""
    plt = _pyplot()
    final: dict[tuple, list] = {}
    last = {}
    for row in rows:
        last[row["point"]] = max(last.get(row["point"], -np.inf), row["t"])
    for row in rows:
        if row["t"] == last[row["point"]]:
            key = tuple(row[k] for k in swept[:2])
            final.setdefault(key, []).append((row["eg"], row["eg_theory"]))

    def mean(values):
        values = [v for v in values if v is not None and np.isfinite(v)]
        return float(np.mean(values)) if values else np.nan

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    if len(swept) == 1:
        xs = sorted(final, key=lambda k: k[0])
        x = [k[0] for k in xs]
        simulated = [mean(e for e, _ in final[k]) for k in xs]
        ax.plot(x, simulated, "o-", label="simulation")
        ax.plot(x, [mean(t for _, t in final[k]) for k in xs], "k--", label="theory (ODE)")
        ax.set_xlabel(swept[0])
        ax.set_ylabel("final eg")
        _log_if_any(ax, [np.asarray(simulated, float)], "y")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    else:
        xs = sorted({k[0] for k in final}, key=_sortable)
        ys = sorted({k[1] for k in final}, key=_sortable)
        grid = np.full((len(ys), len(xs)), np.nan)
        for (x, y), values in final.items():
            grid[ys.index(y), xs.index(x)] = mean(e for e, _ in values)
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        for (j, i), value in np.ndenumerate(grid):
            ax.text(i, j, f"{value:.3g}", ha="center", va="center", fontsize=7, color="w")
        ax.set_xticks(range(len(xs)), [str(x) for x in xs])
        ax.set_yticks(range(len(ys)), [str(y) for y in ys])
        ax.set_xlabel(swept[0])
        ax.set_ylabel(swept[1])
        fig.colorbar(image, ax=ax, label="final eg (simulation)")
    return _save(fig, path, title, 80)


def _sortable(value):
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))
