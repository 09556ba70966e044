"""Hermite activations: every Gaussian integral in closed form (polynomials of the covariance)
equals quadrature and Monte Carlo; names, normalisation and bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem.hermite import Hermite, gaussian_polynomial_moment

ACTIVATIONS = [Hermite.single(k) for k in (1, 2, 3, 4)] + [
    Hermite((0.0, 1.0, 0.0, 0.5)),  # He_1 + He_3 / 2: information exponent 1
    Hermite((0.3, 0.0, 1.0, 0.0, -0.2)),  # constant + He_2 - He_4 / 5
]


def _covariance(seed: int, n: int) -> np.ndarray:
    A = np.random.default_rng(seed).normal(size=(n, n)) * 0.5
    return A @ A.T + 0.4 * np.eye(n)  # variances away from 1: the change of variance matters


@pytest.mark.parametrize("h", ACTIVATIONS, ids=lambda h: h.name)
def test_closed_forms_equal_quadrature(h, x64):
    C = jnp.asarray(_covariance(1, 4))
    q = jaxgem.Quadrature(h, orders=(96, 24, 24, 16))  # exact for these degrees, up to rounding
    for closed, by_quadrature in [
        (h.i2(C[:2, :2]), q.i2(C[:2, :2])),
        (h.i3(C[:3, :3]), q.i3(C[:3, :3])),
        (h.i4(C), q.i4(C)),
        (h.j2(C[:2, :2]), q.j2(C[:2, :2])),
    ]:
        np.testing.assert_allclose(closed, by_quadrature, rtol=1e-10, atol=1e-10)


def test_closed_forms_equal_monte_carlo(x64):
    """I2, I3, I4, J2 of He_3 and of He_1 + He_3/2, and the Gaussian moments and conditional
    mean, against 2 million Gaussian samples (within 5 standard errors)."""
    C = _covariance(2, 4)
    u = np.random.default_rng(3).multivariate_normal(np.zeros(4), C, size=2_000_000)
    u = jnp.asarray(u)
    for h in (Hermite.single(3), Hermite((0.0, 1.0, 0.0, 0.5))):
        g, dg = h(u), h.derivative(u)
        samples = {
            "I2": (g[:, 0] * g[:, 1], h.i2(C[:2, :2])),
            "I3": (dg[:, 0] * u[:, 1] * g[:, 2], h.i3(C[:3, :3])),
            "I4": (dg[:, 0] * dg[:, 1] * g[:, 2] * g[:, 3], h.i4(C)),
            "J2": (dg[:, 0] * dg[:, 1], h.j2(C[:2, :2])),
            "E g": (g[:, 0], h.gaussian_moments(C[0, 0])[0]),
            "E u g": (u[:, 0] * g[:, 0], h.gaussian_moments(C[0, 0])[1]),
        }
        for name, (values, closed) in samples.items():
            error = float(jnp.std(values)) / math.sqrt(values.shape[0])
            assert abs(float(jnp.mean(values)) - float(closed)) < 5 * error + 1e-12, (h.name, name)
        # E[g(m + s z)], the conditional mean behind mixed pairs
        z = u[:, 0] / math.sqrt(C[0, 0])
        values = h(0.7 + math.sqrt(0.4) * z)
        error = float(jnp.std(values)) / math.sqrt(values.shape[0])
        closed = h.conditional_mean(jnp.asarray(0.7), jnp.asarray(0.4))
        assert abs(float(jnp.mean(values)) - float(closed)) < 5 * error


def test_the_diagram_formula_at_unit_variance_is_orthogonality(x64):
    """E He_a(x) He_b(y) = a! rho^a delta_ab, and the four-point moments of Isserlis."""
    rho = 0.37
    C = jnp.array([[1.0, rho], [rho, 1.0]])
    for a in range(5):
        for b in range(5):
            got = gaussian_polynomial_moment([np.eye(a + 1)[a], np.eye(b + 1)[b]], C)
            want = math.factorial(a) * rho**a if a == b else 0.0
            np.testing.assert_allclose(got, want, atol=1e-14)
    C4 = jnp.asarray(_covariance(4, 4))
    x = [0.0, 1.0]  # E x1 x2 x3 x4 = C12 C34 + C13 C24 + C14 C23
    want = C4[0, 1] * C4[2, 3] + C4[0, 2] * C4[1, 3] + C4[0, 3] * C4[1, 2]
    np.testing.assert_allclose(gaussian_polynomial_moment([x, x, x, x], C4), want, rtol=1e-12)


def test_kappa_names_and_normalisation():
    h = Hermite((0.2, 0.5, 1.0, 0.0, 0.1))
    k0, k1, ks = h.kappa()
    np.testing.assert_allclose([k0, k1], [0.2, 0.5], rtol=1e-6)
    np.testing.assert_allclose(ks, math.sqrt(2 * 1.0 + 24 * 0.01), rtol=1e-6)
    np.testing.assert_allclose(jaxgem.Quadrature(h).kappa()[2], ks, rtol=1e-6)
    assert jaxgem.get_activation("he3").name == "he3"
    h3 = jaxgem.get_activation("h3")
    assert h3.name == "h3" and h3.information_exponent == 3
    np.testing.assert_allclose(h3.i2(jnp.ones((2, 2))), 1.0, rtol=1e-6)  # E h_3(z)^2 = 1
    assert Hermite((0.0, 0.0, 1.0, 0.0, 0.0)).coefficients == (0.0, 0.0, 1.0)  # trailing zeros
    assert Hermite((0.0, 1.0, 0.0, 0.5)).name == "hermite(0,1,0,0.5)"
    x = jnp.linspace(-2, 2, 5)
    np.testing.assert_allclose(jaxgem.get_activation("he4")(x), x**4 - 6 * x**2 + 3, atol=1e-5)
    np.testing.assert_allclose(
        jaxgem.get_activation("he4").derivative(x), jax.vmap(jax.grad(lambda s: s**4 - 6 * s**2))(x)
    )


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Hermite((0.0, math.nan)), "finite"),
        (lambda: Hermite(np.ones(10)), "at most 8"),
        (lambda: Hermite.single(9), "0..8"),
        (lambda: jaxgem.get_activation("he9"), "0..8"),
        (lambda: jaxgem.get_activation("hermite"), "he1 ... he8"),
    ],
)
def test_bad_hermite_input_is_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()
