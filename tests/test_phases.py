"""The SGD phase diagram over width scalings (issue 16, item 2): regimes of the (kappa, delta)
plane from the ODEs, each confirmed by a simulation labelled with the same rule."""

import csv
import json

import jax
import numpy as np
import pytest

from jaxgem.app.cli import main
from jaxgem.phases import LABELS, PhaseDiagram, classify, phase_diagram


def test_classify_reads_divergence_learning_and_the_gradient_flow():
    """The rule alone: diverged (or non-finite) first, then learnt below the threshold, then
    noise-dominated when the gradient flow learns, else plateau."""
    eg_final = np.array([np.nan, 0.5, 0.001, 0.05, 0.05])
    diverged = np.array([False, True, False, False, False])
    eg_drift = np.array([0.0, 0.0, 0.5, 0.001, 0.05])
    labels = classify(eg_final, diverged, eg_drift, eg_null=0.1, learn_fraction=0.02)
    assert [LABELS[i] for i in labels] == [
        "diverges", "diverges", "learns", "noise-dominated", "plateau"
    ]  # fmt: skip


def test_a_grid_that_only_diverges_stops_at_once():
    """lr = 8^3 = 512: every cell diverges, its solve stops at the divergence threshold, and no
    gradient flow is solved (none is needed), so the call returns in seconds."""
    d = phase_diagram([0.0, 1.0], [-3.0], jax.random.key(0), horizon=1000.0)
    assert d.counts()["diverges"] == 2 and np.isnan(d.eg_drift).all()


def test_phase_command_confirms_every_regime_by_simulation(tmp_path):
    """`jaxgem run phase-diagram --quick` (K = 8, M = 2, budget t = 1000) at N = 500 with one
    seed.

    The ODEs: all four regimes appear on the 6 x 6 grid; down every column (the learning rate
    growing) the order is plateau, then learns or noise-dominated, then diverges, never back;
    kappa = 1.5 (the student's largest output K^(1 - kappa) below the target's) never learns; the
    null error is 1/12 (A = 1/2: 1/2 x 2 x 1/4 x 1/3).

    The simulations: every regime is simulated at its deepest cell and gets the ODE's label;
    where the error is finite it agrees with the ODE's within 25 % (the ODE starts from seed 0's
    networks). The table, the record and the figure are written; bad input is refused in one
    line."""
    out = tmp_path / "phase"
    argv = ["run", "phase-diagram", "--quick", "--out", str(out), "--seeds", "1",
            "--set", "phase.N=500"]  # fmt: skip
    assert main(argv) == 0
    d = PhaseDiagram.load(out / "phase.npz")
    assert all(n > 0 for n in d.counts().values()), d.counts()
    order = {"plateau": 0, "learns": 1, "noise-dominated": 1, "diverges": 2}
    names = d.label_names()
    for j, kappa in enumerate(d.kappas):  # deltas increase along the rows: the rate falls
        rank = [order[n] for n in names[::-1, j]]
        assert rank == sorted(rank), (kappa, names[:, j])
    assert all(n != "learns" for n in names[:, d.cell(1.5, 0)[1]])
    assert d.eg_null == pytest.approx(1 / 12, rel=0.05)
    checks = list(csv.DictReader(open(out / "phase_checks.csv")))
    assert {c["ode_label"] for c in checks} == set(LABELS), checks
    for c in checks:
        assert c["simulated_label"] == c["ode_label"], c
        if c["ode_label"] != "diverges":
            assert float(c["eg_simulated"]) == pytest.approx(float(c["eg_ode"]), rel=0.25), c
    record = json.loads((out / "run.json").read_text())
    assert all(c["confirmed"] for c in record["phase"]["confirmed"])
    assert len(list(csv.DictReader(open(out / "phase.csv")))) == 36
    assert (out / "phase.png").stat().st_size > 10_000
    assert main(argv + ["--set", "phase.kappas=[]"]) == 2
    assert main(argv + ["--set", "phase.learn_fraction=2"]) == 2
    with pytest.raises(ValueError, match="learn_fraction"):
        phase_diagram([0.0], [0.0], jax.random.key(0), learn_fraction=1.5)
