"""`jaxgem sweep`: a TOML grid over a preset's keys into one long table, a record and a plot;
a malformed grid is refused in one line."""

import csv
import json

import numpy as np
import pytest

from jaxgem.app import main
from jaxgem.sweep.grid import GridError, SweepGrid

GRID = """
preset = "iid-plateau"
seeds = 2
[set]
"data.N" = 100
"record.t_max" = 4.0
"record.n_records" = 5
[product]
"training.lr" = [0.3, 1.0]
[zip]
"student.K" = [2, 3]
"teacher.K" = [2, 3]
"""


def test_sweep_writes_a_long_table_a_record_and_a_heatmap(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    out = tmp_path / "out"
    assert main(["sweep", str(grid), "--out", str(out), "--no-progress"]) == 0
    assert "point 4/4: training.lr=1.0, student.K=3, teacher.K=3" in capsys.readouterr().err
    with open(out / "sweep.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 * 2 * 5  # points x seeds x records
    for key in ("point", "training.lr", "student.K", "teacher.K", "seed", "t", "eg", "eg_theory"):
        assert key in rows[0]
    points = {(r["training.lr"], r["student.K"], r["teacher.K"]) for r in rows}
    assert points == {(lr, k, k) for lr in ("0.3", "1.0") for k in ("2", "3")}
    assert {r["lr"] for r in rows if r["training.lr"] == "1.0"} == {"1.0"}
    # the theory of each row starts from that run's own weights: equal at t = 0
    start = [(float(r["eg"]), float(r["eg_theory"])) for r in rows if float(r["t"]) == 0]
    assert len(start) == 8
    np.testing.assert_allclose(*zip(*start), rtol=1e-5)
    later = [abs(float(r["eg"]) - float(r["eg_theory"])) for r in rows if float(r["t"]) > 0]
    assert np.all(np.isfinite(later))
    record = json.loads((out / "sweep.json").read_text())
    assert record["status"] == "finished" and len(record["points"]) == 4
    assert record["config"]["sweep"]["product"] == {"training.lr": [0.3, 1.0]}
    assert "jax" in record and record["devices"] >= 1
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    # a rerun finds every point finished and writes the same table
    before = (out / "sweep.csv").read_text()
    assert main(["sweep", str(grid), "--out", str(out), "--no-progress"]) == 0
    assert (out / "sweep.csv").read_text() == before


@pytest.mark.parametrize(
    "text, message",
    [
        ('preset = "iid-plateau"\n[product]\n"training.lr" = []', "non-empty list"),
        ('preset = "iid-plateau"\n[zip]\n"student.K" = [2, 3]\n"teacher.K" = [2]', "equal lengths"),
        ('preset = "iid-plateau"\n[grid]\n"training.lr" = [1]', "unknown sweep key 'grid'"),
        ('[product]\n"training.lr" = [1]', "needs preset"),
        ('preset = "iid-plateau"\n[set]\n"seeds" = 2', "varies nothing"),
        ('preset = "iid-plateau"\n[product]\n"training" = [1]', None),
        ('preset = "iid-plateau"\n[product]\n"training.lrr" = [0.1]', "training.lrr"),
        ('preset = "iid-plateau"\n[product]\n"training.lr" = [-1.0]', "training.lr=-1.0"),
        ('preset = "rf-ridge"\n[product]\n"erm.lam" = [0.1]', "online presets"),
        ('preset = "iid-plateau"\nseeds = 0\n[product]\n"training.lr" = [1.0]', "seeds"),
        ("preset = [", "not valid TOML"),
    ],
)
def test_malformed_grid_is_one_line(tmp_path, capsys, text, message):
    grid = tmp_path / "grid.toml"
    grid.write_text(text)
    assert main(["sweep", str(grid), "--out", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jaxgem: error:")
    if message is not None:
        assert message in lines[0]
    assert not (tmp_path / "out").exists()


def test_grid_points_are_the_product_times_the_zip():
    grid = SweepGrid.parse(
        {
            "preset": "p",
            "product": {"a.x": [1, 2], "a.y": [3]},
            "zip": {"b.u": [5, 6], "b.v": [7, 8]},
        }
    )
    assert grid.points() == [
        {"a.x": 1, "a.y": 3, "b.u": 5, "b.v": 7},
        {"a.x": 1, "a.y": 3, "b.u": 6, "b.v": 8},
        {"a.x": 2, "a.y": 3, "b.u": 5, "b.v": 7},
        {"a.x": 2, "a.y": 3, "b.u": 6, "b.v": 8},
    ]
    assert grid.changes(grid.points()[0]) == {"a": {"x": 1, "y": 3}, "b": {"u": 5, "v": 7}}
    with pytest.raises(GridError, match="in both"):
        SweepGrid.parse({"preset": "p", "set": {"a.x": 1}, "product": {"a.x": [1, 2]}})
