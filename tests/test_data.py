"""Data models: sampled inputs have the covariances the model reports; overlaps; bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem

SAMPLES = 400_000


def _empirical(data_model, n=SAMPLES):
    x, c = (np.asarray(a, np.float64) for a in data_model.sample(jax.random.key(7), n))
    return x.mean(0), x.T @ x / n, x.T @ c / n, c


def _assert_within_sampling_error(estimate, exact, second_moment_scale, n=SAMPLES, sigmas=6):
    """Entries of a sample covariance have standard error <= sqrt(E x^2 E y^2 / n)."""
    tolerance = sigmas * second_moment_scale / math.sqrt(n)
    np.testing.assert_allclose(estimate, exact, atol=tolerance)


@pytest.mark.parametrize("activation", ["sign", "tanh", "relu", "erf"])
def test_hidden_manifold_samples_have_the_reported_moments(activation):
    """THEORY.md Sec. 4: the sampled x are centred and have the Omega and Phi the model reports."""
    model = jaxgem.HiddenManifold.random(jax.random.key(1), 24, 12, activation)
    mean, second, cross, _ = _empirical(model)
    scale = float(np.max(np.diag(np.asarray(model.omega))))
    _assert_within_sampling_error(mean, 0.0, math.sqrt(scale))
    _assert_within_sampling_error(second, np.asarray(model.omega), scale)
    _assert_within_sampling_error(cross, np.asarray(model.phi), math.sqrt(scale))


def test_sign_hidden_manifold_is_the_arcsine_law(x64):
    """Exact sign moments: Omega_ij = (2/pi) asin(F_i.F_j / |F_i||F_j|), Phi = sqrt(2/pi) F/|F|."""
    model = jaxgem.HiddenManifold.random(jax.random.key(2), 40, 30, "sign", dtype=jnp.float64)
    F = np.asarray(model.F)
    norms = np.linalg.norm(F, axis=1)
    cosine = np.clip(F @ F.T / np.outer(norms, norms), -1, 1)
    np.testing.assert_allclose(model.omega, 2 / math.pi * np.arcsin(cosine), atol=1e-12)
    np.testing.assert_allclose(model.phi, math.sqrt(2 / math.pi) * F / norms[:, None], atol=1e-12)


def test_gaussian_equivalent_moments_are_the_kappa_form():
    model = jaxgem.HiddenManifold.random(
        jax.random.key(3), 30, 20, "tanh", moments="gaussian_equivalent"
    )
    k0, k1, ks = (float(k) for k in jaxgem.Tanh().kappa())
    F = np.asarray(model.F)
    np.testing.assert_allclose(model.omega, k1**2 * F @ F.T / 20 + ks**2 * np.eye(30), atol=1e-5)
    np.testing.assert_allclose(model.phi, k1 * F / math.sqrt(20), atol=1e-6)


def test_exact_and_equivalent_moments_approach_each_other_at_large_D():
    """The kappa form is the large-D limit of the exact moments: the relative Frobenius gap
    shrinks like 1/sqrt(D) (a factor sqrt(8) here)."""
    gaps = []
    for N, D in [(50, 25), (400, 200)]:
        key = jax.random.key(4)
        exact = jaxgem.HiddenManifold.random(key, N, D, "sign")
        approx = jaxgem.HiddenManifold.random(key, N, D, "sign", moments="gaussian_equivalent")
        gaps.append(
            float(jnp.linalg.norm(exact.omega - approx.omega) / jnp.linalg.norm(exact.omega))
        )
    assert gaps[1] < gaps[0] / 2 and gaps[1] < 0.1


def test_gaussian_equivalent_model_samples_have_the_moments():
    model = jaxgem.HiddenManifold.random(jax.random.key(5), 20, 10, "sign")
    equivalent = jaxgem.GaussianEquivalent.of(model)
    mean, second, cross, c = _empirical(equivalent)
    _assert_within_sampling_error(mean, 0.0, 1.0)
    _assert_within_sampling_error(second, np.asarray(model.omega), 1.0)
    _assert_within_sampling_error(cross, np.asarray(model.phi), 1.0)
    _assert_within_sampling_error(c.T @ c / SAMPLES, np.eye(10), 1.0)


def test_order_parameters_are_the_covariances_of_the_sampled_fields():
    """Q, R, T from (Omega, Phi) against the empirical covariance of lambda = w x / sqrt N and
    nu = B c / sqrt D."""
    model = jaxgem.HiddenManifold.random(jax.random.key(6), 60, 30, "sign")
    student = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(8), 3, 60, "erf")
    teacher = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(9), 2, 30, "erf")
    x, c = model.sample(jax.random.key(10), SAMPLES)
    lam, nu = np.asarray(student.fields(x), np.float64), np.asarray(teacher.fields(c), np.float64)
    op = model.order_parameters(student, teacher)
    scale = float(np.max(np.diag(np.asarray(op.Q))))
    _assert_within_sampling_error(lam.T @ lam / SAMPLES, np.asarray(op.Q), scale)
    _assert_within_sampling_error(lam.T @ nu / SAMPLES, np.asarray(op.R), math.sqrt(scale * 2))
    _assert_within_sampling_error(nu.T @ nu / SAMPLES, np.asarray(op.T), 2.0)


def test_iid_model():
    model = jaxgem.IIDGaussian(N=8)
    x, c = model.sample(jax.random.key(0), 5)
    assert x.shape == (5, 8) and np.array_equal(x, c)
    omega, phi = model.covariances()
    np.testing.assert_array_equal(omega, np.eye(8))
    w = jax.random.normal(jax.random.key(1), (2, 8))
    np.testing.assert_allclose(model.input_overlap(w, w), w @ w.T / 8, rtol=1e-6)
    assert model.delta == 1.0


def test_delta_is_D_over_N():
    assert jaxgem.HiddenManifold.random(jax.random.key(0), 40, 10).delta == 0.25


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: jaxgem.IIDGaussian(N=0), "N must be a positive integer"),
        (lambda: jaxgem.HiddenManifold.random(jax.random.key(0), 10, -2), "D must be a positive"),
        (lambda: jaxgem.HiddenManifold(np.ones(5)), r"\(N, D\) matrix"),
        (lambda: jaxgem.HiddenManifold(np.ones((4, 2)), moments="magic"), "moments must be one of"),
        (lambda: jaxgem.HiddenManifold(np.ones((4, 2)), "swish"), "unknown activation"),
        (lambda: jaxgem.GaussianEquivalent(np.eye(3), np.ones((4, 2))), "Phi must have shape"),
        (lambda: jaxgem.GaussianEquivalent(np.ones((3, 2)), np.ones((3, 2))), "square"),
        (lambda: jaxgem.GaussianEquivalent(np.eye(3), 2 * np.eye(3)), "not positive semi-definite"),
    ],
)
def test_bad_data_models_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_networks_must_fit_the_data_model():
    model = jaxgem.HiddenManifold.random(jax.random.key(0), 20, 10)
    good_student = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(1), 2, 20)
    good_teacher = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(1), 2, 10)
    model.check_networks(good_student, good_teacher)
    with pytest.raises(ValueError, match="student reads N=10"):
        model.check_networks(good_teacher, good_teacher)
    with pytest.raises(ValueError, match="teacher reads vectors of dimension 20"):
        model.check_networks(good_student, good_student)
