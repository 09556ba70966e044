"""The committee machine (THEORY.md Sec. 9): orthant probabilities against SciPy and Monte Carlo,
the linear soft committee against the Gaussian-prior GLM, the K = 2 specialisation transition
(Gaussian and binary weights), and AMP against its state evolution at d = 2000."""

import csv
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from jaxgem import bayes, committee
from jaxgem.committee.evolution import _to_vector, _Update
from jaxgem.gaussian import bivariate_orthant


def test_bivariate_orthant_against_scipy_and_its_derivative(x64):
    """Sheppard's formula to 1e-8 of SciPy's bivariate normal CDF; its closed-form derivative in
    the mean agrees with a central difference."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        A = rng.normal(size=(2, 2))
        C = A @ A.T + 0.05 * np.eye(2)
        mean = 1.5 * rng.normal(size=2)
        expected = multivariate_normal(-mean, C).cdf(np.zeros(2))
        assert abs(float(bivariate_orthant(jnp.array(mean), jnp.array(C))) - expected) < 1e-8
    mean, C = jnp.array([0.3, -0.4]), jnp.array([[1.0, -0.6], [-0.6, 0.7]])
    grad = jax.grad(bivariate_orthant)(mean, C)
    step = 1e-6 * jnp.eye(2)
    central = [(bivariate_orthant(mean + e, C) - bivariate_orthant(mean - e, C)) / 2e-6
               for e in step]  # fmt: skip
    np.testing.assert_allclose(grad, jnp.stack(central), atol=1e-8)


def test_sign_committee_labels_against_monte_carlo(x64):
    """`Z_out(Y; omega, V)` of the sign committee (ties give 0 for K = 2) is the frequency of
    each label among 400 000 Gaussian fields, for K = 2 and 3 (within 4 standard errors);
    they sum to 1 (to 1e-12 for K = 2 by Sheppard's formula, 1e-7 for K = 3 by sequential
    conditioning)."""
    key = jax.random.key(0)
    for K, omega in ((2, [0.4, -0.2]), (3, [0.3, -0.5, 0.1])):
        channel = committee.SignCommittee(K)
        A = np.random.default_rng(K).normal(size=(K, K))
        V = jnp.asarray(A @ A.T / K + 0.3 * np.eye(K))
        omega = jnp.asarray(omega)
        z = omega + jax.random.normal(key, (400_000, K), jnp.float64) @ jnp.linalg.cholesky(V).T
        labels = channel.sample(key, z)
        assert set(np.unique(np.asarray(labels))) == set(channel.labels)
        probabilities = channel.probabilities(omega, V)
        for value, p in zip(channel.labels, probabilities):
            frequency = float(jnp.mean(labels == value))
            assert abs(frequency - float(p)) < 4 * math.sqrt(p * (1 - p) / 400_000), (K, value)
        assert abs(float(jnp.sum(probabilities)) - 1) < (1e-12 if K == 2 else 1e-6)


@pytest.mark.parametrize("K", [2, 3])
def test_linear_soft_committee_is_the_gaussian_glm(x64, K):
    """Linear units: `Y = sum_k z_k / K + noise` is a GLM with weights `sum_k w_k / K ~
    N(0, 1/K)`; the committee's `1^T q 1 / K^2`, free entropy and twice its error equal the GLM
    state evolution's overlap, free entropy and output error (THEORY Sec. 8) to 1e-8."""
    alpha = jnp.array([0.5, 1.0, 2.0, 4.0])
    se = committee.committee_evolution(
        committee.GaussianWeights(K), committee.SoftCommittee("linear", K, noise=0.1), alpha
    )
    glm = bayes.state_evolution(bayes.Gaussian(1.0 / K), bayes.Linear(noise=0.1), alpha)
    assert bool(jnp.all(se.converged))
    np.testing.assert_allclose(jnp.sum(se.q, axis=(-2, -1)) / K**2, glm.m, atol=1e-8)
    np.testing.assert_allclose(se.free_entropy, glm.free_entropy, atol=1e-8)
    np.testing.assert_allclose(2 * se.generalisation_error, glm.output_error, atol=1e-8)


@pytest.fixture(scope="module")
def gaussian_k2():
    with jax.enable_x64(True):
        prior, channel = committee.GaussianWeights(2), committee.SignCommittee(2)
        alpha = jnp.array([1.0, 1.5, 2.6, 4.0])
        branches = {
            start: committee.committee_evolution(prior, channel, alpha, start=start)
            for start in ("non-specialised", "informed", "uninformative")
        }
        return prior, channel, alpha, branches, committee.committee_transitions(prior, channel)


def test_gaussian_k2_specialises_continuously_near_alpha_2(x64, gaussian_k2):
    """K = 2, Gaussian weights (THEORY Sec. 10: the transition lies near alpha = 2): the
    non-specialised fixed point loses stability at alpha_alg in (1.95, 2.15) and the specialised
    branch grows out of it (second order: alpha_spec = alpha_alg); below it every start gives
    q_d = 0, above it the specialised branch has the larger free entropy and AMP's start
    reaches it. Fixed points are converged to 1e-6 (one more step moves q by less)."""
    prior, channel, alpha, branches, found = gaussian_k2
    assert 1.95 < found.alpha_alg < 2.15 and found.continuous, found
    assert found.alpha_spec == found.alpha_alg
    nonspec, informed, amp = (branches[k] for k in ("non-specialised", "informed", "uninformative"))
    step = jax.jit(jax.vmap(lambda a, q: _Update()(_to_vector(q), (a, prior, channel))))
    for se in branches.values():
        assert bool(jnp.all(se.converged)), se.failures()
        assert float(jnp.max(jnp.abs(step(alpha, se.q) - _to_vector(se.q)))) < 1e-6
    below, above = alpha < found.alpha_alg, alpha > found.alpha_alg
    assert bool(jnp.all(jnp.abs(informed.q_d[below]) < 1e-6))
    np.testing.assert_allclose(informed.free_entropy[below], nonspec.free_entropy[below], atol=1e-8)
    assert bool(jnp.all(informed.q_d[above] > 0.2)) and bool(jnp.all(nonspec.q_d < 1e-9))
    assert bool(jnp.all(informed.free_entropy[above] > nonspec.free_entropy[above] + 1e-4))
    np.testing.assert_allclose(amp.q_d[above], informed.q_d[above], atol=1e-5)
    # the error: 1/4 without data (half the mass of Y = +-1), then decreasing
    assert bool(jnp.all(jnp.diff(informed.generalisation_error) < 0))
    assert 0.13 < float(informed.generalisation_error[0]) < 0.25


def test_binary_k2_perfect_recovery_and_a_hard_phase(x64):
    """K = 2, binary weights: the informed branch is perfect recovery (free entropy -ln 4, error
    0) at every alpha; the non-specialised branch's free entropy falls below -ln 4 at alpha_spec
    (first order), before it turns unstable at alpha_alg where AMP jumps to perfect recovery:
    a hard phase alpha_spec < alpha < alpha_alg between 1.4 and 1.7."""
    prior, channel = committee.DiscreteWeights.binary(2), committee.SignCommittee(2)
    found = committee.committee_transitions(prior, channel)
    assert found.rule == "perfect recovery" and not found.continuous
    assert 1.4 < found.alpha_spec < found.alpha_alg < 1.7, found
    alpha = jnp.array([1.0, found.alpha_spec, 2.0, 3.0])
    informed = committee.committee_evolution(prior, channel, alpha, start="informed")
    np.testing.assert_allclose(informed.free_entropy, -math.log(4), atol=1e-4)
    assert bool(jnp.all(informed.generalisation_error < 1e-5))
    amp = committee.committee_evolution(prior, channel, alpha, start="uninformative")
    assert float(amp.q_d[1]) < 1e-6 and bool(jnp.all(amp.q_d[2:] > 0.999))
    nonspec = committee.committee_evolution(prior, channel, alpha, start="non-specialised")
    assert abs(float(nonspec.free_entropy[1]) + math.log(4)) < 1e-5


def test_amp_follows_state_evolution_at_d_2000(x64):
    """AMP, d = 2000, K = 2, Gaussian weights, 4 seeds: from a = 0 at alpha = 1.5 it stays on
    the non-specialised plateau (q_d = 0) with q_a within 3 standard errors (+0.01 for finite
    size) of the state evolution at every iteration; from a 5 % informed start at alpha = 3 it
    specialises along the state evolution's trajectory."""
    prior, channel = committee.GaussianWeights(2), committee.SignCommittee(2)
    plateau = committee.committee_amp_experiment(
        prior, channel, 1.5, 2000, jax.random.key(0), seeds=4, iterations=20
    )
    assert float(jnp.max(jnp.abs(plateau.q_d))) < 1e-12
    assert bool(jnp.all(jnp.abs(plateau.q_a - plateau.predicted_q_a)
                        < 3 * plateau.q_a_sem + 0.01))  # fmt: skip
    run = committee.committee_amp_experiment(
        prior, channel, 3.0, 2000, jax.random.key(1), seeds=4, iterations=20, start_overlap=0.05
    )
    assert float(run.predicted_q_d[-1]) > 0.45
    for mean, sem, predicted in ((run.q_d, run.q_d_sem, run.predicted_q_d),
                                 (run.q_a, run.q_a_sem, run.predicted_q_a)):  # fmt: skip
        assert bool(jnp.all(jnp.abs(mean - predicted) < 3 * sem + 0.02)), (mean, predicted)


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match="K = 2 units but the channel K = 3"):
        committee.committee_evolution(
            committee.GaussianWeights(2), committee.SignCommittee(3), jnp.array([1.0])
        )
    with pytest.raises(ValueError, match="needs noise > 0"):
        committee.SoftCommittee("erf", 2, noise=0.0)
    with pytest.raises(ValueError, match="start must be"):
        committee.committee_evolution(
            committee.GaussianWeights(2), committee.SignCommittee(2), jnp.array([1.0]), start="x"
        )
    with pytest.raises(ValueError, match="unknown committee prior"):
        committee.get_committee_prior("laplace", 2)


def test_command_line_preset_writes_tables_and_figure_and_refuses_bad_input(tmp_path, capsys):
    """`jaxgem curves committee` (trimmed): the three branches and AMP written as CSV, JSON and
    PNG, the specialised branch above the transition; bad input exits 2 in one line."""
    from jaxgem.app.cli import main

    out = tmp_path / "committee"
    code = main(["curves", "committee", "--out", str(out), "--seeds", "2",
                 "--set", "committee.alphas=[1.0, 1.5, 2.6, 4.0]",
                 "--set", "committee.transitions=false", "--set", "committee.amp_at=[3.0]",
                 "--set", "committee.amp_d=300",
                 "--set", "committee.amp_iterations=5",
                 "--set", "committee.large_k_alphas=[6.0, 9.0]",
                 "--set", "committee.finite_k=[3]",
                 "--set", "committee.finite_k_samples=2000"])  # fmt: skip
    assert code == 0
    for name in ("run.json", "state_evolution.csv", "amp.csv", "committee.png", "large_k.csv",
                 "large_k.png", "finite_k.csv", "finite_k_branches.csv"):  # fmt: skip
        assert (out / name).stat().st_size > 0
    rows = list(csv.DictReader((out / "state_evolution.csv").open()))
    informed = [r for r in rows if r["branch"] == "informed"]
    assert [r["specialised"] for r in informed] == ["False", "False", "True", "True"]
    large = list(csv.DictReader((out / "large_k.csv").open()))
    assert [r["specialised"] for r in large] == ["False", "False", "False", "True"]
    record = json.loads((out / "run.json").read_text())
    assert 7.6 < record["thresholds"]["large_k_alpha_spec"] < 7.7
    (k3,) = record["thresholds"]["finite_k"]
    assert k3["K"] == 3 and 1.03 < k3["alpha_spec_over_K"] < 7.68
    capsys.readouterr()
    code = main(
        [
            "curves",
            "committee",
            "--out",
            str(tmp_path / "bad"),
            "--set",
            "committee.prior=binary",
            "--set",
            "committee.large_k_alphas=[6.0]",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "committee.large_k_alphas" in err[0], err
    for setting, key in (("committee.prior=laplace", "committee.prior"),
                         ("committee.channel=erf", "committee.noise"),
                         ("committee.start_overlap=1.5", "committee.start_overlap"),
                         ("committee.finite_k=[4]", "committee.finite_k"),
                         ("committee.finite_k_samples=100",
                          "committee.finite_k_samples")):  # fmt: skip
        code = main(["curves", "committee", "--out", str(tmp_path / "bad"), "--set", setting])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and key in err[0], err
