"""The `jaxgem` command: presets, configs, outputs, resuming, and clear errors."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

import jaxgem
from jaxgem.app.cli import main
from jaxgem.app.config import DEFAULTS, ConfigError, apply_overrides, load_config, to_toml, tomllib
from jaxgem.app.presets import PRESETS, preset

SMALL_HMM = [
    "--set",
    "data.N=200",
    "--set",
    "data.D=100",
    "--set",
    "record.t_max=1.5",
    "--set",
    "record.n_records=6",
    "--seeds",
    "2",
    "--no-progress",
]


def test_presets_are_listed(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in PRESETS:
        assert name in out


def test_every_preset_is_a_valid_configuration():
    for name in PRESETS:
        config = preset(name)
        assert set(config) == set(DEFAULTS)


def test_default_run_writes_table_record_plot_and_trajectories(tmp_path, capsys):
    """The default preset, small: table, record, plot, trajectories with their theory, and with
    `record.diagnostics = true` a row per curve and record with the Gaussianity statistics of the
    fields (a hidden manifold's fields pass them); a rerun resumes from the checkpoints."""
    out = tmp_path / "run"
    diagnostics = ["--set", "record.diagnostics=true"]
    assert main(["run", "--out", str(out), *SMALL_HMM, *diagnostics]) == 0
    printed = capsys.readouterr().out
    assert "hidden_manifold" in printed and "gaussian_equivalent" in printed and "±" in printed

    with open(out / "eg.csv") as handle:
        rows = list(csv.DictReader(handle))
    curves = {row["curve"] for row in rows}
    assert curves == {"hidden_manifold", "gaussian_equivalent"}
    assert {"t", "eg_mean", "eg_sem", "eg_theory", "lr", "seeds"} <= set(rows[0])
    # both curves come with the spectral ODE prediction (same Omega, Phi: the same theory)
    theory = np.array([float(row["eg_theory"]) for row in rows])
    simulated = np.array([float(row["eg_mean"]) for row in rows])
    assert np.all(np.abs(theory - simulated) < 0.1 * simulated + 0.01)
    assert (out / "hidden_manifold.theory.npz").exists()

    record = json.loads((out / "run.json").read_text())
    for key in ("config", "seed", "jax", "jaxgem", "device", "dtype"):
        assert key in record
    assert record["config"]["data"]["N"] == 200
    assert (out / "eg.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    traj = jaxgem.Trajectory.load(out / "hidden_manifold.npz")
    assert traj.eg.shape[:2] == (1, 2)

    with open(out / "diagnostics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 6 and {row["curve"] for row in rows} == {
        "hidden_manifold",
        "gaussian_equivalent",
    }
    assert {"t", "distance", "excess_z", "cumulant_z", "max_abs_excess_kurtosis"} <= set(rows[0])
    assert all(float(row["cumulant_z"]) < 6 and float(row["excess_z"]) < 6 for row in rows)
    assert record["files"]["diagnostics"] == "diagnostics.csv"

    # Running again into the same folder resumes: the finished checkpoints are read back.
    assert main(["run", "--out", str(out), *SMALL_HMM, *diagnostics]) == 0
    again = jaxgem.Trajectory.load(out / "hidden_manifold.npz")
    np.testing.assert_array_equal(again.eg, traj.eg)


def test_curves_preset_writes_table_plot_and_record(tmp_path, capsys):
    """`jaxgem curves`: replica theory rows and ERM rows with error bars, a PNG, a JSON record;
    ERM within reach of the theory."""
    out = tmp_path / "curves"
    assert main(["curves", "square-sign", "--quick", "--seeds", "4", "--out", str(out)]) == 0
    with open(out / "curves.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["kind"] for row in rows} == {"theory", "erm"}
    assert {"alpha", "test_error", "test_error_sem", "train_loss", "train_loss_sem"} <= set(rows[0])
    for curve in {row["curve"] for row in rows}:
        theory = {float(r["alpha"]): float(r["test_error"]) for r in rows
                  if r["curve"] == curve and r["kind"] == "theory"}  # fmt: skip
        alphas = np.array(sorted(theory))
        for r in (r for r in rows if r["curve"] == curve and r["kind"] == "erm"):
            expected = np.interp(float(r["alpha"]), alphas, [theory[a] for a in alphas])
            assert abs(float(r["test_error"]) - expected) < 4 * float(r["test_error_sem"]) + 0.02
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "run.json").read_text())["preset"] == "square-sign"
    assert main(["curves", "--list"]) == 0
    assert "rf-ridge" in capsys.readouterr().out
    assert main(["curves", "nonsense"]) == 2


def test_toml_config_round_trip_and_run(tmp_path):
    text = to_toml(preset("iid-lr-sweep"))
    assert tomllib.loads(text)["training"]["lr"] == PRESETS["iid-lr-sweep"]["training"]["lr"]
    path = tmp_path / "sweep.toml"
    path.write_text(text.replace("N = 500", "N = 100").replace("t_max = 100.0", "t_max = 1.0"))
    config = load_config(path)
    assert config["data"]["N"] == 100 and config["name"] == "iid-lr-sweep"
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--seeds", "2"]) == 0
    with open(out / "eg.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {float(row["lr"]) for row in rows} == {0.1, 0.3, 0.5, 1.0, 2.0, 3.0}
    # iid inputs come with the ODE prediction, started from each seed's initial overlaps
    theory = np.array([float(row["eg_theory"]) for row in rows])
    simulated = np.array([float(row["eg_mean"]) for row in rows])
    assert np.all(np.isfinite(theory)) and np.all(
        np.abs(theory - simulated) < 0.1 * simulated + 0.01
    )
    assert (out / "iid.theory.npz").exists()


def test_overrides_parse_values():
    config = apply_overrides(
        preset("default"),
        [
            "training.lr=[0.1, 0.2]",
            "student.activation=relu",
            "seeds=3",
            "training.train_second_layer=true",
        ],
    )
    assert config["training"]["lr"] == [0.1, 0.2]
    assert config["student"]["activation"] == "relu"
    assert config["seeds"] == 3 and config["training"]["train_second_layer"] is True


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "nonsense"], "unknown preset 'nonsense'"),
        (["run", "--set", "training.lrr=0.1"], "unknown config key training.lrr"),
        (["run", "--set", "traning.lr=0.1"], "unknown config key 'traning'"),
        (["run", "--set", "data.N=-5"], "data.N must be a positive integer"),
        (["run", "--set", "data.model=mnist"], "data.model = 'mnist' is not one of"),
        (["run", "--set", "training.lr=fast"], "training.lr must be a number"),
        (["run", "--set", "lr"], "must look like section.key=value"),
        (["run", "missing.toml"], "cannot read config file"),
        (["run", "iid-plateau", "--set", "training.lr=-1"], "[training] lr must be finite and"),
        (["run", "iid-plateau", "--set", "training.batch_size=[1,0]"], "[training] batch_size"),
        (
            ["run", "iid-plateau", "--set", "student.std=-1"],
            "[student] std must be a non-negative number",
        ),
        (["curves", "default"], "is an online preset"),
    ],
)
def test_bad_input_gives_a_clear_error(capsys, args, message):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_malformed_toml_is_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[data\nN = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_console_script_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "jaxgem", "presets"], capture_output=True, text=True, check=True
    )
    assert "default" in result.stdout
