"""The online-SGD engine: the update rule, reproducibility, compilation, statistics, robustness."""

import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem.online import advance, observe, sgd_step
from jaxgem.online import driver as simulate_module

N = 100
HYPERPARAMETERS = ("lr", "lr_v", "noise", "weight_decay", "batch_size", "product")


def teacher_init(key, N=N, activation="erf"):
    return jaxgem.TwoLayerNetwork.gaussian(key, 2, N, activation)


def student_init(key, N=N, activation="erf"):
    return jaxgem.TwoLayerNetwork.gaussian(key, 2, N, activation, std=0.3)


def run(key=0, **kwargs):
    """A small iid problem, simulated: hyperparameters and networks by keyword."""
    options = dict(lr=0.5, t_max=3.0, n_records=8, seeds=2)
    options.update(kwargs)
    problem = jaxgem.Problem(
        options.pop("data", jaxgem.IIDGaussian(N=N)),
        options.pop("teacher", teacher_init),
        options.pop("student", student_init),
        train_second_layer=options.pop("train_second_layer", False),
        **{k: options.pop(k) for k in HYPERPARAMETERS if k in options},
    )
    return jaxgem.simulate(problem, jax.random.key(key), **options)


# ------------------------------------------------------------------------------- the update rule
@pytest.mark.parametrize("train_second_layer", [False, True])
@pytest.mark.parametrize("scaling", ["1", "1/sqrt(K)"])
def test_sgd_step_is_theory_section_1(x64, train_second_layer, scaling):
    """One mini-batch step against a NumPy transcription of THEORY.md Sec. 1."""
    rng = np.random.default_rng(0)
    K, N, B = 3, 40, 5
    w, v = rng.normal(size=(K, N)), rng.normal(size=K)
    x, target, xi = rng.normal(size=(B, N)), rng.normal(size=B), rng.normal(size=B)
    lr, lr_v, noise, decay = 0.7, 0.3, 0.2, 0.05
    student = jaxgem.TwoLayerNetwork(w, v, "erf", scaling)
    hyper = jaxgem.Hyperparameters(lr, lr_v, noise, decay, B, dtype=jnp.float64)
    hyper = jax.tree.map(lambda a: a[0], hyper)  # one run
    new = sgd_step(
        student, jnp.asarray(x), jnp.asarray(target), jnp.asarray(xi), hyper, train_second_layer
    )

    s = student.output_scale
    lam = x @ w.T / math.sqrt(N)
    g = np.asarray(jax.scipy.special.erf(lam / math.sqrt(2)))
    gp = math.sqrt(2 / math.pi) * np.exp(-(lam**2) / 2)
    e = target + noise * xi - g @ (s * v)
    w_ref = w + lr / math.sqrt(N) * ((s * v) * gp * e[:, None]).T @ x / B - decay / N * w
    v_ref = v + lr_v / N * s * (g * e[:, None]).mean(0) - decay / N * v if train_second_layer else v
    np.testing.assert_allclose(new.w, w_ref, rtol=1e-12)
    np.testing.assert_allclose(new.v, v_ref, rtol=1e-12)


# ----------------------------------------------------------------------- reproducibility, tracing
def test_same_key_same_numbers():
    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a.eg, b.eg)
    np.testing.assert_array_equal(a.Q, b.Q)
    assert not np.allclose(a.eg[:, :, 1:], c.eg[:, :, 1:])


def test_a_seed_gives_the_same_numbers_whatever_runs_beside_it():
    alone = run(0, seeds=[3])
    together = run(0, seeds=[0, 1, 2, 3])
    np.testing.assert_allclose(alone.eg[:, 0], together.eg[:, 3], rtol=1e-5)


def test_new_learning_rate_does_not_recompile():
    run(0, lr=0.1)
    before = [eqx.debug.get_num_traces(f) for f in (advance, observe)]
    run(0, lr=0.37, noise=0.2, weight_decay=0.01)
    run(5, lr=1.3)
    assert [eqx.debug.get_num_traces(f) for f in (advance, observe)] == before


def test_hyperparameter_grid_runs_in_one_call_and_matches_single_runs():
    grid = run(0, lr=[0.2, 0.8], noise=[0.0, 0.3], product=True)
    assert grid.eg.shape[:2] == (4, 2)
    np.testing.assert_allclose(grid.hyperparameters["lr"], [0.2, 0.2, 0.8, 0.8])
    single = run(0, lr=0.8, noise=0.3)
    np.testing.assert_allclose(grid.eg[3], single.eg[0], rtol=1e-5)


# --------------------------------------------------------------------------------- statistics
def test_order_parameter_error_agrees_with_the_test_set_estimate():
    """eg from (Q, R, T, v, A) and eg on 20000 held-out samples, within 4 standard errors."""
    data = jaxgem.IIDGaussian(N=200)
    problem = jaxgem.Problem(
        data, lambda k: teacher_init(k, 200), lambda k: student_init(k, 200), lr=0.5
    )
    traj = jaxgem.simulate(
        problem, jax.random.key(0), t_max=5.0, n_records=6, seeds=3, test_set_size=20_000
    )
    gap = np.abs(traj.eg - traj.eg_test)
    assert np.all(gap < 4 * traj.eg_test_sem + 1e-6), (gap / traj.eg_test_sem).max()


def test_soft_committee_machine_plateau():
    """THEORY.md Sec. 3: K = M = 2, erf, eta = 0.5, small initial weights, plateau near
    eg = 0.0146-0.0150 (here N = 500, seed-averaged simulation, t in [12, 30])."""
    data = jaxgem.IIDGaussian(N=500)
    problem = jaxgem.Problem(
        data, lambda k: teacher_init(k, 500), jaxgem.GaussianInit.small(2, "erf"), lr=0.5
    )
    traj = jaxgem.simulate(problem, jax.random.key(0), times=np.linspace(12, 30, 7), seeds=3)
    plateau = traj.mean()[0, 1:]
    assert np.all((plateau > 0.0138) & (plateau < 0.0158)), plateau


def test_mini_batches_and_second_layer_training():
    traj = run(0, batch_size=4, train_second_layer=True, lr=0.8, lr_v=0.4, t_max=4.0)
    assert traj.hyperparameters["batch_size"].tolist() == [4]
    assert not np.allclose(traj.v[0, 0, -1], traj.v[0, 0, 0])
    assert traj.mean()[0, -1] < traj.mean()[0, 0]
    frozen = run(0)
    np.testing.assert_array_equal(frozen.v[0, 0, -1], frozen.v[0, 0, 0])


@pytest.mark.slow
def test_hidden_manifold_and_its_gaussian_equivalent_agree_at_N_1000():
    """THEORY.md Sec. 4: online learning on the sign hidden manifold (N = 1000, D = 500) and on
    its Gaussian equivalent agree within error; eg from the order parameters agrees with the
    test-set estimate on the generator's own data."""
    hidden = jaxgem.HiddenManifold.random(jax.random.key(11), 1000, 500, "sign")
    equivalent = jaxgem.GaussianEquivalent.of(hidden)
    teacher = jaxgem.GaussianInit(2, "erf")
    student = jaxgem.GaussianInit(2, "erf", std=0.1)
    common = dict(t_max=8.0, n_records=8, seeds=6)
    a = jaxgem.simulate(
        jaxgem.Problem(hidden, teacher, student, lr=0.2), jax.random.key(0), test_set_size=10_000,
        **common,
    )  # fmt: skip
    b = jaxgem.simulate(
        jaxgem.Problem(equivalent, teacher, student, lr=0.2), jax.random.key(0), **common
    )
    later = a.t >= 0.5
    gap = np.abs(a.mean()[0] - b.mean()[0])[later]
    error = np.hypot(a.sem()[0], b.sem()[0])[later]
    assert np.all(gap < 3 * error), gap / error
    assert a.mean()[0, -1] < 0.8 * a.mean()[0, 1]  # it learned something
    test_gap = np.abs(a.eg - a.eg_test)
    assert np.all(test_gap < 4 * a.eg_test_sem + 1e-6), (test_gap / a.eg_test_sem).max()


# --------------------------------------------------------------------------------- robustness
def test_divergent_runs_are_reported_and_the_others_keep_their_results():
    linear = dict(
        teacher=lambda k: teacher_init(k, N, "linear"),
        student=lambda k: student_init(k, N, "linear"),
    )
    with pytest.warns(RuntimeWarning, match=r"lr=8, .*seed=1 at t="):
        sweep = run(0, lr=[0.3, 8.0], **linear)
    assert sweep.healthy[0].all() and not sweep.healthy[1].any()
    assert np.all(np.isfinite(sweep.diverged_at[1]))
    assert np.all(np.isnan(sweep.diverged_at[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        alone = run(0, lr=0.3, **linear)
    np.testing.assert_allclose(sweep.eg[0], alone.eg[0], rtol=1e-5)
    assert len(sweep.divergence_report()) == 2
    assert np.all(np.isfinite(sweep.mean()[0]))


def test_interrupted_run_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    reference = run(0, n_records=10)
    calls = {"n": 0}
    original = simulate_module.observe

    def interrupting_observe(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(simulate_module, "observe", interrupting_observe)
    with pytest.raises(KeyboardInterrupt):
        run(0, n_records=10, checkpoint=path)  # saved on interruption
    monkeypatch.setattr(simulate_module, "observe", original)

    partial = jaxgem.Trajectory.load(path)
    assert 1 < partial.completed < len(reference.t)
    np.testing.assert_array_equal(
        partial.eg[:, :, : partial.completed], reference.eg[:, :, : partial.completed]
    )
    assert np.all(np.isnan(partial.eg[:, :, partial.completed :]))

    resumed = run(0, n_records=10, checkpoint=path)
    np.testing.assert_array_equal(resumed.eg, reference.eg)
    np.testing.assert_array_equal(resumed.Q, reference.Q)
    with pytest.raises(ValueError, match="written by a different run"):
        run(0, n_records=10, checkpoint=path, lr=0.1)


def test_trajectory_files_round_trip(tmp_path):
    traj = run(0, test_set_size=500)
    traj.save(tmp_path / "t.npz")
    back = jaxgem.Trajectory.load(tmp_path / "t.npz")
    for name in ("t", "eg", "Q", "R", "v", "T", "A", "eg_test", "seeds"):
        np.testing.assert_array_equal(getattr(back, name), getattr(traj, name))
    assert back.metadata["fingerprint"] == traj.metadata["fingerprint"]
    assert isinstance(back.problem, jaxgem.Problem) and back.problem.K == 2
    rows = traj.rows(curve="x")
    assert len(rows) == len(traj.t) and rows[0]["curve"] == "x" and "eg_test_mean" in rows[0]
    op = back.order_parameters(0, 1)
    np.testing.assert_allclose(
        jaxgem.generalisation_error(op, jaxgem.Erf()), traj.eg[0, 1], rtol=1e-5
    )
    assert traj.metadata["device"].startswith(jax.devices()[0].platform)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(seeds=0), "seeds must be a positive"),
        (dict(seeds=[1, 1]), "seeds must be distinct"),
        (dict(batch_size=0), "batch_size must be a positive"),
        (dict(test_set_size=-1), "test_set_size must be a non-negative"),
        (dict(t_max=None), "t_max must be a positive"),
        (dict(noise=-0.1), "noise must be non-negative"),
        (dict(lr=[0.1, 0.2], noise=[0.0, 0.1, 0.2]), "equal lengths"),
        (dict(lr=float("nan")), "lr must be finite"),
        (dict(student=lambda k: student_init(k, 50)), "student reads N=50"),
        (dict(teacher=lambda k: teacher_init(k, 50)), "teacher reads vectors of dimension 50"),
        (dict(spacing="cubic"), "spacing must be"),
    ],
)
def test_bad_simulation_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run(0, **kwargs)


@pytest.mark.parametrize("spacing", ["log", "linear"])
def test_two_records_are_the_start_and_t_max(spacing):
    """Regression: with n_records = 2 the log spacing recorded only the first block."""
    from jaxgem.online.schedule import record_blocks

    blocks = record_blocks(3072, 128, t_max=0.5, n_records=2, spacing=spacing)
    np.testing.assert_array_equal(blocks, [0, 12])
