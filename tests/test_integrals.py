"""I3, I4, J2: closed forms against quadrature and Monte Carlo (THEORY.md Sec. 2)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxgem
from jaxgem.gaussian import expect_1d, orthant_moment
from jaxgem.ode import field_covariance, integral_tensors


def _covariance(seed, n, largest=1.5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n + 2)) * rng.uniform(0.3, largest, size=(n, 1))
    return X @ X.T / (n + 2)


seeds = st.integers(0, 2**31 - 1)
quiet = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings(max_examples=15, **quiet)
@given(seed=seeds)
def test_erf_and_linear_closed_forms_match_quadrature(x64, seed):
    """Fields of variance up to about 1 (the product rule converges slowly for the step-like
    erf of a field with a large variance)."""
    C3, C4 = _covariance(seed, 3, 1.0), _covariance(seed + 1, 4, 1.0)
    for g in (jaxgem.Erf(), jaxgem.Linear()):
        assert float(g.i3(C3)) == pytest.approx(
            float(jaxgem.Quadrature(g).i3(C3)), rel=1e-3, abs=1e-6
        )
        assert float(g.i4(C4)) == pytest.approx(
            float(jaxgem.Quadrature(g).i4(C4)), rel=5e-3, abs=1e-6
        )
        assert float(g.j2(C4[:2, :2])) == pytest.approx(
            float(jaxgem.Quadrature(g).j2(C4[:2, :2])), rel=1e-4
        )


@settings(max_examples=4, **quiet)
@given(seed=seeds)
def test_closed_forms_match_monte_carlo(x64, seed):
    """erf, linear, ReLU (closed forms and the orthant moment for I4) and tanh (quadrature)
    within 5 standard errors, for fields of variance up to about 1."""
    C = _covariance(seed, 4, 1.0)
    u = np.random.default_rng(seed).multivariate_normal(np.zeros(4), C, size=1_000_000)
    for g in (jaxgem.Erf(), jaxgem.Linear(), jaxgem.ReLU(), jaxgem.Tanh()):
        d = np.asarray(g.derivative(jnp.asarray(u)), np.float64)
        v = np.asarray(g(jnp.asarray(u)), np.float64)
        samples = {
            "i3": (d[:, 0] * u[:, 1] * v[:, 2], g.i3(C[:3, :3])),
            "i4": (d[:, 0] * d[:, 1] * v[:, 2] * v[:, 3], g.i4(C)),
            "j2": (d[:, 0] * d[:, 1], g.j2(C[:2, :2])),
        }
        for name, (values, exact) in samples.items():
            error = values.std() / 1000
            assert (
                abs(float(exact) - values.mean()) < 5 * error + 2e-3 * abs(values.mean()) + 1e-9
            ), (
                g.name,
                name,
            )


PAIRS = [
    (jaxgem.Erf(), jaxgem.Erf()),
    (jaxgem.Linear(), jaxgem.Linear()),
    (jaxgem.ReLU(), jaxgem.ReLU()),
    (jaxgem.Erf(), jaxgem.ReLU()),  # a mixed pair: from I3 by the 2 x 2 solve
    (jaxgem.Tanh(), jaxgem.Tanh()),  # no closed form: from quadrature I3
]


@settings(max_examples=3, **quiet)
@given(seed=seeds)
def test_stein_coefficients_match_monte_carlo(x64, seed):
    """`(a, b) = (E[g''(u1) h(u2)], E[g'(u1) h'(u2)])` (the spectral ODEs' projections): `b`
    against samples of `g'(u1) h'(u2)`, and Stein's identities `E[g'(u1) u_i h(u2)] =
    C_i1 a + C_i2 b` (which also fix `a`, even where `g''` is a point mass), within 5
    standard errors of 10^6 samples."""
    C = _covariance(seed, 2, 1.0)
    u = np.random.default_rng(seed).multivariate_normal(np.zeros(2), C, size=1_000_000)
    for g, h in PAIRS:
        a, b = (float(x) for x in g.stein(C, h))
        d1 = np.asarray(g.derivative(jnp.asarray(u[:, 0])), np.float64)
        d2 = np.asarray(h.derivative(jnp.asarray(u[:, 1])), np.float64)
        v2 = np.asarray(h(jnp.asarray(u[:, 1])), np.float64)
        checks = [
            (d1 * d2, b),
            (d1 * u[:, 0] * v2, C[0, 0] * a + C[0, 1] * b),
            (d1 * u[:, 1] * v2, C[0, 1] * a + C[1, 1] * b),
        ]
        for i, (values, exact) in enumerate(checks):
            assert abs(exact - values.mean()) < 5 * values.std() / 1000 + 1e-9, (g.name, i)


@pytest.mark.parametrize("g", [jaxgem.Erf(), jaxgem.ReLU(), jaxgem.Linear()], ids=str)
def test_stein_coefficients_are_smooth_where_fields_are_collinear(g):
    """Two identical fields (student units on the plateau): the closed forms are finite,
    continuous into correlation 1 in float32, and satisfy Stein's identity there,
    `q (a + b) = E[g'(u) u g(u)]` (1-d quadrature)."""
    q = 0.7
    exact = np.asarray(g.stein(jnp.full((2, 2), q, jnp.float32)))
    near = np.asarray(g.stein(jnp.array([[q, q * (1 - 1e-6)], [q * (1 - 1e-6), q]], jnp.float32)))
    assert np.all(np.isfinite(exact)) and np.allclose(exact, near, atol=2e-3)
    identity = expect_1d(lambda x: g.derivative(x) * x * g(x), jnp.asarray(q), 96)
    assert float(q * exact.sum()) == pytest.approx(float(identity), rel=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_i4_matches_monte_carlo_at_large_variance(x64, seed):
    """Field variances up to ~5, where the old product rule was off by up to 18 %: the orthant
    moment is within 4 standard errors of 4e6 samples, and converged to 1e-6 at order 16."""
    C = _covariance(seed, 4, 2.0)
    g = jaxgem.ReLU()
    u = np.random.default_rng(seed).multivariate_normal(np.zeros(4), C, size=4_000_000)
    values = (u[:, 0] > 0) * (u[:, 1] > 0) * np.maximum(u[:, 2], 0) * np.maximum(u[:, 3], 0)
    exact = float(g.i4(C))
    assert abs(exact - values.mean()) < 4 * values.std() / 2000
    finer = float(orthant_moment(jnp.asarray(C), (0, 0, 1, 1), order=32))
    assert exact == pytest.approx(finer, rel=1e-6)


def test_orthant_moment_is_exact_at_repeated_fields(x64):
    """With u3 = u1 and u4 = u2 the ReLU I4 is the closed-form I2; opposite fields give 0; the
    gradient with respect to a singular covariance is finite, also in float32."""
    C2 = jnp.array([[1.3, 0.4], [0.4, 0.9]])
    same = C2[np.ix_([0, 1, 0, 1], [0, 1, 0, 1])]
    relu = jaxgem.ReLU()
    assert float(relu.i4(same)) == pytest.approx(float(relu.i2(C2)), rel=1e-7)
    opposite = jnp.array([[1.0, -1.0], [-1.0, 1.0]])[np.ix_([0, 1, 0, 1], [0, 1, 0, 1])]
    assert float(relu.i4(opposite)) == 0.0
    gradient = jax.grad(lambda c: relu.i4(c))(same.astype(jnp.float32))
    assert np.all(np.isfinite(np.asarray(gradient)))
    with pytest.raises(ValueError, match="powers"):
        orthant_moment(same, (0, 2, 1, 1))


def test_integrals_are_finite_at_singular_index_tuples():
    """(k, k, j) tuples have singular covariances: no NaN, and the value of the limit."""
    C = jnp.array([[1.0, 0.3], [0.3, 0.8]])
    singular = jnp.array([[1.0, 1.0, 0.3], [1.0, 1.0, 0.3], [0.3, 0.3, 0.8]])
    for g in (jaxgem.Erf(), jaxgem.ReLU(), jaxgem.Tanh(), jaxgem.Linear()):
        value = float(g.i3(singular))
        near = singular.at[1, 1].add(1e-6)
        assert np.isfinite(value) and value == pytest.approx(float(g.i3(near)), abs=1e-3)
    assert np.isfinite(float(jaxgem.Erf().i4(jnp.ones((4, 4)))))
    assert np.isfinite(float(jaxgem.Erf().j2(C)))


def test_tensors_pick_the_activation_of_each_field(x64):
    """Mixed student/teacher activations: every entry of the tensors equals the integral with
    the activations of its own fields."""
    rng = np.random.default_rng(0)
    K, M = 2, 2
    X = rng.normal(size=(K + M, 7))
    C = jnp.asarray(X @ X.T / 7)
    g, gt = jaxgem.Erf(), jaxgem.Tanh()
    tensors = integral_tensors(C, K, g, gt)
    act = lambda c: g if c < K else gt  # noqa: E731
    # one compiled integral per pair of activations (eager, the 40 entries took 18 s)
    i2, i3 = eqx.filter_jit(g.i2), eqx.filter_jit(g.i3)
    for i in range(K):
        for b in range(K + M):
            idx = [i, b]
            assert float(tensors.I2[i, b]) == pytest.approx(
                float(i2(C[np.ix_(idx, idx)], act(b))), abs=1e-8
            )
            for c in range(K + M):
                idx = [i, b, c]
                expected = i3(C[np.ix_(idx, idx)], act(c))
                assert float(tensors.I3[i, b, c]) == pytest.approx(float(expected), abs=1e-8)
    idx = [1, 0, 3, 1]
    expected = g.i4(C[np.ix_(idx, idx)], act(3), act(1))
    assert float(tensors.I4[1, 0, 3, 1]) == pytest.approx(float(expected), abs=1e-8)


def test_field_covariance_blocks():
    Q, R, T = jnp.eye(2), jnp.ones((2, 3)), 2 * jnp.eye(3)
    C = field_covariance(Q, R, T)
    assert C.shape == (5, 5) and float(C[0, 4]) == 1.0 and float(C[4, 0]) == 1.0
    assert math.isclose(float(C[4, 4]), 2.0)
