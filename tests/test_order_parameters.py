"""Generalisation error from order parameters, against Monte Carlo over the local fields."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem


def _random_order_parameters(rng, K, M):
    X = rng.normal(size=(K + M, K + M + 3))
    C = X @ X.T / (K + M + 3)
    return C, jaxgem.OrderParameters(
        Q=C[:K, :K], R=C[:K, K:], T=C[K:, K:], v=rng.normal(size=K), A=rng.normal(size=M)
    )


@pytest.mark.parametrize(
    "student, teacher",
    [
        (jaxgem.Erf(), None),
        (jaxgem.ReLU(), None),
        (jaxgem.Tanh(), jaxgem.Erf()),
        (jaxgem.Linear(), jaxgem.Sign()),
    ],
    ids=["erf", "relu", "tanh-erf", "linear-sign"],
)
def test_generalisation_error_matches_monte_carlo(x64, student, teacher):
    rng = np.random.default_rng(3)
    K, M = 3, 2
    C, op = _random_order_parameters(rng, K, M)
    fields = rng.multivariate_normal(np.zeros(K + M), C, size=1_000_000)
    g_teacher = student if teacher is None else teacher
    yhat = np.asarray(student(jnp.asarray(fields[:, :K]))) @ np.asarray(op.v)
    ystar = np.asarray(g_teacher(jnp.asarray(fields[:, K:]))) @ np.asarray(op.A)
    squared = 0.5 * (ystar - yhat) ** 2
    eg = float(jaxgem.generalisation_error(op, student, teacher))
    assert eg == pytest.approx(squared.mean(), abs=5 * squared.std() / 1000)


def test_linear_error_is_the_quadratic_form():
    rng = np.random.default_rng(0)
    _, op = _random_order_parameters(rng, 2, 3)
    v, A = np.asarray(op.v), np.asarray(op.A)
    expected = 0.5 * (v @ op.Q @ v + A @ op.T @ A - 2 * v @ op.R @ A)
    assert float(jaxgem.generalisation_error(op, jaxgem.Linear())) == pytest.approx(
        float(expected), rel=1e-5
    )


def test_student_equal_to_teacher_has_zero_error():
    T = jnp.array([[1.0, 0.2], [0.2, 0.8]])
    op = jaxgem.OrderParameters(Q=T, R=T, T=T, v=jnp.ones(2), A=jnp.ones(2))
    assert float(jaxgem.generalisation_error(op, jaxgem.Erf())) == pytest.approx(0.0, abs=1e-6)


def test_erf_error_of_a_symmetric_student_in_closed_form():
    """eg = (1/pi) [sum_ik asin(Q_ik/..) + sum_nm asin(T_nm/..) - 2 sum_in asin(R_in/..)]
    written out by hand for a symmetric K = M = 2 student."""
    Qd, Qo, R = 0.5, 0.3, 0.25
    op = jaxgem.OrderParameters(
        Q=jnp.array([[Qd, Qo], [Qo, Qd]]),
        R=jnp.full((2, 2), R),
        T=jnp.eye(2),
        v=jnp.ones(2),
        A=jnp.ones(2),
    )
    asin = lambda c, a, b: math.asin(c / math.sqrt((1 + a) * (1 + b)))
    expected = (1 / math.pi) * (
        2 * asin(Qd, Qd, Qd) + 2 * asin(Qo, Qd, Qd) + 2 * asin(1, 1, 1) - 8 * asin(R, Qd, 1)
    )
    assert float(jaxgem.generalisation_error(op, jaxgem.Erf())) == pytest.approx(expected, abs=1e-6)


def test_batched_order_parameters():
    rng = np.random.default_rng(1)
    ops = [_random_order_parameters(rng, 2, 2)[1] for _ in range(3)]
    stacked = jaxgem.OrderParameters(
        *(np.stack([getattr(o, f) for o in ops]) for f in ("Q", "R", "T", "v", "A"))
    )
    batched = jaxgem.generalisation_error(stacked, jaxgem.Erf())
    single = [float(jaxgem.generalisation_error(o, jaxgem.Erf())) for o in ops]
    np.testing.assert_allclose(batched, single, rtol=1e-5)


def test_mismatched_shapes_are_named():
    with pytest.raises(ValueError, match="OrderParameters.R has shape"):
        jaxgem.OrderParameters(
            Q=np.eye(2), R=np.ones((3, 2)), T=np.eye(2), v=np.ones(2), A=np.ones(2)
        )


def test_covariances_must_be_symmetric_with_non_negative_variances():
    fields = dict(R=jnp.zeros((2, 2)), T=jnp.eye(2), v=jnp.ones(2), A=jnp.ones(2))
    with pytest.raises(ValueError, match="Q must be symmetric"):
        jaxgem.OrderParameters(Q=jnp.array([[1.0, 0.5], [0.1, 1.0]]), **fields)
    with pytest.raises(ValueError, match="Q must have a non-negative diagonal"):
        jaxgem.OrderParameters(Q=jnp.array([[-1.0, 0.0], [0.0, 1.0]]), **fields)
    with pytest.raises(ValueError, match="T must be symmetric"):
        jaxgem.OrderParameters(**{**fields, "T": jnp.array([[1.0, 0.2], [0.0, 1.0]])}, Q=jnp.eye(2))
    # a stopped solve's NaN entries are not an error
    jaxgem.OrderParameters(Q=jnp.full((2, 2), jnp.nan), **fields)


def test_activations_by_name():
    op = jaxgem.OrderParameters(
        Q=jnp.eye(2), R=0.5 * jnp.eye(2), T=jnp.eye(2), v=jnp.ones(2), A=jnp.ones(2)
    )
    by_name = jaxgem.generalisation_error(op, "erf", "relu")
    by_object = jaxgem.generalisation_error(op, jaxgem.Erf(), jaxgem.ReLU())
    assert float(by_name) == pytest.approx(float(by_object), rel=1e-7) and float(by_name) > 0
