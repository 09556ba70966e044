"""The problem object shared by simulation and theory: validation once at construction, checks
that survive jit, one theory entry point dispatching on the data model's type, trajectories that
carry their problem through files, and no module-level state."""

import copy
import subprocess
import sys
import textwrap
import types

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem

N = 100


def _problem(**changes):
    options = dict(
        data=jaxgem.IIDGaussian(N=N),
        teacher=jaxgem.GaussianInit(2, "erf"),
        student=jaxgem.GaussianInit(2, "erf", std=0.3),
        lr=0.5,
    )
    options.update(changes)
    return jaxgem.Problem(**options)


@pytest.mark.parametrize(
    "changes, error, message",
    [
        (dict(lr=-0.1), ValueError, "lr must be finite and positive, got -0.1"),
        (dict(lr=float("nan")), ValueError, "lr must be finite and positive"),
        (dict(noise=-1.0), ValueError, "noise must be non-negative"),
        (dict(weight_decay=[0.0, -1.0]), ValueError, "weight_decay must be non-negative"),
        (dict(batch_size=0), ValueError, "batch_size must be a positive integer"),
        (dict(batch_size=2.5), ValueError, "batch_size must be a positive integer"),
        (dict(lr=[0.1, 0.2], noise=[0.0, 0.1, 0.2]), ValueError, "equal lengths"),
        (dict(lr=[]), ValueError, "lr must be a number or a non-empty list"),
        (dict(lr="fast"), ValueError, "lr must be a number or a list of numbers"),
        (dict(data="iid"), TypeError, "Problem.data must be a jaxgem data model"),
        (dict(teacher=3.0), TypeError, "a teacher or student must be a TwoLayerNetwork"),
        (
            dict(student=lambda k: jaxgem.TwoLayerNetwork.gaussian(k, 2, 50)),
            ValueError,
            "the student reads N=50 inputs",
        ),
        (
            dict(data=jaxgem.HiddenManifoldLimit(0.5), student=lambda k: None),
            TypeError,
            "needs the student as a NetworkInit",
        ),
    ],
)
def test_a_problem_is_validated_once_with_errors_that_name_the_field(changes, error, message):
    with pytest.raises(error, match=message):
        _problem(**changes)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        jaxgem.GaussianInit(2, "swish")


def test_hyperparameter_checks_survive_jit():
    """Traced hyperparameters (as when fitting theory by gradient) are checked when the
    computation runs: a negative learning rate stops it with the same message."""
    start = jaxgem.OrderParameters(
        Q=0.5 * jnp.eye(2), R=0.1 * jnp.eye(2), T=jnp.eye(2), v=jnp.ones(2), A=jnp.ones(2)
    )

    @jax.jit
    def final_error(lr):
        return jaxgem.theory(_problem(lr=lr), jnp.array([0.0, 1.0]), start=start).eg[0, -1]

    assert np.isfinite(float(final_error(0.5)))
    with pytest.raises(Exception, match="lr must be finite and positive"):
        jax.block_until_ready(final_error(-0.5))


def test_sweeps_are_arrays_and_runs_are_described():
    hyper = jaxgem.Hyperparameters([0.1, 0.5], batch_size=[1, 16], product=True)
    assert hyper.size == 4 and hyper.batch_size.dtype == jnp.int32
    assert hyper.describe(3) == "lr=0.5, lr_v=0.5, noise=0, weight_decay=0, batch_size=16"
    np.testing.assert_array_equal(hyper.table()["lr"], [0.1, 0.1, 0.5, 0.5])  # decimals, not f32
    assert _problem(lr=[0.1, 0.2]).hyperparameters.size == 2
    with pytest.raises(ValueError, match="not both"):
        jaxgem.Problem(jaxgem.IIDGaussian(N=N), jaxgem.GaussianInit(2), jaxgem.GaussianInit(2),
                       hyper, lr=0.1)  # fmt: skip


def test_one_problem_gives_every_theory_by_the_type_of_its_data():
    """The same teacher, student and hyperparameters on iid inputs (Saad-Solla), on a sign
    hidden manifold (spectral, from the weights) and on its N, D -> infinity limit
    (Marchenko-Pastur nodes, from order parameters): one call, `jaxgem.theory`, by the type of
    the data (with Omega = Phi = I the spectral ODEs equal Saad-Solla: test_spectral.py)."""
    times = jnp.linspace(0, 3, 4)
    key = jax.random.key(0)
    iid = _problem(data=jaxgem.IIDGaussian(N=60))
    assert jaxgem.theory(iid, times, key=key, seeds=2).eg.shape == (1, 2, 4)
    hmm = jaxgem.HiddenManifold.random(jax.random.key(1), 120, 60, "sign")
    sampled = jaxgem.theory(iid.replace(data=hmm), times, key=key, seeds=2)
    start = jax.tree.map(lambda a: a[0, :, 0], sampled.order_parameters())
    limit = jaxgem.theory(iid.replace(data=hmm.limit()), times, start=start)
    assert sampled.eg.shape == limit.eg.shape == (1, 2, 4)
    np.testing.assert_allclose(limit.Q[:, :, 0], sampled.Q[:, :, 0], rtol=1e-5, atol=1e-7)
    # a finite sign HMM at N = 120 is O(1/sqrt D) from its limit, not more
    np.testing.assert_allclose(limit.eg, sampled.eg, rtol=0.2)
    with pytest.raises(ValueError, match="cannot be simulated"):
        jaxgem.simulate(iid.replace(data=hmm.limit()), key, t_max=1.0)


def test_a_custom_activation_survives_save_and_load_into_a_fresh_process(tmp_path):
    """simulate -> save -> load (in another Python process, where the user's function does not
    exist) -> theory, with nothing passed again; the theory agrees with the simulation. (One
    unit each: a user function's ODE integrals are four-dimensional quadratures, whose cost grows
    with the number of index tuples.)"""
    arctan = jaxgem.Custom(lambda x: jnp.arctan(x), label="arctan")  # pickled by value
    problem = _problem(
        data=jaxgem.IIDGaussian(N=500),
        teacher=jaxgem.GaussianInit(1, arctan),
        student=jaxgem.InformedInit(1, arctan, overlap=0.3),
        lr=0.8,
    )
    traj = jaxgem.simulate(problem, jax.random.key(0), t_max=4.0, n_records=5, seeds=8)
    here = np.asarray(jaxgem.theory(traj).eg)
    path = traj.save(tmp_path / "arctan.npz")
    script = textwrap.dedent(
        f"""
        import numpy as np, jaxgem
        traj = jaxgem.Trajectory.load({str(path)!r})
        assert traj.problem.activations[0].name == "arctan"
        np.save({str(tmp_path / "theory.npy")!r}, np.asarray(jaxgem.theory(traj).eg))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
    there = np.load(tmp_path / "theory.npy")
    np.testing.assert_allclose(there, here, rtol=1e-6)
    gap = np.abs(traj.mean() - here.mean(axis=1))
    assert np.all(gap <= np.maximum(3 * traj.sem(), 0.05 * here.mean(axis=1)))
    assert traj.mean()[0, -1] < 0.5 * traj.mean()[0, 0]  # it learned


def _module_state():
    """Every container a jaxgem module holds at module level, deep-copied."""
    modules = [m for name, m in sys.modules.items() if name.startswith("jaxgem")]
    state = {}
    for module in modules:
        for name, value in vars(module).items():
            if name.startswith("__"):  # __builtins__, __all__
                continue
            if isinstance(value, (dict, list, set, types.MappingProxyType)):
                state[(module.__name__, name)] = (
                    copy.deepcopy(dict(value))
                    if isinstance(value, types.MappingProxyType)
                    else copy.deepcopy(value)
                )
    return state


def test_no_module_level_state_changes_when_jaxgem_computes(tmp_path):
    """Running a simulation, its theory, a replica curve and the command line leaves every
    module-level container as it was, and compiled functions count traces with equinox."""
    import jaxgem.app.cli  # noqa: F401  (every module loaded before the snapshot)

    before = _module_state()
    traj = jaxgem.simulate(_problem(), jax.random.key(0), t_max=1.0, n_records=3)
    jaxgem.theory(traj)
    model = jaxgem.replica.GaussianCovariateModel.isotropic()
    jaxgem.replica.learning_curve(model, "square", jnp.array([1.0]), 0.1)
    jaxgem.app.cli.main(["config", "rf-ridge"])
    assert _module_state() == before
    assert eqx.debug.get_num_traces(jaxgem.online.advance) >= 1
    assert eqx.debug.get_num_traces(jaxgem.ode.solve_runs) >= 1
