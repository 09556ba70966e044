"""`jaxgem fit`: fit the ODE theory to a measured learning curve and write `fit.json`,
`fit.csv`, `fit.png`.

- A CSV (`t, eg[, eg_sem]` from any code, or one curve of `jaxgem run`'s `eg.csv`): the problem
  is the configuration's (preset or TOML) first curve on its data model (not its Gaussian
  equivalent), started, like its simulation, from the networks of `seeds` seeds drawn from
  `seed`; uncertainties from the curvature with the CSV's standard errors.
- A trajectory `.npz` of `jaxgem run` (or `Trajectory.save`): its own problem, from each seed's
  own weights; uncertainties from the seeds (the sandwich, correlations in time included). The
  configuration is not used.

The free parameters and their starting values come from `--free name=value`.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import jax

from ..fit import Curve, fit
from ..fit.parameters import check_free
from ..results import Trajectory
from . import build
from .config import ConfigError, curve_configs

__all__ = ["parse_free", "fit_command"]


def parse_free(items: list[str]) -> dict[str, float]:
    """`["lr=0.5", "noise=0.1"]` as `{"lr": 0.5, "noise": 0.1}` (one-line errors)."""
    if not items:
        raise ConfigError("give the parameters to fit and their starting values: --free lr=0.5")
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--free {item!r}: expected NAME=VALUE, e.g. --free lr=0.5")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--free {name}: {value!r} is not a number") from None
    return out


def prepare(config: dict, data_path: str, free: dict):
    """`(problem, curve, free)` checked before any long computation; every refusal is a
    `ConfigError` in one line."""
    if config["job"] != "online" and not data_path.endswith(".npz"):
        raise ConfigError(
            f"jaxgem fit fits the ODE theory of online presets; {config['name']!r} is "
            f"{config['job']!r} (use jaxgem.fit_replica from Python for ERM curves)"
        )
    path = Path(data_path)
    if not path.is_file():
        raise ConfigError(
            f"data: no such file {data_path!r} (a CSV with columns t, eg[, eg_sem], or a "
            "trajectory .npz of jaxgem run)"
        )
    if path.suffix == ".npz":
        return _trajectory(path, free)
    try:
        curve = Curve.load_csv(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"data: {error}") from None
    _, first = curve_configs(config)[0]
    data_key, _ = jax.random.split(jax.random.key(first["seed"]))
    model = build.data_models({**first, "data": {**first["data"], "gaussian_equivalent": False}},
                              data_key)  # fmt: skip
    problem = build.problem(first, next(iter(model.values())))
    try:
        free = check_free(problem, free)
    except ValueError as error:
        raise ConfigError(f"--free: {error}") from None
    return problem, curve, free


def _trajectory(path: Path, free: dict):
    try:
        traj = Trajectory.load(path)
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError(f"data: {path} is not a trajectory of jaxgem run: {error}") from None
    if traj.problem is None:
        raise ConfigError(f"data: {path} carries no problem that this Python can restore")
    try:
        free = check_free(traj.problem, free)
    except ValueError as error:
        raise ConfigError(f"--free: {error}") from None
    return traj, None, free


def fit_command(
    config: dict, data_path: str, free: dict, out: Path, *, seeds: int | None, announce
) -> int:
    """Run the fit and write its files; 0 if it converged, 1 if not (the files are written
    either way)."""
    model, curve, free = prepare(config, data_path, free)
    announce()
    print(f"fitting {', '.join(free)} ... (the first solve compiles)", file=sys.stderr, flush=True)
    if curve is None:  # a trajectory: its own problem and seeds
        result = fit(model, free=free)
    else:
        _, run_key = jax.random.split(jax.random.key(config["seed"]))
        result = fit(model, curve, free, key=run_key, seeds=_seeds(data_path, seeds, config))
    files = result.save(out)
    for line in result.summary():
        print(line)
    for file in files:
        print(f"wrote {file}")
    return 0 if result.converged else 1


def _seeds(data_path: str, seeds: int | None, config: dict) -> int:
    """The seeds the theory starts from: those of a `jaxgem run` table (its `seeds` column,
    the same networks as its simulation), unless `--seeds` or the configuration says
    otherwise."""
    if seeds is not None:
        return seeds
    with open(data_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    try:
        return max(int(row["seeds"]) for row in rows)
    except (KeyError, ValueError):
        return config["seeds"]
