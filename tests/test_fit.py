"""Fitting the ODE theory to learning curves by gradient (`jaxgem.fit`)."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem

TRUE = {"lr": 0.8, "noise": 0.3}
GUESS = {"lr": 0.5, "noise": 0.1}


def _seeds(traj, count):
    """The first `count` seeds of a trajectory (seeds are independent: `fold_in(key, s)`)."""
    per_seed = dict(eg=1, Q=1, R=1, v=1, diverged_at=1, T=0, A=0, seeds=0, w0=0, B0=0)
    return dataclasses.replace(
        traj,
        **{
            name: np.take(getattr(traj, name), np.arange(count), axis=axis)
            for name, axis in per_seed.items()
        },
    )


@pytest.mark.slow
def test_fit_recovers_learning_rate_and_noise_from_a_simulation():
    """iid inputs, N = 1000, K = M = 2 erf, lr = 0.8, noise = 0.3, from a guess of 0.5 and
    0.1: from 8 seeds both are recovered within two of their reported standard deviations (the
    seeds' sandwich estimate, correlations in time included), and from 32 seeds too, with
    uncertainties about half as large; the 95 % interval uses the Student-t quantile of 7
    degrees of freedom at 8 seeds. (Over 80 repetitions, scripts/fit_coverage.py, 85-88 % of
    8-seed fits fall within two reported errors, as a t-distribution of 7 degrees of freedom
    expects: 91 %.)"""
    problem = jaxgem.Problem(
        jaxgem.IIDGaussian(N=1000),
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit(2, "erf", std=0.5),
        **TRUE,
    )
    simulated = jaxgem.simulate(problem, jax.random.key(0), t_max=20.0, n_records=11,
                                spacing="linear", seeds=32)  # fmt: skip
    unknown = problem.replace(hyperparameters=jaxgem.Hyperparameters(**GUESS))
    errors = {}
    for seeds in (8, 32):
        traj = dataclasses.replace(_seeds(simulated, seeds), problem=unknown)
        result = jaxgem.fit(traj, free=GUESS)
        assert result.converged and result.uncertainty == "seeds"
        assert 0.2 < result.chi2_per_dof < 3, result.summary()
        for name, true in TRUE.items():
            value, error = result[name]
            assert abs(value - true) < 2 * error, (seeds, name, value, error)
            low, high = result.interval(name)
            assert low < true < high and high - value > (2.3 if seeds == 8 else 2.0) * error
        errors[seeds] = result.stderr
    assert np.all(errors[32] < 0.7 * errors[8]), errors


def _iid_problem(lr=0.5):
    return jaxgem.Problem(
        jaxgem.IIDGaussian(N=100), jaxgem.GaussianInit(2), jaxgem.GaussianInit(2), lr=lr
    )


START = jaxgem.OrderParameters(
    Q=0.3 * jnp.eye(2), R=0.1 * jnp.eye(2), T=jnp.eye(2), v=jnp.ones(2), A=jnp.ones(2)
)


def test_bad_data_and_bad_parameters_get_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="strictly increasing"):
        jaxgem.Curve(t=[0.0, 2.0, 1.0], eg=[0.3, 0.2, 0.1])
    with pytest.raises(ValueError, match="eg must be finite, got nan at t = 1"):
        jaxgem.Curve(t=[0.0, 1.0], eg=[0.3, float("nan")])
    with pytest.raises(ValueError, match="sem must be positive"):
        jaxgem.Curve(t=[0.0, 1.0], eg=[0.3, 0.2], sem=[0.1, 0.0])
    path = tmp_path / "log.csv"
    path.write_text("step,loss\n0,0.3\n1,0.2\n")
    with pytest.raises(ValueError, match=r"needs columns t and eg .* got \['loss', 'step'\]"):
        jaxgem.Curve.load_csv(path)
    curve = jaxgem.Curve(t=[0.0, 1.0, 2.0], eg=[0.3, 0.2, 0.1])
    with pytest.raises(ValueError, match="cannot fit 'delta'; this problem can fit lr, lr_v"):
        jaxgem.fit(_iid_problem(), curve, {"delta": 1.0}, start=START)
    with pytest.raises(ValueError, match=r"free\['lr'\] must be positive and finite"):
        jaxgem.fit(_iid_problem(), curve, {"lr": -0.5}, start=START)
    with pytest.raises(ValueError, match="give a problem of one run, got 2 runs"):
        jaxgem.fit(_iid_problem([0.1, 0.2]), curve, {"lr": 0.5}, start=START)


def test_fit_recovers_the_learning_rate_of_an_independent_numpy_script(tmp_path):
    """`scripts/numpy_online_sgd.py` (plain NumPy, no jaxgem: N = 500, K = M = 2 erf, lr = 0.6,
    8 seeds sharing their networks) writes `t, eg, eg_sem` and the networks' overlaps; the fit
    of the iid ODE from those overlaps recovers lr within two reported standard deviations;
    the result's files are written."""
    script = Path(__file__).parent.parent / "scripts" / "numpy_online_sgd.py"
    out = tmp_path / "curve.csv"
    subprocess.run(
        [sys.executable, str(script), "--lr", "0.6", "--out", str(out)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    overlaps = json.loads((tmp_path / "curve.start.json").read_text())
    start = jaxgem.OrderParameters(
        Q=jnp.array(overlaps["Q"]), R=jnp.array(overlaps["R"]), T=jnp.array(overlaps["T"]),
        v=jnp.ones(2), A=jnp.ones(2),
    )  # fmt: skip
    problem = jaxgem.Problem(
        jaxgem.IIDGaussian(N=500), jaxgem.GaussianInit(2), jaxgem.GaussianInit(2), lr=0.3
    )
    result = jaxgem.fit(problem, str(out), {"lr": 0.3}, start=start)
    value, error = result["lr"]
    assert result.converged and result.uncertainty == "laplace"
    assert abs(value - 0.6) < 2 * error and error < 0.02, result.summary()
    written = result.save(tmp_path / "fit")
    assert [p.name for p in written] == ["fit.json", "fit.csv", "fit.png"]
    record = json.loads(written[0].read_text())
    assert record["parameters"]["lr"]["value"] == pytest.approx(value) and "jax" in record
    # a fit that runs out of steps says so: tests/test_fit_spectrum.py (the same optimiser)
