"""Order-parameter ODEs (THEORY.md Sec. 3): reference facts, solvers, gradients, and agreement
with simulations."""

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem.ode import solve_runs, steady_state, theory


def committee(Q, R, v=(1.0, 1.0)):
    return jaxgem.OrderParameters(
        Q=jnp.asarray(Q), R=jnp.asarray(R), T=jnp.eye(2), v=jnp.asarray(v), A=jnp.ones(2)
    )


def iid(activation="erf", K=2, M=2, train_second_layer=False, **hyperparameters):
    """An iid problem of K students and M teachers (the ODE needs their activations)."""
    return jaxgem.Problem(
        jaxgem.IIDGaussian(N=1000),
        jaxgem.GaussianInit(M, activation),
        jaxgem.GaussianInit(K, activation),
        train_second_layer=train_second_layer,
        **hyperparameters,
    )


def solve(start, times, *, activation="erf", train_second_layer=False, **options):
    """The iid ODE from order parameters, one hyperparameter run: `eg` of shape `(R,)`."""
    names = ("lr", "lr_v", "noise", "weight_decay", "batch_size")
    hyper = {k: options.pop(k) for k in names if k in options}
    K, M = start.v.shape[-1], start.A.shape[-1]
    problem = iid(activation, K, M, train_second_layer, **hyper)
    s = theory(problem, times, start=start, **options)
    return jaxgem.ODESolution(
        t=s.t, Q=s.Q[0], R=s.R[0], v=s.v[0], T=s.T[0], A=s.A[0], eg=s.eg[0], status=s.status[0]
    )


def precise(rtol, atol):
    return dict(stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol))


def test_soft_committee_plateau_and_escape():
    """K = M = 2, erf, eta = 0.5, v = A = 1, T = I, almost symmetric start: a long plateau with
    eg in 0.0146-0.0150, then perfect learning."""
    start = committee([[0.2, 0.01], [0.01, 0.2]], [[1.1e-3, 1e-3], [1e-3, 1e-3]])
    sol = solve(start, jnp.array([0.0, 20, 50, 100, 1000]), activation="erf", lr=0.5)
    plateau = np.asarray(sol.eg[1:4])
    assert np.all((plateau > 0.0146) & (plateau < 0.0150)), plateau
    assert float(sol.eg[-1]) < 1e-4


@pytest.mark.parametrize("eta, tolerance", [(0.05, 0.03), (0.02, 0.015)])
def test_small_noise_asymptote(eta, tolerance):
    """eg_inf -> eta sigma^2 M / (2 sqrt(3) pi) as eta -> 0 (Goldt et al., NeurIPS 2019); the
    relative gap shrinks linearly with eta."""
    sigma, M = 0.1, 2
    start = committee(jnp.eye(2), 0.99 * jnp.eye(2))
    sol = solve(
        start, jnp.array([0.0, 200 / eta, 400 / eta]), activation="erf", lr=eta, noise=sigma
    )
    predicted = eta * sigma**2 * M / (2 * math.sqrt(3) * math.pi)
    assert float(sol.eg[-1]) == pytest.approx(float(sol.eg[-2]), rel=5e-3)  # converged (float32)
    assert float(sol.eg[-1]) / predicted == pytest.approx(1.0, abs=tolerance)


def test_linear_networks_converge_exponentially():
    op = jaxgem.OrderParameters(Q=[[1.0]], R=[[0.0]], T=[[1.0]], v=[1.0], A=[1.0])
    times = jnp.linspace(0, 20, 11)
    sol = solve(op, times, activation="linear", lr=0.3)
    log_eg = np.log(np.asarray(sol.eg[2:]))
    slopes = np.diff(log_eg) / np.diff(np.asarray(times[2:]))
    assert np.all(slopes < -0.1)
    np.testing.assert_allclose(slopes, slopes.mean(), rtol=0.02)


def test_euler_mirrors_the_adaptive_solver():
    start = committee([[0.5, 0.1], [0.1, 0.4]], [[0.3, 0.1], [0.0, 0.2]])
    times = jnp.linspace(0, 10, 6)
    adaptive = solve(start, times, activation="erf", lr=0.5, noise=0.1)
    euler = solve(
        start, times, activation="erf", lr=0.5, noise=0.1, solver=diffrax.Euler(),
        stepsize_controller=diffrax.ConstantStepSize(), dt0=0.002,
    )  # fmt: skip
    np.testing.assert_allclose(euler.eg, adaptive.eg, rtol=2e-3)


def test_a_grid_runs_in_one_compiled_call():
    start = committee([[0.5, 0.1], [0.1, 0.4]], [[0.3, 0.1], [0.0, 0.2]])
    times = jnp.linspace(0, 5, 4)
    grid = theory(
        iid(lr=np.linspace(0.1, 1.0, 8), noise=[0.0, 0.2], product=True), times, start=start
    )
    assert grid.eg.shape == (8 * 2, 4)
    before = eqx.debug.get_num_traces(solve_runs)
    again = theory(
        iid(lr=np.linspace(0.2, 2.0, 8), noise=[0.1, 0.3], product=True), times, start=start
    )
    assert eqx.debug.get_num_traces(solve_runs) == before
    single = solve(start, times, activation="erf", lr=2.0, noise=0.3)
    np.testing.assert_allclose(again.eg[-1], single.eg, rtol=1e-5)


def test_gradients_match_finite_differences(x64):
    """d eg(t) / d (lr, noise, initial R) by autodiff through diffrax against central
    differences."""
    times = jnp.array([0.0, 3.0])

    def eg(lr, noise, r):
        start = jaxgem.OrderParameters(
            Q=jnp.array([[0.5, 0.1], [0.1, 0.4]]),
            R=jnp.array([[r, 0.1], [0.0, 0.2]]),
            T=jnp.eye(2),
            v=jnp.ones(2),
            A=jnp.ones(2),
        )
        return solve(
            start, times, activation="erf", lr=lr, noise=noise, **precise(1e-10, 1e-12)
        ).eg[-1]

    point = (0.7, 0.2, 0.3)
    gradient = jax.jit(jax.grad(eg, argnums=(0, 1, 2)))(*point)
    eg = jax.jit(eg)  # one compiled solve for the six differences
    h = 1e-5
    for i in range(3):
        up = list(point)
        down = list(point)
        up[i] += h
        down[i] -= h
        finite = (eg(*up) - eg(*down)) / (2 * h)
        assert float(gradient[i]) == pytest.approx(float(finite), rel=1e-5, abs=1e-9)


def test_classical_regime_drops_the_variance_term():
    start = committee(jnp.eye(2), 0.99 * jnp.eye(2))
    times = jnp.array([0.0, 500.0])
    flow = solve(start, times, activation="erf", lr=0.1, noise=0.5, second_order=False)
    noisy = solve(start, times, activation="erf", lr=0.1, noise=0.5)
    assert float(flow.eg[-1]) < 1e-5 < float(noisy.eg[-1])


def test_bad_input_is_named():
    start = committee(jnp.eye(2), jnp.eye(2))
    with pytest.raises(TypeError, match="solver must be a diffrax"):
        solve(start, jnp.array([0.0, 1.0]), activation="erf", lr=0.1, solver="rk99")
    with pytest.raises(ValueError, match="strictly increasing"):
        solve(start, jnp.array([0.0, 2.0, 1.0]), activation="erf", lr=0.1)
    with pytest.raises(ValueError, match="non-negative"):
        solve(start, jnp.array([0.0, 1.0]), activation="erf", lr=0.1, noise=-1.0)
    with pytest.raises(ValueError, match="unknown activation"):
        solve(start, jnp.array([0.0, 1.0]), activation="swish", lr=0.1)


def _simulation(train_second_layer, noise, seeds=4, t_max=10.0):
    problem = jaxgem.Problem(
        jaxgem.IIDGaussian(N=1000),
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.InformedInit(2, "erf", overlap=0.3),
        lr=0.5,
        noise=noise,
        train_second_layer=train_second_layer,
    )
    return jaxgem.simulate(problem, jax.random.key(3), t_max=t_max, n_records=12, seeds=seeds)


@pytest.mark.slow
@pytest.mark.parametrize("train_second_layer", [False, True], ids=["first-layer", "both-layers"])
def test_theory_agrees_with_simulation_at_N_1000(train_second_layer):
    """iid inputs, N = 1000, K = M = 2, erf, eta = 0.5, with and without output noise: the
    seed-averaged simulation and the ODE started from each seed's own initial order parameters
    agree within three standard errors or 5 %."""
    traj = _simulation(train_second_layer, noise=[0.0, 0.3])
    predicted = theory(traj)
    assert predicted.eg.shape == traj.eg.shape
    mean_theory = np.asarray(predicted.eg).mean(axis=1)
    gap = np.abs(traj.mean() - mean_theory)
    allowed = np.maximum(3 * traj.sem(), 0.05 * mean_theory)
    assert np.all(gap <= allowed), gap / allowed
    assert np.all(traj.mean()[:, -1] < 0.5 * traj.mean()[:, 0])  # it learned


def test_spectral_theory_refuses_order_parameters():
    """Generator inputs need the weights' projections on every eigenvector, not only (Q, R)."""
    hmm = jaxgem.HiddenManifold.random(jax.random.key(0), 40, 20)
    problem = jaxgem.Problem(hmm, jaxgem.GaussianInit(2), jaxgem.GaussianInit(2), lr=0.1)
    start = committee(jnp.eye(2), jnp.eye(2))
    with pytest.raises(ValueError, match="starts from the networks' weights"):
        theory(problem, jnp.array([0.0, 1.0]), start=start)
    with pytest.raises(ValueError, match="pass key="):
        theory(problem, jnp.array([0.0, 1.0]))


@pytest.mark.parametrize("train_second_layer", [False, True], ids=["first-layer", "both-layers"])
def test_steady_state_matches_the_long_time_solution(train_second_layer):
    """Newton on the vector field (optimistix) finds the noisy fixed point the ODE reaches, and
    for the first layer alone it is within 3 % of the small-noise formula at eta = 0.05."""
    eta, sigma = (0.05, 0.1) if not train_second_layer else (0.5, 0.3)
    start = committee(jnp.eye(2), jnp.eye(2))
    problem = iid("erf", lr=eta, noise=sigma, train_second_layer=train_second_layer)
    fixed = jax.tree.map(lambda a: a[0], steady_state(problem, start))  # the one run
    assert bool(fixed.converged) and float(fixed.residual) < 1e-6
    long_time = solve(
        start,
        jnp.array([0.0, 300 / eta]),
        activation="erf",
        lr=eta,
        noise=sigma,
        train_second_layer=train_second_layer,
    )
    assert float(fixed.eg) == pytest.approx(float(long_time.eg[-1]), rel=5e-3)
    if not train_second_layer:
        predicted = eta * sigma**2 * 2 / (2 * math.sqrt(3) * math.pi)
        assert float(fixed.eg) / predicted == pytest.approx(1.0, abs=0.03)
