"""Escape from the equator (issue 16, item 1): spherical online SGD on single-index Hermite
targets; the escape time's growth with d in simulation against the ODE from m0 ~ 1/sqrt d."""

import csv
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem.app.cli import main
from jaxgem.escape import (
    alignment,
    escape_problem,
    escape_times,
    theory_exponent,
)


def test_spherical_sgd_follows_its_ode_from_an_exact_start():
    """SphereInit puts the student at exactly the cosine asked; spherical SGD keeps |w|^2 = N;
    the mean cosine of 8 seeds (k = 1, d = 1000, lr = 0.5: a large noise term) follows the ODE
    projected on the sphere within 4 standard errors."""
    d, seeds = 1000, 8
    problem = escape_problem(1, d)  # h_1 teacher and student, lr 0.5, cosine 2 / sqrt d
    teachers, students = problem.networks(jax.random.key(5), seeds)
    cosine0 = jnp.sum(teachers.w[:, 0] * students.w[:, 0], -1) / d
    np.testing.assert_allclose(cosine0, 2 / math.sqrt(d), rtol=1e-4)
    np.testing.assert_allclose(jnp.sum(students.w**2, -1) / d, 1.0, rtol=1e-5)
    trajectory = jaxgem.simulate(problem, jax.random.key(5), seeds=seeds, t_max=2.0,
                                 n_records=9, spacing="linear")  # fmt: skip
    np.testing.assert_allclose(trajectory.Q[0, :, :, 0, 0], 1.0, rtol=1e-4)  # on the sphere
    T = np.einsum("snd,smd->snm", trajectory.B0, trajectory.B0) / d
    cosine = alignment(trajectory.R[0], trajectory.Q[0], T[:, None])  # (S, R)
    ode = jaxgem.theory(trajectory)
    ode_cosine = alignment(ode.R[0], ode.Q[0], ode.T[0][:, None])
    mean, sem = cosine.mean(0), cosine.std(0, ddof=1) / math.sqrt(seeds)
    assert np.all(np.abs(mean - ode_cosine.mean(0)) < 4 * sem + 0.01), (mean, ode_cosine.mean(0))
    assert mean[-1] > 0.6 and mean[0] < 0.1  # it escaped (the cosine crosses 0.5 at t ~ 1.2)

    with pytest.raises(ValueError, match="iid inputs only"):
        hmm = jaxgem.HiddenManifold.random(jax.random.key(0), N=50, D=25)
        jaxgem.theory(problem.replace(data=hmm, student=jaxgem.SphereInit(1, "h1")),
                      jnp.linspace(0, 1, 3), key=jax.random.key(0))  # fmt: skip
    with pytest.raises(ValueError, match="cosine"):
        jaxgem.SphereInit(1, "h3", overlap=1.5)


def test_the_ode_gives_the_exponents_of_the_escape_time():
    """From m0 = 2 / sqrt d with lr ~ d^-(k-2)/2, the ODE's escape time t grows like d^(k-2) for
    k = 3, 4 (log-log slope over two decades of large d within 0.03), like log d for k = 2 (equal
    steps per decade) and tends to a constant for k = 1 (Ben Arous, Gheissari, Jagannath 2021)."""
    from jaxgem.escape import _ode_escape

    def ode_time(k, d):
        problem = escape_problem(k, d)
        lr = float(problem.hyperparameters.lr[0])
        return _ode_escape(problem, 0.5, 1.0 / (lr * k * (2 / math.sqrt(d)) ** max(k - 2, 0)))

    for k, low in ((3, 10**4), (4, 10**3)):
        slope = math.log(ode_time(k, 100 * low) / ode_time(k, low)) / math.log(100)
        assert abs(slope - theory_exponent(k)) < 0.03, (k, slope)
    steps = np.diff([ode_time(2, d) for d in (10**4, 10**5, 10**6)])
    np.testing.assert_allclose(steps[1], steps[0], rtol=0.02)
    assert steps[0] > 1  # grows: half a decade of log d per 1 / (2 lr k) of time
    one = [ode_time(1, d) for d in (10**4, 10**6)]
    np.testing.assert_allclose(one[1], one[0], rtol=0.05)


def test_escape_times_interpolate_the_first_crossing():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    cosine = np.array([[0.1, 0.3, 0.7, 0.9], [0.1, 0.2, 0.3, 0.4], [0.6, 0.7, 0.8, 0.9]])
    got = escape_times(times, cosine, 0.5)
    np.testing.assert_allclose(got[0], 1.5)
    assert np.isnan(got[1]) and got[2] == 0.0
    assert [theory_exponent(k) for k in (1, 2, 3, 4)] == [0.0, 0.0, 1.0, 2.0]
    assert jaxgem.escape.escape_times is escape_times  # the submodules as attributes
    assert jaxgem.finite.linear_gd_theory is not None and jaxgem.hermite.Hermite is jaxgem.Hermite


def test_escape_command_measures_the_d_scaling_of_k3_against_the_ode(tmp_path, capsys):
    """`jaxgem run escape-times` for k = 3 at d = 48, 96, 192 (16 seeds, lr ~ d^-1/2): the
    escape time t grows like d^(k-2) = d (with finite-d corrections at these d). The fitted
    log-log slope agrees with the ODE's over the same dimensions within 3 bootstrap errors, and
    the ODE from
    m0 = 2 / sqrt d lies within the seeds' 10-90 % range at every d. CSV, JSON, PNG, one npz
    per dimension; a rerun reads them back; bad input is one line."""
    out = tmp_path / "escape"
    arguments = ["run", "escape-times", "--out", str(out), "--no-progress", "--seeds", "16",
                 "--set", "escape.k=[3]", "--set", "escape.dims_high_k=[48,96,192]"]  # fmt: skip
    assert main(arguments) == 0
    record = json.loads((out / "run.json").read_text())
    (study,) = record["slopes"]
    assert study["k"] == 3 and study["exponent"] == 1.0
    assert abs(study["slope"] - study["ode_slope"]) < 3 * study["slope_error"], study
    assert 0.02 < study["slope_error"] < 0.3 and study["slope"] > 0.8
    rows = list(csv.DictReader((out / "escape.csv").open()))
    assert [int(r["d"]) for r in rows] == [48, 96, 192]
    for row in rows:
        assert int(row["escaped"]) >= 12
        assert float(row["t_q10"]) <= float(row["t_ode"]) <= float(row["t_q90"]), row
        assert float(row["samples_ode"]) == pytest.approx(float(row["t_ode"]) * int(row["d"]))
    assert (out / "escape.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in out.glob("escape_k3_d*.npz")) == [
        "escape_k3_d192.npz", "escape_k3_d48.npz", "escape_k3_d96.npz"]  # fmt: skip
    capsys.readouterr()
    assert main(arguments) == 0  # resumes: every dimension read back
    assert capsys.readouterr().out.count("read from") == 3
    assert json.loads((out / "run.json").read_text())["slopes"] == record["slopes"]

    for bad, named in [
        (["--set", "escape.k=[9]"], ["escape.k", "[9]", "1..8"]),
        (["--set", "escape.dims=[100,50]"], ["escape.dims", "increasing"]),
        (["--set", "escape.lr0=[0.1,0.2]"], ["escape.lr0", "one rate per k"]),
        (["--set", "escape.threshold=1.5"], ["escape.threshold", "1.5", "(0, 1)"]),
    ]:
        assert main(["run", "escape-times", "--out", str(tmp_path / "bad"), *bad]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert all(word in line for word in named), line


def test_a_study_where_no_seed_escapes_still_plots(tmp_path):
    """Diverged or stuck runs (escape times NaN, no ODE escape): the figure is written with
    linear axes instead of failing on a log axis of nothing."""
    from jaxgem.app.plotting import plot_escape
    from jaxgem.escape import EscapeRun, EscapeStudy

    times = np.linspace(0.0, 1.0, 5)
    runs = [EscapeRun(k=2, d=d, lr=50.0, threshold=0.5, simulated=np.full(2, np.nan),
                      ode=math.nan, times=times, cosine=np.full((2, 5), np.nan),
                      ode_cosine=np.full(5, np.nan)) for d in (50, 100)]  # fmt: skip
    study = EscapeStudy.of(runs)
    assert math.isnan(study.slope) and np.isinf(runs[0].median())
    path = plot_escape([study], tmp_path / "escape.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
