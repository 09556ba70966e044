"""Activations: published kappa coefficients, closed forms against quadrature and Monte Carlo."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxgem

ALL = [
    jaxgem.Erf(),
    jaxgem.Linear(),
    jaxgem.ReLU(),
    jaxgem.Tanh(),
    jaxgem.Sign(),
    jaxgem.Quadratic(),
]


@pytest.mark.parametrize(
    "activation, expected",
    [
        (
            jaxgem.ReLU(),
            (1 / math.sqrt(2 * math.pi), 0.5, math.sqrt((math.pi - 2) / (4 * math.pi))),
        ),
        (
            jaxgem.Custom(jax.scipy.special.erf, label="erf(x)"),
            (0.0, 2 / math.sqrt(3 * math.pi), 0.200364),
        ),
        (jaxgem.Tanh(), (0.0, 0.605706, 0.165576)),
        (jaxgem.Sign(), (0.0, math.sqrt(2 / math.pi), math.sqrt(1 - 2 / math.pi))),
        (jaxgem.Erf(), (0.0, 1 / math.sqrt(math.pi), math.sqrt(1 / 3 - 1 / math.pi))),
        (jaxgem.Linear(), (0.0, 1.0, 0.0)),
        (jaxgem.Quadratic(), (1.0, 0.0, math.sqrt(2.0))),
    ],
)
def test_kappa_coefficients_match_theory_section_2(x64, activation, expected):
    """THEORY.md Sec. 2 / Sec. 10: the published kappa of relu, erf(x), tanh, sign."""
    np.testing.assert_allclose([float(k) for k in activation.kappa()], expected, atol=2e-6)


def _random_covariance(a, b, rho):
    return np.array([[a, rho * math.sqrt(a * b)], [rho * math.sqrt(a * b), b]])


covariances = st.builds(
    _random_covariance,
    st.floats(0.05, 4.0),
    st.floats(0.05, 4.0),
    st.floats(-0.99, 0.99),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(C=covariances)
def test_closed_forms_agree_with_quadrature(x64, C):
    """Smooth activations: the closed form and a Gauss-Hermite product rule agree to 1e-6."""
    for activation in (jaxgem.Erf(), jaxgem.Linear(), jaxgem.Quadratic()):
        closed = float(activation.i2(jnp.asarray(C)))
        quadrature = float(jaxgem.Quadrature(activation).i2(jnp.asarray(C)))
        assert closed == pytest.approx(quadrature, abs=1e-6), activation.name


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(C=covariances, seed=st.integers(0, 2**31 - 1))
def test_closed_forms_agree_with_monte_carlo(x64, C, seed):
    """Every closed form (ReLU and sign included) within 5 Monte Carlo standard errors."""
    rng = np.random.default_rng(seed)
    u = rng.multivariate_normal(np.zeros(2), C, size=400_000)
    for activation in (jaxgem.Erf(), jaxgem.ReLU(), jaxgem.Sign(), jaxgem.Quadratic()):
        product = np.asarray(activation(u[:, 0]) * activation(u[:, 1]))
        error = product.std() / math.sqrt(product.size)
        closed = float(activation.i2(jnp.asarray(C)))
        assert abs(closed - product.mean()) < 5 * error + 1e-9, activation.name


def test_mixed_pair_uses_quadrature_and_matches_monte_carlo(x64):
    C = jnp.array([[1.3, 0.6], [0.6, 0.7]])
    u = np.random.default_rng(0).multivariate_normal(np.zeros(2), np.asarray(C), size=1_000_000)
    product = np.tanh(u[:, 0]) * np.asarray(jax.scipy.special.erf(u[:, 1] / math.sqrt(2)))
    value = float(jaxgem.Tanh().i2(C, jaxgem.Erf()))
    assert value == pytest.approx(product.mean(), abs=5 * product.std() / 1000)


@pytest.mark.parametrize("activation", ALL, ids=lambda a: a.name)
def test_i2_is_finite_and_continuous_at_correlation_one(x64, activation):
    """At correlation +-1 the arcsine forms must not produce NaN."""
    for sign in (1.0, -1.0):
        C = jnp.array([[1.0, sign], [sign, 1.0]])
        near = jnp.array([[1.0, sign * (1 - 1e-9)], [sign * (1 - 1e-9), 1.0]])
        assert np.isfinite(float(activation.i2(C)))
        assert float(activation.i2(C)) == pytest.approx(float(activation.i2(near)), abs=1e-4)


def test_erf_second_moment_at_unit_variance():
    """E erf(z/sqrt2)^2 = (2/pi) asin(1/2) = 1/3."""
    assert float(jaxgem.Erf().i2(jnp.ones((2, 2)))) == pytest.approx(1 / 3, abs=1e-6)


@pytest.mark.parametrize("activation", [a for a in ALL if a.name != "sign"], ids=lambda a: a.name)
def test_derivatives_match_autodiff(activation):
    x = jnp.linspace(-3, 3, 61) + 0.01
    autodiff = jax.vmap(jax.grad(lambda s: activation(s)))(x)
    np.testing.assert_allclose(activation.derivative(x), autodiff, atol=1e-5)


@pytest.mark.parametrize("activation", ALL, ids=lambda a: a.name)
def test_gaussian_moments_against_monte_carlo(activation):
    variance = 1.7
    u = np.random.default_rng(1).normal(0, math.sqrt(variance), 2_000_000)
    values = np.asarray(activation(jnp.asarray(u)), dtype=np.float64)
    mean, projection = (float(m) for m in activation.gaussian_moments(jnp.asarray(variance)))
    error = float(values.std() / math.sqrt(u.size))
    assert mean == pytest.approx(values.mean(), abs=5 * error + 1e-7)
    error = float((u * values).std() / math.sqrt(u.size))
    assert projection == pytest.approx((u * values).mean(), abs=5 * error + 1e-7)


def test_custom_activation_is_differentiated_and_integrated(x64):
    softplus = jaxgem.Custom(jax.nn.softplus, label="softplus")
    x = jnp.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(softplus.derivative(x), jax.nn.sigmoid(x), atol=1e-12)
    assert softplus.name == "softplus"
    assert float(softplus.kappa()[1]) == pytest.approx(
        float(jaxgem.gaussian.expect_1d(jax.nn.sigmoid, jnp.asarray(1.0))), abs=1e-10
    )


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*erf"):
        jaxgem.get_activation("swish")
    with pytest.raises(TypeError, match="callable"):
        jaxgem.Custom(3.0)


def test_activations_compose_with_jit_and_vmap():
    C = jnp.stack([jnp.eye(2) * (1 + i) for i in range(4)])
    batched = jax.jit(jax.vmap(jaxgem.Erf().i2))(C)
    np.testing.assert_allclose(batched, jaxgem.Erf().i2(C), rtol=1e-6)


@pytest.mark.parametrize(
    "activation",
    [jaxgem.Erf(), jaxgem.ReLU(), jaxgem.Sign(), jaxgem.Linear(), jaxgem.Quadratic()],
    ids=lambda a: a.name,
)
def test_closed_conditional_means_against_monte_carlo(activation):
    """`E g(m + s z)` in closed form, including s = 0."""
    rng = np.random.default_rng(2)
    z = rng.normal(size=1_000_000)
    for mean, variance in [(0.3, 0.5), (-1.2, 2.0), (0.0, 1.0), (0.7, 0.0)]:
        values = np.asarray(activation(jnp.asarray(mean + math.sqrt(variance) * z)), np.float64)
        closed = float(activation.conditional_mean(jnp.asarray(mean), jnp.asarray(variance)))
        error = float(values.std() / 1000)
        assert closed == pytest.approx(values.mean(), abs=5 * error + 1e-6), (mean, variance)
