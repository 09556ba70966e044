"""Designing a learning-rate schedule by gradient through the ODEs (`jaxgem.design_schedule`),
checked against the best constant rate in the theory and in simulation."""

import jax
import numpy as np
import pytest

import jaxgem

NOISE, T_FINAL = 0.5, 50.0


def _problem(hyperparameters):
    return jaxgem.Problem(
        jaxgem.IIDGaussian(N=1000),
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit(2, "erf", std=0.1),
        hyperparameters,
    )


@pytest.mark.slow
def test_designed_decay_beats_the_best_constant_rate_in_theory_and_simulation():
    """iid inputs, K = M = 2 erf, label noise 0.5, eg at t = 50. The best constant rate: a
    log grid of 64 rates (one vmapped solve; BFGS through the ODE refines it by under 0.1 %,
    scripts/design_schedule.py). The 1/t family lr / (1 + t / tau) designed by BFGS through the
    ODE from lr = 4 x the best constant, tau = 3. The designed schedule has a lower eg in the
    theory (by more than 10 %; measured 0.0141 against 0.0169) and in simulation (N = 1000, 8
    seeds, common inputs: by more than 5 standard errors of the paired difference; measured
    31), and the simulation agrees with the theory within 3 standard errors for both."""
    key = jax.random.key(0)
    grid = np.geomspace(0.02, 2.0, 64)
    sweep = jaxgem.theory(_problem(jaxgem.Hyperparameters(lr=grid, noise=NOISE)),
                          np.array([0.0, T_FINAL]), key=key)  # fmt: skip
    errors = np.asarray(sweep.eg)[:, 0, -1]
    best, best_error = float(grid[np.nanargmin(errors)]), float(np.nanmin(errors))
    family = _problem(
        jaxgem.Hyperparameters(lr=4 * best, noise=NOISE, schedule=jaxgem.PowerLaw(3.0, 1.0))
    )
    decay = jaxgem.design_schedule(family, T_FINAL, {"lr": 4 * best, "schedule.tau": 3.0}, key=key)
    assert decay.converged, decay.summary()
    assert decay.eg_final < 0.9 * best_error, (decay.summary(), best, best_error)

    # both in one simulation: the constant rate is the power law with beta = 0
    both = _problem(
        jaxgem.Hyperparameters(
            lr=[float(decay.values["lr"]), best],
            noise=NOISE,
            schedule=jaxgem.PowerLaw(
                tau=[float(decay.values["schedule.tau"]), 1.0], beta=[1.0, 0.0]
            ),  # fmt: skip
        )
    )
    traj = jaxgem.simulate(both, jax.random.key(1), t_max=T_FINAL, n_records=6,
                           spacing="linear", seeds=8)  # fmt: skip
    final = traj.eg[:, :, -1]
    difference = final[0] - final[1]
    assert difference.mean() < -5 * difference.std(ddof=1) / np.sqrt(8), final
    predicted = np.asarray(jaxgem.theory(traj).eg)[:, :, -1].mean(1)
    sem = final.std(1, ddof=1) / np.sqrt(8)
    assert np.all(np.abs(final.mean(1) - predicted) < 3 * sem), (final.mean(1), predicted, sem)


def test_design_bad_input_gets_clear_errors():
    problem = _problem(jaxgem.Hyperparameters(lr=0.1, noise=NOISE))
    with pytest.raises(ValueError, match=r"cannot fit 'schedule.tau'; this problem can fit lr"):
        jaxgem.design_schedule(problem, T_FINAL, {"schedule.tau": 1.0})
    with pytest.raises(ValueError, match=r"t_final must be positive"):
        jaxgem.design_schedule(problem, -1.0, {"lr": 0.1})
    with pytest.raises(ValueError, match=r"free\['lr'\] must be positive"):
        jaxgem.design_schedule(problem, T_FINAL, {"lr": 0.0})
    with pytest.raises(ValueError, match=r"free\['lr'\] must be a number or numbers"):
        jaxgem.design_schedule(problem, T_FINAL, {"lr": "fast"})
