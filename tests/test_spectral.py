"""Spectral ODEs for generator inputs (THEORY.md Sec. 5)."""

import time

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem.data import Spectrum
from jaxgem.ode import coarse_grain, theory


def solve_spectral(data, teacher, student, times, *, train_second_layer=False, **options):
    """The theory of fixed networks on `data` (spectral for any data model but iid inputs)."""
    names = ("lr", "lr_v", "noise", "weight_decay", "batch_size")
    hyper = {k: options.pop(k) for k in names if k in options}
    problem = jaxgem.Problem(data, teacher, student, train_second_layer=train_second_layer, **hyper)
    return theory(problem, times, **options)


def test_with_identity_covariance_it_is_the_iid_ode():
    """Omega = I, Phi = I: the spectral ODEs reduce to THEORY.md Sec. 3."""
    N = 120
    iid = jaxgem.IIDGaussian(N=N)
    identity = jaxgem.GaussianEquivalent(jnp.eye(N), jnp.eye(N))  # a data model: spectral ODEs
    teacher = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(1), 2, N)
    student = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(2), 2, N, std=0.5)
    times = jnp.linspace(0, 5, 6)
    for train in (False, True):
        options = dict(lr=0.5, noise=0.1, train_second_layer=train)
        spectral = solve_spectral(identity, teacher, student, times, **options)
        reference = solve_spectral(iid, teacher, student, times, **options)
        np.testing.assert_allclose(spectral.eg[0, 0], reference.eg[0, 0], rtol=2e-5, atol=1e-7)
        np.testing.assert_allclose(spectral.Q[0, 0], reference.Q[0, 0], rtol=2e-5, atol=1e-6)


def test_initial_overlaps_are_those_of_the_networks():
    hmm = jaxgem.HiddenManifold.random(jax.random.key(0), 80, 40, "sign")
    teacher = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(1), 2, 40)
    student = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(2), 3, 80)
    sol = solve_spectral(hmm, teacher, student, jnp.array([0.0, 0.1]), lr=0.1)
    op = hmm.order_parameters(student, teacher)
    np.testing.assert_allclose(sol.Q[0, 0, 0], op.Q, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(sol.R[0, 0, 0], op.R, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(sol.T[0, 0], op.T, rtol=1e-5)


def test_coarse_graining_error_shrinks_with_more_bins():
    """Bins of equal count: 2, 20, 150 bins, and 300 (one per eigenvalue, exact)."""
    hmm = jaxgem.HiddenManifold.random(jax.random.key(3), 300, 150, "sign")
    teacher = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(4), 2, 150)
    student = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(5), 2, 300, std=0.2)
    times = jnp.array([0.0, 2.0, 10.0])
    spectrum = hmm.spectrum()
    exact = solve_spectral(hmm, teacher, student, times, lr=0.3, spectrum=spectrum).eg[0, 0]
    errors = [
        float(
            jnp.max(
                jnp.abs(
                    solve_spectral(
                        hmm, teacher, student, times, lr=0.3, spectrum=spectrum, n_bins=bins
                    ).eg[0, 0]
                    - exact
                )
            )
        )
        for bins in (2, 20, 150, 300)
    ]
    # (at very few bins the error is not monotone; from there on it falls, and one bin per
    # eigenvalue is the exact solution)
    assert errors[0] > errors[1] > errors[2] and errors[2] < 3e-3 * float(exact[-1])
    assert errors[3] < 1e-6
    with pytest.raises(ValueError, match="n_bins must lie between"):
        q = jnp.zeros((300, 2, 2))
        coarse_grain(spectrum, q, q, q, 0)


# The spectral ODEs against simulations of the sign hidden manifold at N = 1000 (batches 1 and
# 16, eta = 0.2 and 1): tests/test_minibatch.py.


def test_gradient_with_respect_to_the_spectrum(x64):
    """d eg(t) / d rho along a random direction (eigenvectors held fixed), forward-mode autodiff
    through diffrax against central differences (reverse mode: tests/test_ode.py)."""
    hmm = jaxgem.HiddenManifold.random(jax.random.key(6), 40, 20, "sign", dtype=jnp.float64)
    teacher = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(7), 2, 20, dtype=jnp.float64)
    student = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(8), 2, 40, std=0.3, dtype=jnp.float64)
    base = hmm.spectrum()
    direction = jax.random.normal(jax.random.key(9), base.rho.shape, jnp.float64)
    times = jnp.array([0.0, 2.0])

    def eg(step):
        spectrum = Spectrum(
            base.rho + step * direction, base.weights, base.eigenvectors, base.delta
        )
        precise = diffrax.PIDController(rtol=1e-10, atol=1e-12)
        return solve_spectral(
            hmm, teacher, student, times, lr=0.3, spectrum=spectrum,
            stepsize_controller=precise, adjoint=diffrax.ForwardMode(),
        ).eg[0, 0, -1]  # fmt: skip

    derivative = jax.jacfwd(eg)(0.0)
    eg = jax.jit(eg)  # one compiled solve for both differences
    h = 1e-5
    finite = (eg(h) - eg(-h)) / (2 * h)
    assert float(derivative) == pytest.approx(float(finite), rel=1e-5, abs=1e-10)


# ------------------------------------------------------------- large learning rates (eta to 2)
GRID = [0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]


def _sign_manifold(N, dtype=jnp.float32, lr=GRID):
    data = jaxgem.HiddenManifold.random(jax.random.key(0), N, N // 2, "sign", dtype=dtype)
    teacher = jaxgem.GaussianInit(2, "erf", dtype=dtype)
    student = jaxgem.GaussianInit.small(2, "erf", dtype=dtype)
    return jaxgem.Problem(data, teacher, student, lr=lr)


def test_default_solve_matches_euler_over_a_learning_rate_grid(x64):
    """Sign hidden manifold, N = 500, K = M = 2 erf from a small student, eta = 0.1 ... 2 in one
    grid: every run solves with the default adaptive solve, within seconds, and agrees with
    fixed-step Euler at dt = 0.002 to 1e-4 in eg, Euler's own O(dt) error removed by
    Richardson extrapolation with dt = 0.004 (measured 1.7e-5; 1.3e-5 with dt = 0.001 and
    0.002; raw Euler at dt = 0.002 is 1.6e-3 off at eta = 2, half of that at dt = 0.001).
    Before, the adaptive solve failed from eta = 1.5 on (Stein's coefficients were solved from
    `I3`, ill-conditioned for collinear fields)."""
    problem = _sign_manifold(500, jnp.float64)
    times = jnp.linspace(0.0, 20.0, 21)  # from eta = 1 on, the students specialise by t = 20
    spectrum = problem.data.spectrum()
    key = jax.random.key(1)
    start = time.perf_counter()
    default = theory(problem, times, key=key, spectrum=spectrum)
    elapsed = time.perf_counter() - start
    assert bool(jnp.all(default.solved)) and elapsed < 60, (default.status, elapsed)

    def euler(dt):
        fixed = dict(solver=diffrax.Euler(), stepsize_controller=diffrax.ConstantStepSize())
        # one step budget for both step sizes: one compilation
        return theory(
            problem, times, key=key, spectrum=spectrum, dt0=dt, max_steps=20_001, **fixed
        ).eg

    fine, coarse = euler(0.002), euler(0.004)
    extrapolated = 2 * fine - coarse
    np.testing.assert_allclose(default.eg, extrapolated, atol=1e-4)
    assert float(jnp.max(jnp.abs(default.eg - fine))) < 2e-3  # Euler's own O(dt) error


def test_a_failing_solve_stops_within_seconds_and_says_why():
    """A tolerance float32 cannot meet makes the adaptive controller shrink its steps without
    end: the default step budget (128 steps per unit of time) stops it in seconds, per run,
    and the report says why."""
    problem = _sign_manifold(100, lr=[0.5, 2.0])
    impossible = diffrax.PIDController(rtol=1e-12, atol=1e-14)
    start = time.perf_counter()
    solution = theory(
        problem, jnp.linspace(0.0, 10.0, 11), key=jax.random.key(1), stepsize_controller=impossible
    )
    assert time.perf_counter() - start < 30
    assert np.all(np.asarray(solution.status) == 2)
    lines = solution.report()
    assert len(lines) == 2 and "step budget" in lines[0] and "max_steps" in lines[0]
