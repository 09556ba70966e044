"""`jaxgem sweep GRID.toml`: every point of a grid over a preset's keys run by the online job
(simulation and ODE theory, on whatever devices and processes are present), gathered into one
long-format table `sweep.csv` (the swept keys, curve, hyperparameters, seed, t, eg and the
theory's eg), a record `sweep.json` and a plot `sweep.png` (the final eg over two swept keys as a
heatmap, or against one).

Each point runs in its own folder `points/NNN/` with its own checkpoints: an interrupted sweep,
run again, skips the finished points and resumes the others.
"""

from __future__ import annotations

import json
import math
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import jax
import numpy as np

from ..io import save_csv, save_json
from ..provenance import run_metadata
from ..results import Trajectory
from ..sweep.grid import SweepGrid
from .config import ConfigError, load_config, merge
from .output import finished_run, prepare_output
from .plotting import plot_sweep
from .presets import preset
from .runner import preflight, run

__all__ = ["sweep_configs", "run_sweep"]


def sweep_configs(grid: SweepGrid) -> list[tuple[dict, dict]]:
    """`(point, configuration)` of every point; each configuration is checked (a bad value is
    refused naming the point) before anything runs."""
    base = load_config(grid.target) if grid.target.endswith(".toml") else preset(grid.target)
    if base["job"] != "online":
        raise ConfigError(
            f"jaxgem sweep runs online presets; {grid.target!r} is a {base['job']} preset"
        )
    out = []
    for point in grid.points():
        try:
            config = merge(base, grid.changes(point))
            preflight(config)
        except ConfigError as error:
            where = ", ".join(f"{k}={v}" for k, v in point.items())
            raise ConfigError(f"sweep point {where}: {error}") from None
        out.append((point, config))
    return out


def run_sweep(
    grid: SweepGrid,
    points: list[tuple[dict, dict]],
    out_dir: str | Path,
    *,
    progress: bool = True,
    restart: bool = False,
) -> list[dict]:
    """Run every point of `grid` (`points` from `sweep_configs(grid)`) into `out_dir`; returns
    the table's rows."""
    out = Path(out_dir)
    spec = {"target": grid.target, "seeds": grid.seeds, "set": grid.fixed,
            "product": grid.product, "zip": grid.zipped}  # fmt: skip
    prepare_output(out, {"sweep": spec}, restart=restart)
    who = f"process {jax.process_index()}/{jax.process_count()} " if jax.process_count() > 1 else ""
    started, clock = datetime.now(timezone.utc), time.perf_counter()
    record = {
        "config": {"sweep": spec},
        "points": [],
        **run_metadata(),
        "started": started.isoformat(timespec="seconds"),
        "command": sys.argv,
        "devices": jax.device_count(),
        "processes": jax.process_count(),
    }
    rows: list[dict] = []
    for i, (point, config) in enumerate(points):
        folder = out / "points" / f"{i:03d}"
        where = ", ".join(f"{k}={v}" for k, v in point.items())
        print(f"jaxgem sweep: {who}point {i + 1}/{len(points)}: {where}", file=sys.stderr)
        if not finished_run(folder, config):
            run(config, folder, progress=progress, echo=lambda *a, **k: None, restart=restart)
        rows += _rows(folder, point, i)
        record["points"].append({"point": point, "folder": f"points/{i:03d}"})
        save_csv(out / "sweep.csv", rows)
        save_json(out / "sweep.json", {**record, "status": "running", "wall_s": _since(clock)})
    plot_sweep(rows, grid.swept, out / "sweep.png", title=f"{grid.target}: final eg")
    record["files"] = ["sweep.csv", "sweep.json", "sweep.png"]
    save_json(out / "sweep.json", {**record, "status": "finished", "wall_s": _since(clock)})
    print(f"wrote {out}/: sweep.csv, sweep.json, sweep.png, points/", file=sys.stderr)
    return rows


def _since(clock: float) -> float:
    return round(time.perf_counter() - clock, 3)


def _rows(folder: Path, point: dict, index: int) -> list[dict]:
    """One row per curve, hyperparameter run, seed and record time of a finished point."""
    files = json.loads((folder / "run.json").read_text())["files"]
    rows = []
    for curve, name in files["trajectories"].items():
        trajectory = Trajectory.load(folder / name)
        with np.load(folder / files["theory"][curve]) as theory:
            eg_theory = theory["eg"]
        hyper = trajectory.hyperparameters
        for h in range(trajectory.eg.shape[0]):
            for s, seed in enumerate(trajectory.seeds):
                for r in range(trajectory.completed):
                    row = {"point": index, **point, "curve": curve}
                    row.update({k: v[h].item() for k, v in hyper.items()})
                    row.update(
                        seed=int(seed),
                        t=float(trajectory.t[r]),
                        eg=_number(trajectory.eg[h, s, r]),
                        eg_theory=_number(eg_theory[h, s, r]),
                    )
                    rows.append(row)
    return rows


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
