"""Fitting a data model's spectrum (the hidden manifold's delta, online SGD) and the replica
curve of ERM (lambda, label noise) to simulations. (A replica fit of the delta of actual random
features, 3 % from 0.5, overlapped these two and was dropped to keep the suite under 15
minutes; docs/fitting.md still shows it.)"""

import dataclasses
import json

import jax
import numpy as np
import pytest

import jaxgem
from jaxgem import replica


@pytest.mark.slow
def test_fit_recovers_delta_of_the_hidden_manifold_from_online_sgd():
    """Online SGD on the sign hidden manifold, N = 1000, D = 500 (delta = 0.5), K = M = 2 erf,
    lr = 0.5, 8 seeds, t = 0..20: the N, D -> infinity theory (HiddenManifoldLimit, from each
    seed's initial overlaps) fitted from delta = 1 recovers 0.5 within two of its reported
    standard deviations (seed sandwich), which are below 0.02. (Measured over 7 repetitions with
    new matrices and seeds: z = -1.1, 1.2, -0.3, 0.1, -0.7, -0.7, 2.1.)"""
    hmm = jaxgem.HiddenManifold.random(jax.random.key(11), 1000, 500, "sign")
    problem = jaxgem.Problem(
        hmm, jaxgem.GaussianInit(2, "erf"), jaxgem.GaussianInit(2, "erf", std=0.1), lr=0.5
    )
    traj = jaxgem.simulate(problem, jax.random.key(0), t_max=20.0, n_records=11,
                           spacing="linear", seeds=8)  # fmt: skip
    unknown = problem.replace(data=jaxgem.HiddenManifoldLimit(1.0, "sign"))
    result = jaxgem.fit(dataclasses.replace(traj, problem=unknown), free={"delta": 1.0})
    value, error = result["delta"]
    assert result.converged and result.uncertainty == "seeds", result.summary()
    assert abs(value - 0.5) < 2 * error and error < 0.02, result.summary()


@pytest.fixture(scope="module")
def ridge_curve():
    """Ridge regression (square loss) on iid Gaussian inputs, p = 200, lambda = 0.03, label
    noise 0.25: 16 seeds at each of four sample complexities."""
    sample = replica.GaussianCovariateModel.isotropic_sample(jax.random.key(0), 200)
    alphas = np.array([0.5, 1.0, 1.6, 3.0])
    runs = [
        replica.simulate_erm(sample, "square", a, 0.03, jax.random.key(i), noise=0.25, seeds=16)
        for i, a in enumerate(alphas)
    ]
    return jaxgem.Curve.of_erm(alphas, runs)


def test_replica_fit_recovers_lambda_and_noise_from_simulated_erm(ridge_curve, tmp_path):
    """The replica curve of the isotropic model fitted to simulated ridge regression, from
    lambda = 0.1 and noise = 0.1: both within two reported standard deviations (Laplace with
    the seeds' standard errors), chi2 per degree of freedom plausible; files name the
    columns alpha and test_error."""
    result = jaxgem.fit_replica(
        replica.GaussianCovariateModel.isotropic(), "square", ridge_curve,
        free={"lam": 0.1, "noise": 0.1},
    )  # fmt: skip
    assert result.converged and result.uncertainty == "laplace", result.summary()
    for name, true in (("lam", 0.03), ("noise", 0.25)):
        value, error = result[name]
        assert abs(value - true) < 2 * error and error < 0.3 * true, (name, value, error)
    assert 0.1 < result.chi2_per_dof < 3, result.summary()
    result.save(tmp_path)
    header = (tmp_path / "fit.csv").read_text().splitlines()[0]
    assert header == "alpha,test_error,test_error_sem,fitted"
    assert json.loads((tmp_path / "fit.json").read_text())["parameters"]["lam"]["value"] > 0
    again = jaxgem.Curve.load_csv(tmp_path / "fit.csv", columns=("alpha", "test_error"))
    np.testing.assert_allclose(again.eg, ridge_curve.eg)


def test_replica_fit_bad_input_gets_clear_errors(ridge_curve, tmp_path):
    """Refusals in one line; and a fit out of steps says it did not converge (the optimiser
    and the result that `jaxgem.fit` shares)."""
    iso = replica.GaussianCovariateModel.isotropic()
    stopped = jaxgem.fit_replica(
        iso, "square", ridge_curve, free={"lam": 0.1}, noise=0.25, max_steps=1
    )
    assert not stopped.converged and "did NOT converge" in stopped.summary()[-1]
    with pytest.raises(ValueError, match=r"cannot fit 'delta'; a replica fit can fit lam, noise"):
        jaxgem.fit_replica(iso, "square", ridge_curve, free={"delta": 1.0}, lam=0.1)
    with pytest.raises(ValueError, match=r"give the penalty lam="):
        jaxgem.fit_replica(iso, "square", ridge_curve, free={"noise": 0.1})
    with pytest.raises(ValueError, match=r"free\['lam'\] must be positive"):
        jaxgem.fit_replica(iso, "square", ridge_curve, free={"lam": -1.0})
    csv = tmp_path / "curve.csv"
    csv.write_text("t,eg\n1,0.5\n2,0.4\n")
    with pytest.raises(ValueError, match=r"needs columns alpha and test_error"):
        jaxgem.fit_replica(iso, "square", csv, free={"lam": 0.1})
