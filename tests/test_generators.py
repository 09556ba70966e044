"""Generators, their moments (closed forms and the streaming Monte Carlo estimator), the
generator data model and the paper's deep-generator experiment."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem.app import build, presets
from jaxgem.app import config as configuration
from jaxgem.generators import (
    DeepRandomGenerator,
    FunctionGenerator,
    estimate_moments,
    load_generator,
    save_generator,
    sign_layer_recursion,
)

D, N = 50, 200


@pytest.fixture(scope="module")
def one_layer():
    gen = DeepRandomGenerator.random(jax.random.key(0), [D, N], "sign")
    exact = jaxgem.HiddenManifold(gen.weights[0] * np.sqrt(D), "sign").covariances()
    return gen, exact


def _relative(a, b):
    return float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))


def test_one_layer_recursion_is_the_exact_arcsine_law(one_layer):
    gen, (omega, phi) = one_layer
    rec_omega, rec_phi = sign_layer_recursion(gen)
    assert _relative(rec_omega, omega) < 1e-5 and _relative(rec_phi, phi) < 1e-5
    # the linearised recursion of THEORY.md ignores the row norms: about 1/sqrt(D) off
    lin_omega, _ = sign_layer_recursion(gen, "linearised")
    assert 0.03 < _relative(lin_omega, omega) < 0.3


def test_monte_carlo_error_falls_like_one_over_root_n_and_is_reported_honestly(one_layer):
    """Relative Frobenius errors against the closed form at 10^4 and 4 x 10^4 samples: the ratio
    is about 2, the estimator's own error estimate matches the actual error for Omega and bounds
    it for Phi."""
    gen, (omega, phi) = one_layer
    errors = []
    for n in (10_000, 40_000):
        m = estimate_moments(gen, jax.random.key(1), rtol=1e-9, min_samples=n, max_samples=n)
        assert m.n_samples == n and not m.converged
        actual = (_relative(m.omega, omega), _relative(m.phi, phi))
        assert 0.75 < actual[0] / m.omega_error < 1.33, (actual, m.omega_error)
        # Phi is whitened by the sample latent covariance, which cancels part of its noise: the
        # estimate (of the raw cross-covariance's error) is conservative there
        assert 0.5 < actual[1] / m.phi_error < 1.0, (actual, m.phi_error)
        errors.append(actual)
    assert errors[0][0] / errors[1][0] == pytest.approx(2.0, rel=0.25)
    assert errors[0][1] / errors[1][1] == pytest.approx(2.0, rel=0.25)


def test_estimate_stops_at_the_requested_accuracy(one_layer):
    gen, (omega, _) = one_layer
    m = estimate_moments(gen, jax.random.key(2), rtol=0.1, min_samples=1000, batch_size=500)
    assert m.converged and m.omega_error <= 0.1 and m.n_samples < 20_000
    assert _relative(m.omega, omega) < 0.15


def test_interrupted_estimate_resumes_to_the_same_numbers(one_layer, tmp_path):
    gen, _ = one_layer
    options = dict(rtol=1e-9, batch_size=500, batches_per_chunk=2, min_samples=4000)
    path = tmp_path / "moments.npz"
    estimate_moments(gen, jax.random.key(3), max_samples=2000, checkpoint=path, **options)
    resumed = estimate_moments(gen, jax.random.key(3), max_samples=4000, checkpoint=path, **options)
    straight = estimate_moments(gen, jax.random.key(3), max_samples=4000, **options)
    assert resumed.n_samples == straight.n_samples == 4000
    np.testing.assert_allclose(resumed.omega, straight.omega, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="belongs to another estimate"):
        estimate_moments(gen, jax.random.key(3), checkpoint=path, batch_size=250)


def test_generator_data_samples_have_its_moments(one_layer):
    gen, (omega, phi) = one_layer
    data = jaxgem.GeneratorData(gen, mean=0.0, omega=omega, phi=phi)
    x, c = data.sample(jax.random.key(4), 40_000)
    assert x.shape == (40_000, N) and c.shape == (40_000, D)
    assert _relative(x.T @ x / 40_000, omega) < 0.05
    assert _relative(x.T @ c / 40_000, phi) < 0.05
    with pytest.raises(ValueError, match="Omega must be"):
        jaxgem.GeneratorData(gen, mean=0.0, omega=omega[:10, :10], phi=phi)
    with pytest.raises(ValueError, match="for sign generators"):
        sign_layer_recursion(DeepRandomGenerator.random(jax.random.key(0), [4, 8], "tanh"))


def test_function_generator_and_saved_weights(tmp_path):
    gen = DeepRandomGenerator.random(jax.random.key(5), [8, 16, 32], "tanh")
    save_generator(tmp_path / "gen.eqx", gen)
    blank = DeepRandomGenerator.random(jax.random.key(6), [8, 16, 32], "tanh")
    loaded = load_generator(tmp_path / "gen.eqx", blank)
    c = jax.random.normal(jax.random.key(7), (3, 8))
    np.testing.assert_array_equal(loaded.batch(c), gen.batch(c))
    wrapped = FunctionGenerator(lambda z: jnp.tanh(jnp.outer(z, z)), 8, 64)
    assert wrapped.batch(c).shape == (3, 64)
    data = jaxgem.GeneratorData.estimate(
        wrapped, jax.random.key(8), rtol=0.2, min_samples=2000, max_samples=20_000
    )
    assert data.covariances()[0].shape == (64, 64) and data.moments.n_samples >= 2000


def test_field_diagnostics_separate_holding_from_breaking():
    """Random student weights on a deep sign generator: Gaussian fields. A student aligned with
    single input coordinates reads x_i = +-1: excess kurtosis -2, the equivalence breaks."""
    gen = DeepRandomGenerator.random(jax.random.key(0), [100, 300, 1000], "sign")
    data = jaxgem.GeneratorData(
        gen, mean=0.0, **dict(zip(("omega", "phi"), sign_layer_recursion(gen)))
    )
    B = jax.random.normal(jax.random.key(1), (2, 100))
    random_w = jax.random.normal(jax.random.key(2), (2, 1000))
    holding = jaxgem.diagnostics.field_gaussianity(data, random_w, B, jax.random.key(3))
    aligned_w = jnp.zeros((2, 1000)).at[0, 0].set(np.sqrt(1000)).at[1, 1].set(np.sqrt(1000))
    breaking = jaxgem.diagnostics.field_gaussianity(data, aligned_w, B, jax.random.key(3))
    assert holding.holds() and float(holding.cumulant_z) < 4 and float(holding.excess) < 3
    assert float(holding.covariance_error) < 0.05
    assert not breaking.holds() and float(breaking.excess) > 8
    np.testing.assert_allclose(breaking.excess_kurtosis[:2], -2.0, atol=0.01)


def test_field_diagnostics_along_a_training_trajectory(tmp_path):
    """Weights recorded during online SGD on a deep sign generator: the fields stay Gaussian at
    every record, all records in one call equal the single-record diagnostics, and the weights
    survive saving."""
    gen = DeepRandomGenerator.random(jax.random.key(0), [100, 500, 1000], "sign")
    data = jaxgem.GeneratorData(
        gen, mean=0.0, **dict(zip(("omega", "phi"), sign_layer_recursion(gen)))
    )
    problem = jaxgem.Problem(
        data, jaxgem.GaussianInit(2, "erf"), jaxgem.GaussianInit(2, "erf", std=0.1), lr=0.2
    )
    traj = jaxgem.simulate(problem, jax.random.key(1), t_max=10.0, n_records=4, record_weights=True)
    assert traj.w.shape == (1, 1, 4, 2, 1000)
    assert traj.eg[0, 0, -1] < 0.6 * traj.eg[0, 0, 0]  # it learned
    assert float(jnp.linalg.norm(traj.w[0, 0, -1] - traj.w[0, 0, 0])) > 1.0  # it moved
    t, along = jaxgem.diagnostics.field_gaussianity_along(traj, jax.random.key(2))
    assert t.shape == (4,) and along.distance.shape == (4,) and along.holds()
    last = jaxgem.diagnostics.field_gaussianity(
        data, traj.w[0, 0, -1], traj.B0[0], jax.random.split(jax.random.key(2), 4)[-1]
    )
    assert float(along.distance[-1]) == pytest.approx(float(last.distance), rel=1e-4)
    assert set(along.summary()) >= {"distance", "excess_z", "max_abs_excess_kurtosis"}
    loaded = jaxgem.Trajectory.load(traj.save(tmp_path / "run.npz"))
    np.testing.assert_array_equal(loaded.w, traj.w)
    plain = jaxgem.simulate(problem, jax.random.key(1), t_max=0.1, n_records=2)
    with pytest.raises(ValueError, match="record_weights"):
        jaxgem.diagnostics.field_gaussianity_along(plain, jax.random.key(2))


@pytest.mark.slow
def test_deep_sign_generator_simulation_agrees_with_the_spectral_theory():
    """The paper's experiment: K = M = 2 erf, both layers, eta = 0.2, on a two-layer sign generator
    (D = 100 -> 500 -> N = 1000) and on its Gaussian equivalent, against the spectral ODE with the
    arcsine layer recursion's moments: within 3 standard errors or 3 % at every record."""
    gen = DeepRandomGenerator.random(jax.random.key(0), [100, 500, 1000], "sign")
    omega, phi = sign_layer_recursion(gen)
    data = jaxgem.GeneratorData(gen, mean=0.0, omega=omega, phi=phi)
    problem = jaxgem.Problem(
        data,
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit(2, "erf", std=0.1),
        lr=0.2,
        train_second_layer=True,
    )
    theory = None
    for model in (data, jaxgem.GaussianEquivalent.of(data)):
        traj = jaxgem.simulate(
            problem.replace(data=model), jax.random.key(5), t_max=20.0, n_records=6, seeds=6
        )
        if theory is None:
            theory = np.asarray(jaxgem.theory(traj).eg).mean(1)[0]
        gap = np.abs(traj.mean()[0] - theory)
        assert np.all(gap <= np.maximum(3 * traj.sem()[0], 0.03 * theory)), gap / traj.sem()[0]
        assert traj.mean()[0, -1] < 0.4 * traj.mean()[0, 0]


def test_convolutional_generator_shapes_and_moments():
    """DCGAN-style generator: D = 100 -> 3 x 32 x 32; outputs bounded by the tanh and of order
    one; its Monte Carlo Omega is PSD and a valid Gaussian equivalent exists."""
    gen = jaxgem.generators.ConvGenerator.random(jax.random.key(0), channels=(32, 16, 8))
    assert (gen.latent_dim, gen.output_dim) == (100, 3072)
    x = gen.batch(jax.random.normal(jax.random.key(1), (64, 100)))
    assert x.shape == (64, 3072) and float(jnp.abs(x).max()) <= 1.0
    assert 0.05 < float(x.std()) < 1.0
    data = jaxgem.GeneratorData.estimate(
        gen, jax.random.key(2), rtol=1.0, min_samples=4000, max_samples=4000, batch_size=1000
    )
    assert data.moments.omega_error < 0.2
    jaxgem.GaussianEquivalent.of(data, tolerance=1e-2)


def test_real_nvp_is_invertible_and_learns_the_digits():
    """A small real NVP trained for 300 steps on the digits: exact inverse, the negative
    log-likelihood falls, and the trained generator serves as a data model."""
    flow, history = jaxgem.generators.train_flow(
        jaxgem.generators.digits(),
        jax.random.key(0),
        n_layers=2,
        width=32,
        steps=300,
        dequantise=1.0,
    )
    # the flow starts as the identity (a diagonal Gaussian in standardised units)
    assert history[-1] < history[0] - 0.15, history
    c = jax.random.normal(jax.random.key(1), (8, 64))
    latent, _ = jax.vmap(flow.inverse)(flow.batch(c))
    np.testing.assert_allclose(latent, c, atol=1e-4)
    data = jaxgem.GeneratorData.estimate(
        flow, jax.random.key(2), rtol=1.0, min_samples=5000, max_samples=5000
    )
    assert data.input_dim == data.latent_dim == 64
    x, _ = data.sample(jax.random.key(3), 1000)
    assert abs(float(x.mean())) < 0.5


def test_generator_presets_build_their_data_models(tmp_path):
    config = presets.preset("deep-sign")
    config["data"].update(N=60, D=20, hidden=[30])
    curves = build.data_models(config, jax.random.key(0), tmp_path)
    assert set(curves) == {"deep_sign", "gaussian_equivalent"}
    assert curves["deep_sign"].covariances()[0].shape == (60, 60)
    config["data"]["moments"] = "exact"
    with pytest.raises(configuration.ConfigError, match="data.moments for deep_sign"):
        build.data_models(config, jax.random.key(0), tmp_path)
    with pytest.raises(configuration.ConfigError, match="data.hidden"):
        configuration.merge(configuration.DEFAULTS, {"data": {"hidden": [0]}})


def test_flax_module_through_the_adapter():
    nn = pytest.importorskip("flax.linen")
    net = nn.Sequential([nn.Dense(16), nn.tanh, nn.Dense(32)])
    params = net.init(jax.random.key(0), jnp.zeros(8))
    gen = jaxgem.generators.FlaxGenerator(net, params, 8, 32)
    c = jax.random.normal(jax.random.key(1), (5, 8))
    np.testing.assert_allclose(gen.batch(c), jax.vmap(lambda z: net.apply(params, z))(c), rtol=1e-6)
    data = jaxgem.GeneratorData.estimate(gen, jax.random.key(2), rtol=0.2, min_samples=2000)
    assert data.covariances()[0].shape == (32, 32)
