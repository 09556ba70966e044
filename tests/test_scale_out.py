"""Scale-out: the same numbers on one device, four devices, and two processes of two devices
(jax.distributed over gloo on 127.0.0.1), and a killed distributed run resumes to them.

Each layout runs in its own subprocess, where the CPU device count is set before JAX starts.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

pytestmark = pytest.mark.slow

FOUR_DEVICES = textwrap.dedent(
    """
    import json, jax
    jax.config.update("jax_num_cpu_devices", 4)
    import jax.numpy as jnp, numpy as np, jaxgem
    from jaxgem.replica import GaussianCovariateModel, learning_curve

    def over(n):
        return jaxgem.RunLayout.over(n)

    data = jaxgem.HiddenManifold.random(jax.random.key(0), N=200, D=100)
    problem = jaxgem.Problem(data, jaxgem.GaussianInit(2, "erf"),
                             jaxgem.GaussianInit.small(2, "erf"), lr=[0.2, 0.5])
    runs = {n: jaxgem.simulate(problem, jax.random.key(1), seeds=6, t_max=4, layout=over(n))
            for n in (1, 4)}
    out = {"simulation_identical": all(
        np.array_equal(getattr(runs[1], k), getattr(runs[4], k)) for k in ("eg", "Q", "R", "v"))}
    out["devices_used"] = len(jax.devices())

    with jax.enable_x64(True):
        problem = jaxgem.Problem(jaxgem.IIDGaussian(N=100), jaxgem.GaussianInit(2, "erf"),
                                 jaxgem.GaussianInit.small(2, "erf"), lr=[0.1, 0.4, 0.8, 1.6, 3.2])
        times = jnp.linspace(0, 20, 11)
        ode = {(n, c): np.asarray(jaxgem.theory(problem, times, key=jax.random.key(2), seeds=2,
                                                layout=over(n), chunk=c).eg)
               for n, c in ((1, None), (4, None), (4, 3))}
        base = ode[(1, None)]
        out["ode_finite"] = bool(np.all(np.isfinite(base)))
        out["ode_sharded"] = float(np.max(np.abs(ode[(4, None)] - base) / base))
        out["ode_sharded_chunked"] = float(np.max(np.abs(ode[(4, 3)] - base) / base))
        model = GaussianCovariateModel.isotropic()
        alphas = jnp.linspace(0.5, 4.0, 7)
        curves = {n: np.asarray(learning_curve(model, "logistic", alphas, 0.1,
                                               layout=over(n)).test_error) for n in (1, 4)}
        out["replica_sharded"] = float(np.max(np.abs(curves[4] - curves[1]) / curves[1]))
    print(json.dumps(out))
    """
)


def test_four_devices_give_the_numbers_of_one():
    """Simulation bit for bit; the ODE and replica grids (float64) to float rounding, since XLA
    vectorises a batch of another size differently."""
    result = subprocess.run(
        [sys.executable, "-c", FOUR_DEVICES], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["devices_used"] == 4
    assert out["simulation_identical"]
    assert out["ode_finite"]
    assert out["ode_sharded"] < 1e-12
    assert out["ode_sharded_chunked"] < 1e-12
    assert out["replica_sharded"] < 1e-9


# ------------------------------------------------------------------------ two processes
ARGUMENTS = [
    "iid-plateau", "--set", "data.N=200", "--set", "record.t_max=1500",
    "--set", "record.n_records=12", "--set", "record.save_every=0.5", "--seeds", "6",
    "--no-progress",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _jaxgem(out, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "jaxgem", "run", *ARGUMENTS, "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _pair(out):
    port = _free_port()
    return [
        _jaxgem(
            out,
            "--devices",
            "2",
            "--coordinator",
            f"127.0.0.1:{port}",
            "--num-processes",
            "2",
            "--process-id",
            str(i),
        )  # fmt: skip
        for i in range(2)
    ]


def _finish(processes, limit=300):
    deadline = time.monotonic() + limit
    for process in processes:
        try:
            _, err = process.communicate(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for p in processes:
                p.kill()
            raise
        assert process.returncode == 0, err[-3000:]


def _eg(out):
    with np.load(out / "iid.npz") as data:
        return data["eg"]


def test_two_processes_match_one_and_resume_after_a_kill(tmp_path):
    single = tmp_path / "single"
    _finish([_jaxgem(single, "--devices", "1")])
    reference = _eg(single)
    assert np.all(np.isfinite(reference)) and reference.shape == (1, 6, 12)

    out = tmp_path / "pair"
    processes = _pair(out)
    checkpoints = [
        out / "iid.checkpoint.process0of2.npz",
        out / ".process1" / "iid.checkpoint.process1of2.npz",
    ]
    deadline = time.monotonic() + 240
    while not all(path.exists() for path in checkpoints):
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes), [
            p.communicate()[1][-2000:] for p in processes if p.poll() is not None
        ]
        time.sleep(0.2)
    time.sleep(1.0)
    assert all(p.poll() is None for p in processes)  # killed in the middle of the run
    processes[1].send_signal(signal.SIGKILL)
    processes[0].send_signal(signal.SIGKILL)
    for p in processes:
        p.wait(timeout=30)
    with np.load(checkpoints[0]) as data:
        assert 0 < int(data["completed"]) < 12
    assert json.loads((out / "run.json").read_text())["status"] == "running"

    _finish(_pair(out))
    assert np.array_equal(_eg(out), reference)
    assert np.array_equal(_eg(out / ".process1"), reference)
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "finished"


def test_bad_scale_out_options_are_one_line(tmp_path, capsys):
    from jaxgem.app import main

    cases = [
        (["--coordinator", "nowhere"], "coordinator must be HOST:PORT"),
        (["--coordinator", "127.0.0.1:1", "--num-processes", "2"], "needs num_processes"),
        (["--num-processes", "2"], "needs a coordinator"),
        (["--devices", "zero"], "devices must be an integer >= 1, got 'zero'"),
        (["--coordinator", "127.0.0.1:1", "--num-processes", "2", "--process-id", "2"],
         "process_id must be below"),
    ]  # fmt: skip
    for extra, message in cases:
        assert main(["run", "--out", str(tmp_path / "x"), *extra]) == 2, extra
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (extra, lines)
    assert not (tmp_path / "x").exists()


def test_a_short_run_at_n_one_hundred_thousand_follows_its_theory():
    """N = 10^5 (two seeds, 2048 steps): the simulation and the Saad–Solla ODEs from the same
    weights agree, at the start exactly and after the steps within the fluctuations
    (O(lr sqrt(t / N)) ~ 1e-4)."""
    import jax

    import jaxgem

    problem = jaxgem.Problem(
        jaxgem.IIDGaussian(N=100_000),
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit(2, "erf", std=0.5),
        lr=1.0,
    )
    traj = jaxgem.simulate(problem, jax.random.key(0), seeds=2, times=[0.01024, 0.02048])
    assert traj.eg.shape == (1, 2, 3) and np.all(np.isfinite(traj.eg))
    theory = np.asarray(jaxgem.theory(traj).eg)
    np.testing.assert_allclose(traj.eg[..., 0], theory[..., 0], rtol=1e-5)
    assert np.all(np.abs(traj.eg[..., -1] - traj.eg[..., 0]) > 5e-3)  # it did learn
    np.testing.assert_allclose(traj.eg[..., -1], theory[..., -1], atol=1e-3)


CACHED_THEORY = textwrap.dedent(
    """
    import json, os, pathlib
    from jaxgem.sweep.runtime import Runtime, start_runtime
    start_runtime(Runtime(devices=1))  # as the command line does, before equinox is imported
    import jax, jaxgem
    from jaxgem.checks import require

    out = {"library_checks": os.environ.get("EQX_ON_ERROR")}
    positive = jax.jit(lambda x: require(x, x > 0, "x must be positive"))
    try:
        positive(-1.0).block_until_ready()
        out["own_check"] = "passed"
    except Exception as error:
        out["own_check"] = "raised" if "x must be positive" in str(error) else repr(error)
    problem = jaxgem.Problem(jaxgem.IIDGaussian(N=50), jaxgem.GaussianInit(2, "erf"),
                             jaxgem.GaussianInit(2, "erf"), lr=0.5)
    jaxgem.theory(problem, [0.0, 1.0, 2.0], key=jax.random.key(0))
    folder = pathlib.Path(os.environ["JAX_COMPILATION_CACHE_DIR"])
    out["cached"] = sorted({entry.name.split("-")[0] for entry in folder.iterdir()})
    print(json.dumps(out))
    """
)


def test_the_command_lines_ode_solve_enters_the_persistent_cache(tmp_path):
    """A repeated command compiles nothing: the ODE theory's program is written to the cache
    (diffrax's input checks would otherwise compile host callbacks, which JAX never caches),
    and jaxgem's own checks still raise inside `jit`."""
    environment = {k: v for k, v in os.environ.items() if k != "EQX_ON_ERROR"}
    environment["JAX_COMPILATION_CACHE_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", CACHED_THEORY],
        capture_output=True, text=True, timeout=300, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["library_checks"] == "nan"
    assert out["own_check"] == "raised"
    assert "jit_solve_runs" in out["cached"], out["cached"]
