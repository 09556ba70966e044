"""Bayes-optimal GLMs (THEORY.md Sec. 8 and 10): the published values of the state evolution and
the thresholds, the free entropy's stationary points, closed forms against Monte Carlo, GAMP
against the state evolution per iteration, and bad input."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgem import bayes
from jaxgem.bayes.evolution import free_entropy


def test_bayes_optimal_perceptron_errors_and_large_alpha_asymptote(x64):
    """THEORY Sec. 10: arccos(sqrt q)/pi = 0.2543730, 0.1745342, 0.0839352 at alpha = 1, 2, 5
    (to 1e-6); alpha * error -> 0.4417 (at alpha = 1000)."""
    se = bayes.state_evolution(bayes.Gaussian(), bayes.Sign(), jnp.array([1.0, 2.0, 5.0, 1e3]))
    assert np.all(se.converged)
    error = np.asarray(se.classification_error)
    np.testing.assert_allclose(error[:3], [0.2543730, 0.1745342, 0.0839352], atol=1e-6)
    assert abs(1e3 * error[3] - 0.4417) < 5e-4
    # the squared error of the posterior-mean output, E (y - yhat)^2 = (2/pi) arccos q, is
    # twice the Gibbs error (THEORY Sec. 8); checked against Monte Carlo of the formula
    np.testing.assert_allclose(se.output_error, 2 * se.gibbs_error, rtol=1e-9)
    q = float(se.m[0])
    v, z1, z2 = jax.random.normal(jax.random.key(0), (3, 200_000), jnp.float64)
    same = jnp.sign(np.sqrt(q) * v + np.sqrt(1 - q) * z1) * jnp.sign(
        np.sqrt(q) * v + np.sqrt(1 - q) * z2
    )
    assert abs(float(1 - same.mean()) - float(se.output_error[0])) < 0.01


def test_thresholds_binary_perceptron_phase_retrieval_compressed_sensing(x64):
    """alpha_IT = 1.245 and alpha_alg = 1.493 (binary perceptron), weak recovery 0.5,
    alpha_IT = 1 and alpha_alg = 1.13 (phase retrieval), to the digits the literature gives;
    the Gaussian perceptron has none."""
    binary = bayes.thresholds(bayes.Rademacher(), bayes.Sign())
    assert abs(binary.alpha_it - 1.245) < 5e-4 and abs(binary.alpha_alg - 1.493) < 5e-4
    assert binary.it_rule == "perfect recovery"
    retrieval = bayes.thresholds(bayes.Gaussian(), bayes.Abs())
    assert abs(retrieval.alpha_wr - 0.5) < 1e-4 and abs(retrieval.alpha_alg - 1.13) < 5e-3
    assert retrieval.alpha_it == 1.0
    # compressed sensing (0.686): test_command_line_preset... and test_branch_crossing...
    assert np.isnan(bayes.thresholds(bayes.Gaussian(), bayes.Sign()).alpha_alg)


def test_state_evolution_branches_agree_with_the_thresholds(x64):
    """Binary perceptron: between alpha_IT and alpha_alg AMP's branch is not the MMSE (a hard
    phase); above alpha_alg AMP recovers perfectly; the informed branch's free entropy is
    -ln 2 (perfect recovery)."""
    result = bayes.bayes_optimal(bayes.Rademacher(), bayes.Sign(), jnp.array([1.1, 1.4, 1.6]))
    assert list(np.asarray(result.hard)) == [False, True, False]
    assert result.amp.mse[2] < 1e-8 and result.amp.mse[1] > 0.1
    np.testing.assert_allclose(result.informed.free_entropy, -np.log(2), atol=1e-6)


@pytest.mark.parametrize(
    "prior, channel, alpha",
    [
        (bayes.Rademacher(), bayes.Sign(), 1.2),
        (bayes.Gaussian(), bayes.Abs(), 0.9),
        (bayes.GaussBernoulli(density=0.3), bayes.Linear(noise=0.01), 0.6),
    ],
)
def test_free_entropy_is_stationary_at_the_fixed_points(x64, prior, channel, alpha):
    """d f_RS / dm = d f_RS / dmh = 0 at the state evolution's fixed point (autodiff of the
    log-partitions, against the SE's own expectations of f_a^2 and g_out^2)."""
    se = bayes.state_evolution(prior, channel, alpha)
    grads = jax.grad(lambda m, mh: free_entropy(prior, channel, alpha, m, mh), argnums=(0, 1))(
        se.m, se.mh
    )
    assert se.converged and se.m > 1e-3
    np.testing.assert_allclose(grads, 0.0, atol=2e-6)


def test_overlaps_and_channel_expectations_against_monte_carlo(x64):
    """m(mh) of the Gauss–Bernoulli prior and E g_out^2 of the abs channel against Monte Carlo
    draws of w0, z, and of v, xi."""
    key = jax.random.key(3)
    prior, mh = bayes.GaussBernoulli(density=0.3), 4.0
    k1, k2, k3, k4 = jax.random.split(key, 4)
    w0 = prior.sample(k1, (100_000,), jnp.float64)
    B = mh * w0 + jnp.sqrt(mh) * jax.random.normal(k2, w0.shape, jnp.float64)
    mean, _ = prior.denoiser(1 / mh, B / mh)
    draws = mean**2
    assert abs(prior.overlap(mh) - draws.mean()) < 4 * draws.std() / np.sqrt(draws.size)
    channel, m = bayes.Abs(), 0.4
    v = jax.random.normal(k3, (100_000,), jnp.float64)
    z = jnp.sqrt(m) * v + jnp.sqrt(1 - m) * jax.random.normal(k4, v.shape, jnp.float64)
    g, _ = channel.output(jnp.abs(z), jnp.sqrt(m) * v, jnp.full_like(v, 1 - m))
    assert abs(channel.g_squared(m, 1.0) - (g**2).mean()) < 4 * (g**2).std() / np.sqrt(v.size)


@pytest.mark.parametrize(
    "prior, channel, alpha, start, iterations",
    [
        (bayes.Gaussian(), bayes.Sign(), 2.0, 0.0, 10),
        (bayes.Gaussian(), bayes.Abs(), 1.5, 0.1, 12),
        (bayes.Gaussian(), bayes.Linear(noise=0.1), 1.0, 0.0, 10),
    ],
)
def test_gamp_follows_state_evolution_per_iteration(x64, prior, channel, alpha, start, iterations):
    """GAMP at N = 2000, mean of 6 seeds: its MSE follows the state evolution at every
    iteration within 3.5 standard errors (and 3 % of the MSE, the finite-size error)."""
    run = bayes.gamp_experiment(prior, channel, alpha, 2000, jax.random.key(1), seeds=6,
                                iterations=iterations, start_overlap=start)  # fmt: skip
    gap = np.abs(np.asarray(run.mean - run.predicted))
    assert np.all(gap < 3.5 * np.asarray(run.sem) + 0.03 * np.asarray(run.predicted)), gap
    assert run.predicted[-1] < 0.6 * run.predicted[0]  # it learned something


def test_bad_input_gets_clear_errors_and_non_convergence_is_reported_per_point():
    with pytest.raises(ValueError, match="density must be in"):
        bayes.GaussBernoulli(density=1.5)
    with pytest.raises(ValueError, match="noise must be non-negative"):
        bayes.Linear(noise=-0.1)
    with pytest.raises(ValueError, match="unknown channel 'tanh'"):
        bayes.get_output_channel("tanh")
    with pytest.raises(ValueError, match="alpha must be positive"):
        bayes.state_evolution(bayes.Gaussian(), bayes.Sign(), jnp.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="start must be"):
        bayes.state_evolution(bayes.Gaussian(), bayes.Sign(), 1.0, start="random")
    # too few steps: each point says so (status 1, one line each); enough: all converge
    se = bayes.state_evolution(bayes.Gaussian(), bayes.Linear(noise=0.5), jnp.array([0.5, 2.0]),
                               max_steps=4)  # fmt: skip
    assert list(np.asarray(se.status)) == [1, 1] and "max steps" in se.failures()[0]
    se = bayes.state_evolution(bayes.Gaussian(), bayes.Linear(noise=0.5), jnp.array([0.5, 2.0]))
    assert np.all(se.converged) and se.failures() == []


def test_command_line_preset_writes_tables_and_figure_and_refuses_bad_input(tmp_path, capsys):
    """`jaxgem curves compressed-sensing` (trimmed): state evolution, thresholds and GAMP
    written as CSV, JSON and PNG; a density outside (0, 1] exits 2 in one line."""
    from jaxgem.app.cli import main

    out = tmp_path / "cs"
    code = main(["curves", "compressed-sensing", "--out", str(out), "--seeds", "2",
                 "--set", "bayes.alphas=[0.8]", "--set", "bayes.gamp_at=[0.8]",
                 "--set", "bayes.gamp_N=300",
                 "--set", "bayes.gamp_iterations=5"])  # fmt: skip
    assert code == 0
    for name in ("run.json", "state_evolution.csv", "gamp.csv", "bayes.png"):
        assert (out / name).stat().st_size > 0
    found = re.search(r"alpha_alg = ([0-9.]+)", capsys.readouterr().out)
    assert abs(float(found.group(1)) - 0.686) < 5e-4
    code = main(["curves", "compressed-sensing", "--out", str(tmp_path / "bad"),
                 "--set", "bayes.density=1.5"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "bayes.density" in err[0] and "1.5" in err[0]


def test_branch_crossing_gives_alpha_it_and_the_phase_diagram(x64):
    """Compressed sensing with noise 1e-4: at the alpha_IT found by the branch crossing, the
    state evolution from both starts has equal free entropy (so the MMSE jumps there); the
    vmapped phase diagram reproduces the single-model spinodals (0.2076, 0.6857)."""
    prior, channel = bayes.GaussBernoulli(density=0.5), bayes.Linear(noise=1e-4)
    found = bayes.thresholds(prior, channel)
    assert found.it_rule == "branch crossing" and found.alpha_it < found.alpha_alg
    both = bayes.bayes_optimal(prior, channel, jnp.asarray(found.alpha_it))
    assert abs(both.amp.free_entropy - both.informed.free_entropy) < 1e-8
    assert both.amp.mse > 10 * both.informed.mse
    diagram = bayes.phase_diagram(
        bayes.GaussBernoulli(density=jnp.array([0.1, 0.5])), bayes.Linear()
    )
    np.testing.assert_allclose(diagram.alpha_alg, [0.20756, 0.68570], atol=1e-5)  # 0.686
    np.testing.assert_allclose(diagram.alpha_it, [0.1, 0.5])


def test_user_priors_and_channels_by_quadrature_match_the_closed_forms(x64):
    """A grid prior on ±1 is the Rademacher prior; a Gaussian log-density on a grid is the
    Gaussian prior; a discrete channel with the probit likelihood is `Sign(noise)`; a noisy
    identity output is `Linear(noise)`: the state evolution's two expectations agree."""
    mh, m = 1.3, 0.4
    grid = bayes.GridPrior([-1.0, 1.0])
    assert abs(grid.overlap(mh) - bayes.Rademacher().overlap(mh)) < 1e-12
    assert abs(grid.free_entropy(mh) - bayes.Rademacher().free_entropy(mh)) < 1e-12
    density = bayes.GridPrior.from_log_density(lambda w: -(w**2) / 2, -10.0, 10.0, 401)
    assert abs(density.overlap(mh) - bayes.Gaussian().overlap(mh)) < 1e-6
    noise = 0.3
    probit = bayes.DiscreteChannel(
        lambda y, z: jax.scipy.special.log_ndtr(y * z / np.sqrt(noise)), (-1.0, 1.0)
    )
    sign = bayes.Sign(noise=noise)
    assert abs(probit.g_squared(m, 1.0) - sign.g_squared(m, 1.0)) < 1e-8
    assert abs(probit.free_entropy(m, 1.0) - sign.free_entropy(m, 1.0)) < 1e-8
    noisy = bayes.NoisyOutput(lambda z: z, noise=noise)
    linear = bayes.Linear(noise=noise)
    assert abs(noisy.g_squared(m, 1.0) - linear.g_squared(m, 1.0)) < 1e-8
    assert abs(noisy.free_entropy(m, 1.0) - linear.free_entropy(m, 1.0)) < 1e-8
    se = bayes.state_evolution(bayes.Gaussian(), bayes.Logit(2.0), jnp.array([1.0, 3.0]))
    assert np.all(se.converged) and se.m[1] > se.m[0] > 0.1


def test_bayes_optimal_beside_optimally_regularised_erm(x64):
    """Sign teacher: optimally regularised logistic regression comes within 1 % of the
    Bayes-optimal error (THEORY Sec. 8, Aubin et al. 2020); ridge's optimal penalty is
    pi/2 - 1 and its error is larger; Gibbs errs more than Bayes."""
    result = bayes.versus_erm(jnp.array([2.0]))
    row = result.rows()[0]
    assert abs(row["bayes_optimal"] - 0.1745342) < 1e-6
    assert row["bayes_optimal"] <= row["logistic_error"] < 1.01 * row["bayes_optimal"]
    assert row["square_error"] > 1.05 * row["bayes_optimal"]
    assert abs(row["square_lambda"] - (np.pi / 2 - 1)) < 0.01
    assert row["gibbs"] > row["bayes_optimal"]
