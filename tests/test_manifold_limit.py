"""The hidden manifold model's spectral ODEs as N, D -> infinity on Marchenko–Pastur nodes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem.data import marchenko_pastur
from jaxgem.ode import theory


def solve_manifold_limit(start, times, *, delta, activation, generator="sign", **hyperparameters):
    """The N, D -> infinity theory of the sign hidden manifold from order parameters."""
    K, M = start.v.shape[-1], start.A.shape[-1]
    problem = jaxgem.Problem(
        jaxgem.HiddenManifoldLimit(delta, generator),
        jaxgem.GaussianInit(M, activation),
        jaxgem.GaussianInit(K, activation),
        **hyperparameters,
    )
    return theory(problem, times, start=start)


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_marchenko_pastur_nodes_integrate_its_moments(delta, x64):
    """<s> = 1, <s^2> = 1 + y, <s^3> = 1 + 3y + y^2 (y = 1/delta) and the mass 1 - delta at 0."""
    s, w = marchenko_pastur(delta, 32, jnp.float64)
    y = 1 / delta
    assert float(jnp.sum(w)) == pytest.approx(1.0, abs=1e-12)
    for power, moment in [(1, 1.0), (2, 1 + y), (3, 1 + 3 * y + y**2)]:
        assert float(jnp.sum(w * s**power)) == pytest.approx(moment, rel=1e-8)
    assert float(jnp.sum(jnp.where(s == 0, w, 0.0))) == pytest.approx(max(0.0, 1 - delta))


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_default_nodes_integrate_to_1e_6(delta, x64):
    """The default rule against adaptive quadrature of the density itself: a resolvent, a
    moment and a square root, including at delta = 1, where the bulk touches s = 0."""
    from scipy.integrate import quad

    s, w = jaxgem.HiddenManifoldLimit(delta, "sign").nodes(jnp.float64)
    s, w = np.asarray(s), np.asarray(w)
    y = 1 / delta
    a, b = (1 - np.sqrt(y)) ** 2, (1 + np.sqrt(y)) ** 2
    mass0 = max(0.0, 1 - delta)
    for g in (lambda x: 1 / (x + 0.1), lambda x: x**3, lambda x: np.sqrt(x + 0.01)):
        reference = mass0 * g(0.0) + quad(
            lambda x, g=g: g(x) * np.sqrt((b - x) * (x - a)) / (2 * np.pi * y * x),
            a, b, limit=400, epsabs=1e-13, epsrel=1e-12,
        )[0]  # fmt: skip
        assert abs(np.sum(w * g(s)) - reference) < 1e-6 * abs(reference)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0])
def test_random_features_limit_default_nodes_are_converged(gamma, x64):
    """The replica test error of ridge on erf random features with the default nodes agrees
    with a 2048-node rule to 1e-6 (the old Chebyshev rule was 1 % off at gamma = 1)."""
    from jaxgem.replica import GaussianCovariateModel, learning_curve

    alphas = jnp.array([0.5, 2.0])
    errors = [
        learning_curve(model, "square", alphas, 0.1).test_error
        for model in (
            GaussianCovariateModel.random_features_limit(gamma),
            GaussianCovariateModel.random_features_limit(gamma, n_nodes=2048),
        )
    ]
    np.testing.assert_allclose(errors[0], errors[1], rtol=1e-6)


def _op(Q, R):
    return jaxgem.OrderParameters(Q=Q, R=R, T=jnp.eye(2), v=jnp.ones(2), A=jnp.ones(2))


def test_initial_overlaps_are_the_given_ones(x64):
    Q = jnp.array([[0.5, 0.1], [0.1, 0.4]])
    R = jnp.array([[0.3, -0.1], [0.05, 0.2]])
    sol = solve_manifold_limit(
        _op(Q, R), jnp.array([0.0, 1.0]), delta=0.5, activation="erf", lr=0.2
    )
    np.testing.assert_allclose(sol.Q[0, 0], Q, atol=1e-12)
    np.testing.assert_allclose(sol.R[0, 0], R, atol=1e-12)


def test_bad_input_is_refused():
    Q, R = 0.01 * jnp.eye(2), 0.5 * jnp.eye(2)
    with pytest.raises(ValueError, match="Q is too small for R"):
        solve_manifold_limit(_op(Q, R), jnp.array([0.0, 1.0]), delta=0.5, activation="erf", lr=0.2)
    with pytest.raises(ValueError, match="delta"):
        marchenko_pastur(0.0, 10)
    with pytest.raises(ValueError, match="noise must be non-negative"):
        solve_manifold_limit(
            _op(Q, 0 * R), jnp.array([0.0, 1.0]), delta=0.5, activation="erf", lr=0.2, noise=-1.0
        )


def test_limit_is_the_average_of_the_sampled_spectral_theory():
    """The spectral ODEs on a sampled sign hidden manifold (N = 1000, D = 500), averaged over 16
    teachers and students, equal the Marchenko–Pastur limit started from the same overlaps.
    (For one teacher they differ by O(1/sqrt D): the teacher's visible norm B F^T F B^T / (N D)
    fluctuates around T.)"""
    N, D, S = 1000, 500, 16
    hmm = jaxgem.HiddenManifold.random(jax.random.key(11), N, D, "sign")
    problem = jaxgem.Problem(
        hmm, jaxgem.GaussianInit(2, "erf"), jaxgem.GaussianInit(2, "erf", std=0.1), lr=0.2
    )
    times = jnp.array([0.0, 2.0, 10.0, 30.0])
    sampled = theory(problem, times, key=jax.random.key(3), seeds=S)  # 16 teachers, students
    first = jax.tree.map(lambda a: a[0, :, 0], sampled.order_parameters())
    limit = theory(problem.replace(data=hmm.limit()), times, start=first)  # the same by type
    gap = np.asarray(sampled.eg[0] - limit.eg[0])
    error = gap.std(axis=0, ddof=1) / np.sqrt(S)
    assert np.all(np.abs(gap.mean(axis=0)) <= 3 * error + 1e-6), (gap.mean(0), error)
    assert np.all(np.abs(gap.mean(axis=0)) < 0.01 * np.asarray(limit.eg).mean(axis=0))


@pytest.mark.slow
@pytest.mark.parametrize("N", [500, 1000])  # (250 as well until the suite outgrew 15 min)
def test_limit_theory_agrees_with_simulations_at_growing_N(N):
    """Online SGD on the sign hidden manifold (D = N/2, K = M = 2 erf, eta = 0.2, 8 seeds) against
    the N, D -> infinity theory from each seed's initial overlaps: within three standard errors
    or 3 % at every record."""
    D = N // 2
    hmm = jaxgem.HiddenManifold.random(jax.random.key(11), N, D, "sign")
    problem = jaxgem.Problem(
        hmm, jaxgem.GaussianInit(2, "erf"), jaxgem.GaussianInit(2, "erf", std=0.1), lr=0.2
    )
    traj = jaxgem.simulate(problem, jax.random.key(0), t_max=20.0, n_records=5, seeds=8)
    limit = problem.replace(data=hmm.limit())
    predicted = np.asarray(theory(limit, traj.t, start=traj.initial_order_parameters()).eg)
    predicted = predicted[0].mean(0)
    gap = np.abs(traj.mean()[0] - predicted)
    assert np.all(gap <= np.maximum(3 * traj.sem()[0], 0.03 * predicted)), gap / traj.sem()[0]
    assert traj.mean()[0, -1] < 0.5 * traj.mean()[0, 0]
