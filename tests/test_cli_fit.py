"""`jaxgem fit` and `training.schedule` on the command line: a run with a power-law schedule,
fitted back from its table (CSV) and from its trajectory (.npz); clear one-line errors."""

import json

import pytest

from jaxgem.app.cli import main
from jaxgem.app.config import apply_overrides
from jaxgem.app.fitting import _seeds, prepare
from jaxgem.app.presets import preset

RUN = [
    "--set", "data.N=500",
    "--set", "training.lr=0.8",
    "--set", "training.noise=0.3",
    "--set", 'training.schedule="power_law"',
    "--set", "training.schedule_tau=5.0",
    "--set", "training.schedule_beta=0.5",
    "--set", "record.t_max=20.0",
    "--set", "record.n_records=11",
    "--set", 'record.spacing="linear"',
    "--seeds", "8",
    "--no-progress",
]  # fmt: skip
# what the fit starts from: the same configuration with other values of the free parameter
GUESS = ["--set", "training.lr=0.4", "--set", "training.noise=0.3", "--set", "data.N=500"]
SCHEDULE = ["--set", 'training.schedule="power_law"', "--set", "training.schedule_tau=5.0",
            "--set", "training.schedule_beta=0.5"]  # fmt: skip


@pytest.fixture(scope="module")
def scheduled_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["run", "iid-plateau", *RUN, "--out", str(out)]) == 0
    return out


@pytest.mark.slow
def test_fit_command_recovers_the_learning_rate_of_a_scheduled_run(scheduled_run, tmp_path):
    """`jaxgem run` (iid, N = 500, lr = 0.8 with eta(t) = lr (1 + t / 5)^-0.5, noise 0.3, 8
    seeds) writes a table whose schedule columns say what ran; `jaxgem fit` of its trajectory
    recovers lr within two reported standard errors (seed sandwich). Its table is read as a
    curve too, the theory then starting from the run's own seeds (its `seeds` column)."""
    header = (scheduled_run / "eg.csv").read_text().splitlines()[0].split(",")
    assert {"schedule_tau", "schedule_beta"} <= set(header)
    out = tmp_path / "trajectory"
    args = ["fit", str(scheduled_run / "iid.npz"), "--free", "lr=0.4", "--out", str(out)]
    assert main(args) == 0
    record = json.loads((out / "fit.json").read_text())
    lr = record["parameters"]["lr"]
    assert record["converged"] and record["uncertainty"] == "seeds", record
    assert abs(lr["value"] - 0.8) < 2 * lr["stderr"] and lr["stderr"] < 0.1, record
    assert (out / "fit.png").stat().st_size > 0

    table = str(scheduled_run / "eg.csv")
    config = apply_overrides(preset("iid-plateau"), [a for a in GUESS + SCHEDULE if a != "--set"])
    problem, curve, free = prepare(config, table, {"lr": 0.4})
    assert problem.hyperparameters.schedule.kind == "power_law" and free == {"lr": 0.4}
    assert curve.t[-1] == 20.0 and curve.sem is not None
    assert _seeds(table, None, config) == 8 and _seeds(table, 3, config) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["fit", "missing.csv", "--free", "lr=1"], "data: no such file 'missing.csv'"),
        (["fit", "{csv}", "iid-plateau", "--free", "lr"], "--free 'lr': expected NAME=VALUE"),
        (["fit", "{csv}", "iid-plateau", "--free", "lr=x"], "--free lr: 'x' is not a number"),
        (["fit", "{csv}", "iid-plateau"], "give the parameters to fit"),
        (["fit", "{csv}", "iid-plateau", "--free", "tau=1"], "cannot fit 'tau'; this problem"),
        (["fit", "{csv}", "iid-plateau", "--free", "lr=-1"], "free['lr'] must be positive"),
        (["fit", "{csv}", "iid-lr-sweep", "--free", "lr=1"], "give a problem of one run"),
        (["fit", "{csv}", "rf-ridge", "--free", "lr=1"], "fits the ODE theory of online"),
        (["fit", "{bad}", "iid-plateau", "--free", "lr=1"], "needs columns t and eg"),
        (["fit", "{csv}", "iid-plateau", "--free", "lr=1", "--seeds", "0"], "--seeds must be"),
        (
            ["run", "iid-plateau", "--set", 'training.schedule="cosine"'],
            "training.schedule = 'cosine' is not one of",
        ),
        (
            ["run", "iid-plateau", "--set", 'training.schedule="piecewise"'],
            "[training] schedule = 'piecewise' needs schedule_factors",
        ),
        (
            [
                "run",
                "iid-plateau",
                "--set",
                'training.schedule="power_law"',
                "--set",
                "training.schedule_tau=-1",
            ],
            "[training] schedule tau must be finite and positive",
        ),  # fmt: skip
    ],
)
def test_fit_and_schedule_bad_input_get_one_line(tmp_path, capsys, args, message):
    csv = tmp_path / "curve.csv"
    csv.write_text("t,eg,eg_sem\n0,0.3,0.01\n1,0.2,0.01\n2,0.1,0.01\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("step,loss\n0,0.3\n")
    args = [a.format(csv=csv, bad=bad) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
