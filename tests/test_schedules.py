"""Learning-rate schedules in the simulation and in both ODEs (THEORY.md Sec. 3, 5)."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem.online.engine import advance


def test_schedules_give_their_factors_and_refuse_bad_parameters():
    t = jnp.array([0.0, 1.0, 3.0, 9.0])
    power = jaxgem.PowerLaw(tau=3.0, beta=0.5)
    np.testing.assert_allclose(power.astype(jnp.float32).broadcast(1).__call__(t)[0], 1.0)
    one = jax.tree.map(lambda a: a[0], power)
    np.testing.assert_allclose(one(t), (1 + t / 3.0) ** -0.5, rtol=1e-6)
    steps = jax.tree.map(lambda a: a[0], jaxgem.Piecewise([1.0, 5.0], [1.0, 0.5, 0.1]))
    np.testing.assert_allclose(steps(t), [1.0, 0.5, 0.5, 0.1])
    function = jaxgem.ScheduleFunction(lambda t: jnp.exp(-t))
    np.testing.assert_allclose(function(t), np.exp(-np.asarray(t)), rtol=1e-6)
    hyper = jaxgem.Hyperparameters(lr=0.5, schedule=jaxgem.PowerLaw(tau=[1.0, 10.0]))
    assert hyper.size == 2 and hyper.schedule.tau.shape == (2,)
    assert hyper.describe(1) == (
        "lr=0.5, lr_v=0.5, noise=0, weight_decay=0, batch_size=1, schedule_tau=10, schedule_beta=1"
    )
    with pytest.raises(ValueError, match="schedule tau must be finite and positive, got 0.0"):
        jaxgem.PowerLaw(tau=0.0)
    with pytest.raises(ValueError, match="one more factor than boundaries"):
        jaxgem.Piecewise([1.0, 2.0], [1.0, 0.5])
    with pytest.raises(ValueError, match="boundaries must increase"):
        jaxgem.Piecewise([2.0, 1.0], [1.0, 0.5, 0.1])
    with pytest.raises(ValueError, match="equal lengths"):
        jaxgem.Hyperparameters(lr=[0.1, 0.2, 0.3], schedule=jaxgem.PowerLaw(tau=[1.0, 2.0]))
    with pytest.raises(ValueError, match="schedule must be a jaxgem schedule"):
        jaxgem.Hyperparameters(lr=0.1, schedule=lambda t: 1.0)


def test_simulation_applies_the_rate_of_each_step():
    """A piecewise schedule that stops learning at t = 0.5 (factor 0): the weights at t = 1
    are those at t = 0.5, bit for bit; with factor 1 they keep moving."""
    N = 200
    data = jaxgem.IIDGaussian(N=N)
    stop = jaxgem.Piecewise(boundaries=[[0.5], [0.5]], factors=[[1.0, 0.0], [1.0, 1.0]])
    problem = jaxgem.Problem(
        data, jaxgem.GaussianInit(2), jaxgem.GaussianInit(2), lr=1.0, schedule=stop
    )
    traj = jaxgem.simulate(
        problem, jax.random.key(0), times=[0.5, 1.0], seeds=1, record_weights=True
    )
    half, end = traj.t.tolist().index(0.5), traj.t.tolist().index(1.0)
    np.testing.assert_array_equal(traj.w[0, 0, half], traj.w[0, 0, end])
    assert np.abs(traj.w[1, 0, end] - traj.w[1, 0, half]).max() > 1e-3


def test_a_grid_of_schedules_is_one_compilation():
    problem = lambda tau: jaxgem.Problem(  # noqa: E731
        jaxgem.IIDGaussian(N=100),
        jaxgem.GaussianInit(2),
        jaxgem.GaussianInit(2),
        lr=1.0,
        schedule=jaxgem.PowerLaw(tau=tau),
    )
    jaxgem.simulate(problem([1.0, 10.0]), jax.random.key(0), t_max=1.0, n_records=3)
    traces = eqx.debug.get_num_traces(advance)
    jaxgem.simulate(problem([2.0, 20.0]), jax.random.key(0), t_max=1.0, n_records=3)
    assert eqx.debug.get_num_traces(advance) == traces


def _compare(traj, solution):
    mean_theory = np.asarray(solution.eg).mean(axis=1)
    gap = np.abs(traj.mean() - mean_theory)
    return gap <= 3 * traj.sem() + 1e-6, gap / traj.sem()


def test_power_law_schedule_spectral_simulation_follows_the_ode():
    """Sign hidden manifold, N = 500, 8 seeds, lr = 1.5 decaying with tau = 2, beta = 1 and
    0.5: the spectral ODE of every seed's start lies within 3 standard errors or 5 %."""
    data = jaxgem.HiddenManifold.random(jax.random.key(0), 500, 250, "sign")
    problem = jaxgem.Problem(
        data,
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit(2, "erf", std=0.5),
        lr=1.5,
        noise=0.3,
        schedule=jaxgem.PowerLaw(tau=2.0, beta=[1.0, 0.5]),
    )
    traj = jaxgem.simulate(problem, jax.random.key(1), t_max=10.0, n_records=11,
                           spacing="linear", seeds=8)  # fmt: skip
    solution = jaxgem.theory(traj)
    assert bool(jnp.all(solution.solved))
    mean_theory = np.asarray(solution.eg).mean(axis=1)
    gap = np.abs(traj.mean() - mean_theory)
    assert np.all((gap <= 3 * traj.sem()) | (gap <= 0.05 * mean_theory)), gap / traj.sem()


def test_schedule_parameters_are_differentiable(x64):
    """d eg(t = 3) / d tau through the iid ODE (forward mode, as the fit and the schedule
    design use it) against central differences."""
    start = jaxgem.OrderParameters(
        Q=0.3 * jnp.eye(2), R=0.1 * jnp.eye(2), T=jnp.eye(2), v=jnp.ones(2), A=jnp.ones(2)
    )

    def final_error(tau):
        problem = jaxgem.Problem(
            jaxgem.IIDGaussian(N=100),
            jaxgem.GaussianInit(2),
            jaxgem.GaussianInit(2),
            hyperparameters=jaxgem.Hyperparameters(
                1.0, noise=0.3, schedule=jaxgem.PowerLaw(tau, 1.0), dtype=jnp.float64
            ),
        )
        precise = diffrax.PIDController(rtol=1e-9, atol=1e-11)
        times = jnp.array([0.0, 3.0])
        return jaxgem.theory(
            problem, times, start=start, stepsize_controller=precise,
            adjoint=diffrax.ForwardMode(),
        ).eg[0, -1]  # fmt: skip

    gradient = jax.jacfwd(final_error)(2.0)
    h = 1e-5
    finite = (final_error(2.0 + h) - final_error(2.0 - h)) / (2 * h)
    assert abs(float(gradient)) > 1e-4
    assert float(gradient) == pytest.approx(float(finite), rel=1e-5)
