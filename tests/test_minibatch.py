"""Mini-batches: the variance (`eta^2`) terms of the ODEs shrink by `1 / B` exactly as the
simulation's step averages `B` gradients, time counting steps (`t = steps / N`); batch sizes are
an array hyperparameter, so a batch sweep is one compiled call (THEORY.md Sec. 1, 3, 5)."""

import jax
import numpy as np
import pytest

import jaxgem


def _agree(traj, predicted, floor=1e-6):
    """Seed-averaged simulation and theory within three standard errors at every record."""
    gap = np.abs(traj.mean() - predicted)
    assert np.all(gap <= 3 * traj.sem() + floor), gap / traj.sem()


@pytest.mark.slow
def test_iid_batches_of_1_16_and_256_follow_the_theory():
    """iid inputs, N = 1000, K = M = 2 erf, students informed by the teacher (overlap 0.3),
    eta = 0.5 and 3 with batches of 1, 16 and 256: six runs in one compiled call, 8 seeds,
    simulation and theory within three standard errors at every record to t = 0.5. At eta = 3
    the batch decides the outcome: the batch-1 error stays several times above the larger
    batches'."""
    problem = jaxgem.Problem(
        jaxgem.IIDGaussian(N=1000),
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.InformedInit(2, "erf", overlap=0.3),
        lr=[0.5, 3.0],
        batch_size=[1, 16, 256],
        product=True,
    )
    traj = jaxgem.simulate(problem, jax.random.key(0), t_max=0.5, n_records=6, seeds=8)
    predicted = np.asarray(jaxgem.theory(traj).eg).mean(axis=1)
    _agree(traj, predicted)
    final = traj.mean()[:, -1]  # runs: (0.5, 1), (0.5, 16), (0.5, 256), (3, 1), (3, 16), (3, 256)
    assert final[3] > 3 * final[4] and final[3] > 3 * final[5]
    assert predicted[3, -1] > 3 * predicted[4, -1]


@pytest.mark.slow
def test_hidden_manifold_batches_follow_the_spectral_theory():
    """Sign hidden manifold (N = 1000, D = 500), K = M = 2 erf from small students (std 0.1):
    eta = 0.2 and 1 with batch 1, and eta = 1 with batch 16, in one compiled call; the spectral
    ODEs from each seed's weights within three standard errors of the simulation at every record,
    the students learn, and the batch-1 theory is far from the batch-16 simulation."""
    hmm = jaxgem.HiddenManifold.random(jax.random.key(11), 1000, 500, "sign")
    problem = jaxgem.Problem(
        hmm,
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit(2, "erf", std=0.1),
        lr=[0.2, 1.0, 1.0],
        batch_size=[1, 1, 16],
    )
    traj = jaxgem.simulate(problem, jax.random.key(0), t_max=10.0, n_records=8, seeds=4)
    predicted = np.asarray(jaxgem.theory(traj).eg).mean(axis=1)
    _agree(traj, predicted)
    start, final = traj.mean()[:, 0], traj.mean()[:, -1]  # eta = 1 learns by t = 10:
    assert final[1] < 0.7 * start[1] and final[2] < 0.5 * start[2]  # measured 0.58, 0.34
    batch_16, theory_1 = traj.mean()[2, -1], predicted[1, -1]
    assert abs(theory_1 - batch_16) > 10 * traj.sem()[2, -1]
