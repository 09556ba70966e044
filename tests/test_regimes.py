"""Learning-rate scalings of the classical, high-dimensional and mean-field regimes."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem import regime_scaling


def _random_start(K, key, N=400):
    """Order parameters of K random unit-variance students against a two-unit teacher; for the
    mean-field test K = 2 units are tiled, so every width carries the same empirical measure."""
    kw, kb, kv = jax.random.split(key, 3)
    w = jax.random.normal(kw, (K, N), jnp.float64)
    B = jax.random.normal(kb, (2, N), jnp.float64)
    v = jax.random.normal(kv, (K,), jnp.float64)
    return w @ w.T / N, 0.3 * w @ B.T / N, B @ B.T / N, v


def _solutions(regime, lr, start, times):
    Q, R, T, v = start
    K = v.shape[0]
    scaling = regime_scaling(regime, K=K, lr=lr)
    scale = 1.0 / K if scaling.output_scaling == "1/K" else 1.0
    op = jaxgem.OrderParameters(Q=Q, R=R, T=T, v=scale * v, A=jnp.ones(2, jnp.float64))
    t = jnp.asarray(scaling.simulation_time(times))
    problem = jaxgem.Problem(
        jaxgem.IIDGaussian(N=400),
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit(K, "erf", output_scaling=scaling.output_scaling),
        lr=scaling.lr,
        train_second_layer=True,
    )
    assert problem.output_scale == scale
    options = dict(start=op, stepsize_controller=diffrax.PIDController(rtol=1e-9, atol=1e-11))
    full = jaxgem.theory(problem, t, **options)
    limit = jaxgem.theory(problem, t, **options, second_order=scaling.second_order)
    assert float(full.eg[0, -1]) < 0.8 * float(full.eg[0, 0])
    return np.asarray(full.eg[0]), np.asarray(limit.eg[0])


def test_mean_field_variance_vanishes_like_one_over_K(x64):
    """With output 1/K, in natural time eta t / K: students of width 2, 4, 8 carrying the same
    empirical measure of units follow one drift-only curve, and the full ODE approaches it with
    a gap proportional to 1/K."""
    Q, R, T, v = _random_start(2, jax.random.key(0))
    times = np.array([0.0, 0.5, 1.0, 2.0])
    curves, gaps = [], []
    for copies in (1, 2, 4):
        tiled = (jnp.tile(Q, (copies, copies)), jnp.tile(R, (copies, 1)), T, jnp.tile(v, copies))
        full, limit = _solutions("mean-field", 1.0, tiled, times)
        curves.append(limit)
        gaps.append(np.max(np.abs(full - limit)))
    np.testing.assert_allclose(curves[1], curves[0], rtol=1e-6)
    np.testing.assert_allclose(curves[2], curves[0], rtol=1e-6)
    assert gaps[0] / gaps[1] == pytest.approx(2.0, rel=0.15), gaps
    assert gaps[1] / gaps[2] == pytest.approx(2.0, rel=0.15), gaps


def test_classical_regime_is_gradient_flow_as_lr_vanishes(x64):
    """In natural time eta t the full ODE approaches gradient flow linearly in eta."""
    start = _random_start(2, jax.random.key(0))
    times = np.array([0.0, 0.5, 1.0, 2.0])
    gaps = [
        np.max(np.abs(np.subtract(*_solutions("classical", lr, start, times))))
        for lr in (0.4, 0.1, 0.025)
    ]
    assert gaps[0] > 3 * gaps[1] > 9 * gaps[2], gaps
    assert gaps[0] / gaps[1] == pytest.approx(4.0, rel=0.3)


def test_high_dimensional_keeps_the_variance_term():
    scaling = regime_scaling("high-dimensional", K=2, lr=0.5)
    assert scaling.second_order and scaling.output_scaling == "1" and scaling.time_factor == 1.0
    mean_field = regime_scaling("mean-field", K=8, lr=0.5)
    assert mean_field.natural_time(16.0) == pytest.approx(1.0)
    assert mean_field.simulation_time(1.0) == pytest.approx(16.0)


def test_bad_regime_is_refused():
    with pytest.raises(ValueError, match="regime must be one of"):
        regime_scaling("lazy", K=2, lr=0.1)
    with pytest.raises(ValueError, match="lr must be positive"):
        regime_scaling("classical", K=2, lr=0.0)
