"""`job = "phase"`: the SGD phase diagram over the width scalings of the `phase` section — the
regime of every `(kappa, delta)` cell from the ODEs, then one cell of each regime simulated and
labelled by the same rule (`jaxgem.phases`).

The diagram is saved (`phase.npz`) before the simulations start, and each simulated cell as it
finishes (`phase_check_<regime>.npz`), so an interrupted run resumes where it stopped."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from .. import phases
from ..io import save_csv, save_npz
from .config import ConfigError
from .plotting import plot_phase

__all__ = ["run_phase", "check_phase"]


def check_phase(section: dict) -> None:
    """What the configuration checks alone cannot see: non-empty grids."""
    for name in ("kappas", "deltas"):
        if not section[name]:
            raise ConfigError(f"phase.{name} must be a non-empty list of numbers, got []")


def run_phase(config, out: Path, *, progress, quick, echo, files, title, save):
    section = config["phase"]
    check_phase(section)
    key = jax.random.key(config["seed"])
    step = 2 if quick else 1
    path = out / "phase.npz"
    if path.exists():
        diagram = phases.PhaseDiagram.load(path)
        echo(f"phase diagram read from {path.name}")
    else:
        cells = len(section["kappas"][::step]) * len(section["deltas"][::step])
        echo(f"solving the ODEs of {cells} cells and their gradient flows ...")
        diagram = phases.phase_diagram(
            section["kappas"][::step], section["deltas"][::step], key, K=section["K"],
            M=section["M"], lr0=section["lr0"], noise=section["noise"],
            horizon=section["horizon"], N=section["N"], learn_fraction=section["learn_fraction"],
            divergence=section["divergence"],
        )  # fmt: skip
        diagram.save(path)
        files["diagram"] = path.name
        save()
    echo("regimes: " + ", ".join(f"{n} {c}" for n, c in diagram.counts().items()))
    rows = diagram.rows()
    save_csv(out / "phase.csv", rows)
    files["table"] = "phase.csv"
    checks = []
    if section["confirm"]:
        for name, point in diagram.representatives().items():
            check_path = out / f"phase_check_{name}.npz"
            if check_path.exists():
                with np.load(check_path) as f:
                    check = phases.PhaseCheck(*(f[k].item() for k in phases.PhaseCheck._fields))
            else:
                (check,) = phases.confirm_phases(
                    diagram, key, points={name: point},
                    seeds=config["seeds"], progress=progress,
                )  # fmt: skip
                save_npz(check_path, **check._asdict())
                files[f"check {name}"] = check_path.name
                save()
            echo(f"{name} at kappa = {check.kappa:g}, delta = {check.delta:g}: simulation "
                 f"{check.simulated_label} (eg {check.eg_simulated:.3g} ± {check.eg_error:.2g}, "
                 f"ODE {check.eg_ode:.3g}, {check.diverged_fraction:.0%} of seeds diverged)"
                 f"{'' if check.confirmed else '  <- differs from the ODE'}")  # fmt: skip
            checks.append(check)
        save_csv(out / "phase_checks.csv", [c._asdict() for c in checks])
        files["checks"] = "phase_checks.csv"
    plot_phase(diagram, checks, out / "phase.png", title=title)
    files["plot"] = "phase.png"
    summary = {
        "counts": diagram.counts(),
        "eg_null": diagram.eg_null,
        "threshold": diagram.threshold,
        "confirmed": [dict(c._asdict(), confirmed=c.confirmed) for c in checks],
    }
    return rows, {"phase": summary}
