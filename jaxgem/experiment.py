"""Run a configured experiment: build the data models and networks, simulate every curve, and
write a CSV, a JSON record, a PNG and the trajectories to an output folder.

Re-running into the same folder resumes from the checkpoints there (an interrupted run continues;
a finished one is read back), so nothing computed is lost.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jax
import numpy as np

from .config import ConfigError
from .data import GaussianEquivalent, HiddenManifold, IIDGaussian
from .data.base import DataModel
from .diagnostics import field_gaussianity_along
from .generators.from_config import generator_data
from .io import save_csv, save_json, save_npz
from .networks import TwoLayerNetwork
from .ode import spectrum_of, theory_for
from .online import run_metadata, simulate
from .plotting import plot_learning_curves
from .results import Trajectory

__all__ = ["build_data_models", "network_initialisers", "run_experiment", "summary_table"]


def build_data_models(
    config: dict, key: jax.Array, cache_dir: str | Path | None = None
) -> dict[str, DataModel]:
    """The data model of `config["data"]` and, if asked, its Gaussian equivalent, by curve name.
    Monte Carlo moments are checkpointed in `cache_dir` (resumed on a rerun)."""
    data = config["data"]
    if data["model"] == "iid":
        return {"iid": IIDGaussian(N=data["N"])}
    if data["model"] == "hidden_manifold":
        if data["moments"] not in ("exact", "gaussian_equivalent"):
            raise ConfigError(
                "data.moments for hidden_manifold is 'exact' or 'gaussian_equivalent'"
            )
        model = HiddenManifold.random(
            key, data["N"], data["D"], data["activation"], moments=data["moments"]
        )
        name = "hidden_manifold"
    else:
        model = generator_data(data, key, cache_dir)
        name = data["model"]
    curves: dict[str, DataModel] = {name: model}
    if data["gaussian_equivalent"]:
        curves["gaussian_equivalent"] = GaussianEquivalent.of(model)
    return curves


def _network(section: dict, key, N: int, teacher=None) -> TwoLayerNetwork:
    common = dict(output_scaling=section["output_scaling"])
    if section["init"] == "informed":
        if teacher.N != N:
            raise ConfigError(
                "student.init = 'informed' needs the teacher to read the student's input "
                "(data.model = 'iid')"
            )
        readout = section["readout"]
        if not isinstance(readout, (int, float)):
            raise ConfigError("student.init = 'informed' needs a numeric student.readout")
        return TwoLayerNetwork.informed(
            key,
            teacher,
            section["K"],
            section["activation"],
            overlap=section["overlap"],
            readout=readout,
            **common,
        )
    return TwoLayerNetwork.gaussian(
        key,
        section["K"],
        N,
        section["activation"],
        std=section["std"],
        readout=section["readout"],
        **common,
    )


def network_initialisers(config: dict, data_model: DataModel):
    """`(teacher, student)` initialisers for `simulate` (the student may read its teacher)."""
    teacher = functools.partial(_network, config["teacher"], N=data_model.latent_dim)
    student_section = config["student"]
    if student_section["init"] == "informed":

        def student(key, teacher):
            return _network(student_section, key, data_model.input_dim, teacher)
    else:
        student = functools.partial(_network, student_section, N=data_model.input_dim)
    return teacher, student


def summary_table(curves: dict[str, Trajectory], theory: dict | None = None) -> str:
    """A text table: final eg (mean ± error over seeds, and the ODE's where available) per
    curve and hyperparameter."""
    theory = theory or {}
    header = (
        f"{'curve':<22}{'lr':>8}{'noise':>8}{'t':>9}{'eg (mean ± sem)':>26}{'theory':>12}"
        f"{'seeds ok':>10}"
    )
    lines = [header, "-" * len(header)]
    for name, traj in curves.items():
        last = traj.completed - 1
        mean, sem = traj.mean(), traj.sem()
        for h in range(mean.shape[0]):
            lr, noise = traj.hyperparameters["lr"][h], traj.hyperparameters["noise"][h]
            eg = f"{mean[h, last]:.5g} ± {sem[h, last]:.2g}"
            ok = f"{traj.healthy[h].sum()}/{traj.healthy.shape[1]}"
            predicted = f"{theory[name][h, last]:.5g}" if name in theory else "-"
            lines.append(
                f"{name:<22}{lr:>8.3g}{noise:>8.3g}{traj.t[last]:>9.4g}{eg:>26}{predicted:>12}"
                f"{ok:>10}"
            )
    return "\n".join(lines)


def _diagnostics_rows(name: str, trajectory: Trajectory, data_model: DataModel, key) -> list:
    """One row per record: the Gaussianity statistics of the fields of the curve's first run."""
    t, diagnostics = field_gaussianity_along(trajectory, data_model, jax.random.fold_in(key, 1))
    columns = {k: v.tolist() for k, v in diagnostics.summary().items()}
    return [
        {"curve": name, "t": float(t[r]), **{k: v[r] for k, v in columns.items()}}
        for r in range(t.shape[0])
    ]


def run_experiment(
    config: dict, out_dir: str | Path, *, progress: bool = True, restart: bool = False, echo=print
) -> dict[str, Trajectory]:
    """Run every curve of `config`, writing into `out_dir`:

    - `eg.csv`: long table (curve, hyperparameters, t, eg mean and sem, seeds, and the ODE
      prediction `eg_theory`: Saad-Solla for iid inputs, spectral for generator inputs);
    - `run.json`: the configuration, seed, versions, dtype, device, files and divergences;
    - `eg.png`: the learning curves;
    - `<curve>.npz`: each `Trajectory` (`jaxgem.Trajectory.load`); `<curve>.theory.npz` the ODE
      prediction per run;
    - `diagnostics.csv` (with `record.diagnostics = true`): how Gaussian the local fields of the
      first run of each curve are at every record (`diagnostics.field_gaussianity_along`);
      `<curve>.checkpoint.npz`, from which an interrupted run resumes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data_key, run_key = jax.random.split(jax.random.key(config["seed"]))
    curves = build_data_models(config, data_key, out_dir)
    training, record = config["training"], config["record"]
    results: dict[str, Trajectory] = {}
    theory: dict[str, np.ndarray] = {}  # ODE prediction (H, R) per curve
    spectrum = None
    diagnostics_rows: list[dict] = []
    for name, data_model in curves.items():
        checkpoint = out / f"{name}.checkpoint.npz"
        if restart and checkpoint.exists():
            checkpoint.unlink()
        teacher, student = network_initialisers(config, data_model)
        trajectory = simulate(
            run_key,
            data_model,
            teacher,
            student,
            lr=training["lr"],
            lr_v=training["lr_v"],
            noise=training["noise"],
            weight_decay=training["weight_decay"],
            product=training["product"],
            train_second_layer=training["train_second_layer"],
            batch_size=training["batch_size"],
            t_max=record["t_max"],
            n_records=record["n_records"],
            spacing=record["spacing"],
            test_set_size=record["test_set_size"],
            seeds=config["seeds"],
            checkpoint=checkpoint,
            progress=progress,
            description=name,
            record_weights=record["diagnostics"],
        )
        trajectory.metadata["config"] = config
        trajectory.save(out / f"{name}.npz")
        results[name] = trajectory
        if isinstance(data_model, IIDGaussian):
            prediction = theory_for(trajectory)
        else:  # the spectral ODEs; the Gaussian equivalent shares Omega, so one eigh serves all
            spectrum = spectrum_of(data_model) if spectrum is None else spectrum
            prediction = theory_for(trajectory, data_model=data_model, spectrum=spectrum)
        per_seed = np.where(trajectory.healthy[..., None], np.asarray(prediction.eg), np.nan)
        theory[name] = np.nanmean(per_seed, axis=1)
        save_npz(out / f"{name}.theory.npz", t=np.asarray(prediction.t), eg=per_seed)
        rows = [row for n, t in results.items() for row in t.rows(theory.get(n), curve=n)]
        save_csv(out / "eg.csv", rows)
        if record["diagnostics"]:
            diagnostics_rows += _diagnostics_rows(name, trajectory, data_model, run_key)
            save_csv(out / "diagnostics.csv", diagnostics_rows)

    divergences = {n: t.divergence_report() for n, t in results.items()}
    save_json(
        out / "run.json",
        {
            "config": config,
            "seed": config["seed"],
            **run_metadata(),
            "dtype": next(iter(results.values())).metadata["dtype"],
            "files": {
                "table": "eg.csv",
                "plot": "eg.png",
                "trajectories": {n: f"{n}.npz" for n in results},
                **({"diagnostics": "diagnostics.csv"} if record["diagnostics"] else {}),
            },
            "divergences": divergences,
        },
    )
    plot_learning_curves(
        results, out / "eg.png", title=config["description"] or config["name"], theory=theory
    )
    echo(summary_table(results, theory))
    for lines in divergences.values():
        for line in lines:
            echo(line)
    files = [f"{n}.npz" for n in results] + [f"{n}.theory.npz" for n in theory]
    echo(f"wrote {out}/eg.csv, eg.png, run.json and {', '.join(files)}")
    return results
