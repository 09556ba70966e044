"""The command line as a user meets it: bad input refused in one line before any work, a
diverged sweep that keeps its healthy runs, Ctrl-C honoured at once, files readable as the umask
allows, complete provenance."""

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from jaxgem.app.cli import main

FAST = ["--no-progress", "--set", "data.N=100", "--set", "record.t_max=2", "--seeds", "2"]


@pytest.mark.parametrize(
    "arguments, named",
    [
        (["--set", "student.activation=softplus"], ["student", "softplus", "erf"]),
        (["--set", "record.t_max=-1"], ["record.t_max", "-1", "positive"]),
        (["--set", "training.noise=-1"], ["noise", "-1", "non-negative"]),
        (["--set", "training.lr=nan"], ["lr", "nan", "finite and positive"]),
        (["--set", "training.lr=-0.1"], ["lr", "-0.1", "finite and positive"]),
        (["--set", "student.std=-1"], ["std", "-1", "non-negative"]),
        (["--set", "training.lr=[]"], ["training.lr", "[]", "list of numbers"]),
        (["--set", "record.n_records=1"], ["n_records", "1", "at least 2"]),
        (["--set", "record.test_set_size=-3"], ["test_set_size", "-3", "non-negative"]),
        (["--set", "data.model=mnist"], ["data.model", "mnist", "hidden_manifold"]),
        (
            ["--set", "training.lr=[0.1,0.2]", "--set", "training.noise=[0,0.1,0.2]"],
            ["lr", "noise", "equal lengths"],
        ),  # fmt: skip
        (["iid-lr-sweep", "--set", "data.D=2000"], ["data.D", "2000", "iid"]),
        (["--set", "teacher.K=0"], ["teacher.K", "0", "positive integer"]),
        (["--set", "training.spherical=true"], ["training.spherical", "iid", "hidden_manifold"]),
        (["nonsense"], ["nonsense", "default"]),
    ],
)
def test_bad_input_is_refused_in_one_line_before_any_work(arguments, named, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", *arguments, "--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jaxgem: error: "), lines
    for word in named:
        assert word in lines[0], (word, lines[0])
    assert not out.exists()  # refused before the output folder was even made


@pytest.mark.parametrize("target", ["/proc/jaxgem-out", "/proc/self/jaxgem-out", "a-file"])
def test_unwritable_output_folder_is_refused_before_any_work(target, tmp_path, capsys):
    if target == "a-file":
        target = tmp_path / "a-file"
        target.write_text("not a folder")
    started = time.monotonic()
    assert main(["run", "iid-plateau", "--out", str(target)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--out" in lines[0] and str(target) in lines[0], lines
    assert time.monotonic() - started < 5


def test_another_configuration_in_the_folder_points_to_restart(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "iid-plateau", "--out", str(out), *FAST]) == 0
    capsys.readouterr()
    assert main(["run", "iid-plateau", "--out", str(out), *FAST, "--set", "training.lr=0.3"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--restart" in error[0] and "another configuration" in error[0]
    # --restart replaces exactly the previous run's files; a user's own file stays
    (out / "notes.txt").write_text("mine")
    assert main(["run", "default", "--out", str(out), *FAST, "--restart"]) == 0
    names = {p.name for p in out.iterdir()}
    assert "iid.npz" not in names and "iid.checkpoint.npz" not in names
    assert {"notes.txt", "hidden_manifold.npz", "gaussian_equivalent.npz", "eg.csv"} <= names


def test_disk_full_is_one_line_and_keeps_the_checkpoint(tmp_path, capsys, monkeypatch):
    import jaxgem.app.runner as runner

    def full(path, *args, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(runner, "save_csv", full)
    out = tmp_path / "out"
    assert main(["run", "iid-plateau", "--out", str(out), *FAST]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert "No space left on device" in lines[-1] and "eg.csv" in lines[-1]
    assert (out / "iid.checkpoint.npz").exists()
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"


def test_diverged_sweep_keeps_the_healthy_runs_and_honours_the_umask(tmp_path, capsys):
    """ReLU networks at lr = 50 diverge: the simulation and the theory stop it in seconds; the
    lr = 0.5 runs are written with their theory; every file is readable as umask 027 allows
    (0640)."""
    out = tmp_path / "out"
    previous = os.umask(0o027)
    try:
        started = time.monotonic()
        code = main(
            ["run", "iid-lr-sweep", "--out", str(out), *FAST, "--set", "training.lr=[0.5,50]",
             "--set", "record.t_max=10", "--seeds", "1", "--set", "teacher.activation=relu",
             "--set", "student.activation=relu"]
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        os.umask(previous)
    assert code == 0 and elapsed < 60, elapsed
    printed = capsys.readouterr()
    assert "warning: run diverged: lr=50" in printed.out
    assert "theory diverged: lr=50" in printed.out and "Traceback" not in printed.err
    with open(out / "eg.csv") as handle:
        rows = list(csv.DictReader(handle))
    healthy = [r for r in rows if float(r["lr"]) == 0.5]
    diverged = [r for r in rows if float(r["lr"]) == 50]
    assert all(np.isfinite(float(r["eg_mean"])) and float(r["eg_theory"]) > 0 for r in healthy)
    assert healthy[-1]["eg_sem"] == ""  # one seed: no error bar, not "± 0"
    assert all(r["eg_mean"] == "" for r in diverged[1:])
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "finished" and record["theory_failures"]["iid"]
    assert record["divergences"]["iid"] and record["overrides"]
    for key in ("started", "wall_s", "command", "jaxgem_source", "python", "device", "dtype"):
        assert key in record
    assert "(no error bar)" in printed.out and "stopped" in printed.out
    for path in out.iterdir():
        assert path.stat().st_mode & 0o777 == 0o640, (path.name, oct(path.stat().st_mode))


def test_curves_record_has_provenance(tmp_path):
    out = tmp_path / "curves"
    assert main(["curves", "square-sign", "--quick", "--seeds", "2", "--out", str(out),
                 "--set", "erm.alphas=[0.5,1.0]", "--set", "erm.simulate_at=[1.0]",
                 "--set", "data.N=50", "--no-progress"]) == 0  # fmt: skip
    record = json.loads((out / "run.json").read_text())
    for key in ("jax", "jaxgem", "jaxgem_source", "device", "dtype", "started", "wall_s"):
        assert key in record
    assert record["files"] == {"table": "curves.csv", "plot": "curves.png"}


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    import jaxgem

    assert capsys.readouterr().out.strip() == f"jaxgem {jaxgem.__version__}"


# The command as from a terminal: Ctrl-C raises KeyboardInterrupt. Otherwise the child inherits
# the test run's handling, and a run started in the background (`pytest &` in a script, `nohup`)
# ignores SIGINT: so would the child (measured: every xdist worker of such a run ignored it, and
# both Ctrl-C tests waited out their 10 s). Set in the child's Python, not by a `preexec_fn`,
# which would fork the multithreaded test process.
_AS_FROM_A_TERMINAL = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('jaxgem', run_name='__main__', alter_sys=True)"
)


def _start(tmp_path, *arguments):
    """The command in a subprocess whose stderr a thread keeps reading into `process.lines`
    (an undrained pipe would fill with progress lines and block the process, Ctrl-C or not)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _AS_FROM_A_TERMINAL, "run", *arguments, "--out",
         str(tmp_path / "out")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )  # fmt: skip
    process.lines = []
    process.reader = threading.Thread(
        target=lambda: process.lines.extend(iter(process.stderr.readline, "")), daemon=True
    )
    process.reader.start()
    return process


def _stderr(process) -> str:
    """Everything the (finished) process wrote to stderr."""
    process.reader.join(timeout=10)
    return "".join(process.lines)


def _wait_for(process, text: str, limit: float = 90.0) -> None:
    """Wait until a line of stderr holds `text` (killing the process after `limit` s)."""
    deadline = time.monotonic() + limit
    while not any(text in line for line in list(process.lines)):
        if process.poll() is not None and not process.reader.is_alive():
            raise AssertionError(f"no {text!r} before the run ended (rc {process.returncode})")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"no {text!r} within {limit} s")
        time.sleep(0.05)


def _interrupt(process) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return time.monotonic() - started


def test_ctrl_c_inside_the_theory_is_honoured_at_once(tmp_path):
    """A long ODE solve is one compiled call: Ctrl-C still stops the command within seconds."""
    process = _start(
        tmp_path, "iid-lr-sweep", "--set", "data.N=100", "--set", "record.t_max=3000",
        "--set", "teacher.activation=relu", "--set", "student.activation=relu", "--seeds", "2",
    )  # fmt: skip
    _wait_for(process, "solving the ODE theory")
    assert _interrupt(process) < 3
    assert process.returncode == 130
    assert "interrupted" in _stderr(process)
    out = tmp_path / "out"
    assert (out / "iid.npz").exists()  # the simulation was kept
    assert json.loads((out / "run.json").read_text())["status"] in ("running", "interrupted")


def test_ctrl_c_in_the_simulation_saves_and_the_rerun_resumes(tmp_path):
    arguments = ("iid-plateau", "--set", "data.N=2000", "--set", "record.t_max=100000")
    process = _start(tmp_path, *arguments)
    _wait_for(process, "jaxgem run iid-plateau")
    time.sleep(12)  # compiled and stepping
    assert _interrupt(process) < 3 and process.returncode == 130
    checkpoint = tmp_path / "out" / "iid.checkpoint.npz"
    assert checkpoint.exists()
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["status"] == "interrupted"
    again = _start(tmp_path, *arguments)
    _wait_for(again, "resumed from")
    assert _interrupt(again) < 3 and again.returncode == 130


def test_status_line_shows_slow_steps_only():
    import io

    from jaxgem.app.feedback import status

    stream = io.StringIO()
    with status("instant", stream=stream):
        pass
    with status("slow step", stream=stream, after=0.05):
        time.sleep(0.3)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "slow step ..." and lines[1].startswith("slow step: done in ")
    assert len(lines) == 2


def test_a_run_whose_every_seed_diverges_still_writes_its_results(tmp_path, capsys):
    """Nothing finite to plot on log axes: the table, record and a (linear) plot are written."""
    out = tmp_path / "out"
    arguments = ["--set", "data.N=100", "--set", "record.t_max=3.0", "--set", "record.n_records=5",
                 "--set", "teacher.activation=relu", "--set", "student.activation=relu",
                 "--set", "training.lr=80.0", "--seeds", "2", "--no-progress"]  # fmt: skip
    assert main(["run", "iid-plateau", "--out", str(out), *arguments]) == 0
    assert "diverged" in capsys.readouterr().out
    assert (out / "eg.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "run.json").read_text())["divergences"]["iid"]
