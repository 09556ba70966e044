"""Scale-out of jaxgem on this machine: devices, large N, memory, start-up, ODE grids.

Every figure is measured in this run, each setting in its own process (the CPU device count is
fixed when JAX starts):

1. online SGD throughput (iid, K = M = 2 erf, N = 1000, 32 seeds) on 1 device pinned to one
   core, 1 device and 2 CPU devices, with JAX's default random numbers and with
   `fast_random=True`, against the tuned NumPy loop of the same step (benchmarks/online_sgd.py),
   the cost of a normal number (`jax.random.normal` against `jaxgem.threefry.normal`), two
   independent one-core processes of half the seeds each (the machine's own ceiling), and the
   C++ loops of benchmarks/cpp_baseline.py in the same run;
2. N = 1000, 4000, 16 000 with 32 seeds: seconds per sample-step against linear scaling from
   N = 1000, with the cache-sized seed groups (default) and with fixed groups of 8 (before);
3. peak memory (resident set size above the idle process) at N = 10^4 and 10^5 against the
   memory model of docs/scale-out.md;
4. `jaxgem run iid-plateau` as whole processes: cold (empty compilation cache), warm (second
   run), against the time its simulation and ODE solve take once compiled;
5. the spectral ODE grid (hidden manifold N = 500, 64 learning rates): cost per point with every
   run in lockstep (before) and in learning-rate-ordered chunks of 8 (after), on 1 and 2 devices.

    python benchmarks/scale_out.py            # about 6 minutes on 2 cores
    python benchmarks/scale_out.py --quick    # a smoke run at small sizes

Prints a table and writes JSON (default `benchmarks/results/scale_out.json`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------ workers (subprocess)
def _simulation(N, seeds, t_max, fast_random=False, group=None, data="iid", cores=None, repeat=1):
    """Seconds per sample-step of `simulate` once compiled (the best of `repeat` runs), with the
    cores the run kept busy (process CPU time over wall time); `cores`: pin the process to these
    CPU cores before JAX starts (Linux), e.g. one device on one core."""
    if cores is not None:
        os.sched_setaffinity(0, cores)
    import jax

    import jaxgem

    if data == "iid":
        model = jaxgem.IIDGaussian(N=N)
    else:
        model = jaxgem.HiddenManifold.random(jax.random.key(0), N=N, D=N // 2)
    problem = jaxgem.Problem(
        model, jaxgem.GaussianInit(2, "erf"), jaxgem.GaussianInit.small(2, "erf"), lr=0.5
    )

    def run(t):
        return jaxgem.simulate(
            problem, jax.random.key(1), seeds=seeds, t_max=t, n_records=2,
            fast_random=fast_random, seed_group=group,
        )  # fmt: skip

    start = time.perf_counter()
    run(t_max / 10)
    first = time.perf_counter() - start
    elapsed, busy = math.inf, 0.0
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        run(t_max)
        wall = time.perf_counter() - start
        if wall < elapsed:
            elapsed, busy = wall, (time.process_time() - cpu) / wall
    sample_steps = t_max * N * seeds
    return {
        "devices": jax.device_count(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "cores_busy": busy,
        "first_call_s": first,
        "run_s": elapsed,
        "us_per_sample_step": 1e6 * elapsed / sample_steps,
        "sample_steps_per_s": sample_steps / elapsed,
    }


def _peak_memory(N, seeds, t_max):
    """The process's peak resident memory after one simulation (compilation included)."""
    import resource

    import jax

    import jaxgem

    problem = jaxgem.Problem(
        jaxgem.IIDGaussian(N=N), jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit.small(2, "erf"), lr=0.5,
    )  # fmt: skip
    jaxgem.simulate(problem, jax.random.key(1), seeds=seeds, t_max=t_max, n_records=2)
    return {"peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def _compiled_job():
    """iid-plateau's simulation and ODE solve, each called twice: the second calls' times."""
    import jax
    import numpy as np

    import jaxgem
    from jaxgem.app import build, preset
    from jaxgem.app.config import curve_configs

    ((_, config),) = curve_configs(preset("iid-plateau"))
    data_key, run_key = jax.random.split(jax.random.key(config["seed"]))
    problem = build.problem(config, build.data_models(config, data_key, None)["iid"])
    record = config["record"]
    times = []
    for _ in range(2):
        start = time.perf_counter()
        trajectory = jaxgem.simulate(
            problem, run_key, seeds=config["seeds"], t_max=record["t_max"],
            n_records=record["n_records"], spacing=record["spacing"],
        )  # fmt: skip
        middle = time.perf_counter()
        np.asarray(jaxgem.theory(trajectory).eg)
        times.append((middle - start, time.perf_counter() - middle))
    return {"simulate_s": times[1][0], "theory_s": times[1][1], "first_s": sum(times[0])}


def _ode_grid(points, chunk, N=500, t_max=50.0):
    import jax
    import jax.numpy as jnp
    import numpy as np

    import jaxgem

    jax.config.update("jax_enable_x64", True)
    data = jaxgem.HiddenManifold.random(jax.random.key(0), N=N, D=N // 2)
    spectrum = data.spectrum()
    problem = jaxgem.Problem(
        data, jaxgem.GaussianInit(2, "erf"), jaxgem.GaussianInit.small(2, "erf"),
        lr=np.linspace(0.05, 2.0, points),
    )  # fmt: skip
    times = jnp.linspace(0, t_max, 51)

    def solve():
        solution = jaxgem.theory(
            problem, times, key=jax.random.key(1), spectrum=spectrum, chunk=chunk
        )
        return np.asarray(solution.eg)

    solve()
    start = time.perf_counter()
    eg = solve()
    elapsed = time.perf_counter() - start
    return {"devices": jax.device_count(), "ms_per_point": 1e3 * elapsed / points,
            "eg_final_mean": float(np.nanmean(eg[:, 0, -1]))}  # fmt: skip


def _normals(cores=None, group=8, steps=100, N=1000, repeat=7):
    """Nanoseconds per normal number of one seed group's block of inputs (`vmap` over the
    group's keys), `jax.random.normal` against `jaxgem.threefry.normal` (the same numbers)."""
    if cores is not None:
        os.sched_setaffinity(0, cores)
    import jax

    from jaxgem import threefry

    keys = jax.random.split(jax.random.key(0), group)
    result = {}
    for name, draw in (("jax", jax.random.normal), ("jaxgem", threefry.normal)):
        block = jax.jit(jax.vmap(lambda k, draw=draw: draw(k, (steps, N))))
        block(keys).block_until_ready()
        best = math.inf
        for _ in range(repeat):
            start = time.perf_counter()
            block(keys).block_until_ready()
            best = min(best, time.perf_counter() - start)
        result[f"{name}_ns"] = 1e9 * best / (group * steps * N)
    return result


WORKERS = {
    "normals": _normals,
    "simulation": _simulation,
    "peak_memory": _peak_memory,
    "compiled_job": _compiled_job,
    "ode_grid": _ode_grid,
}


def _start(kind: str, devices: int = 1, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """Start a worker in a fresh process with `devices` CPU devices."""
    environment = dict(os.environ, JAX_NUM_CPU_DEVICES=str(devices), **(env or {}))
    command = [sys.executable, __file__, "--worker", kind, json.dumps(kwargs)]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
        cwd=ROOT,
    )  # fmt: skip


def _result(worker: subprocess.Popen) -> dict:
    """A started worker's JSON result."""
    out, err = worker.communicate()
    if worker.returncode != 0:
        raise RuntimeError(f"{worker.args[3:]} failed:\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def _in_process(kind: str, devices: int = 1, env: dict | None = None, **kwargs) -> dict:
    """Run a worker in a fresh process with `devices` CPU devices; its JSON result."""
    return _result(_start(kind, devices, env, **kwargs))


def _whole_process(out: Path, cache: Path, *options: str) -> float:
    """Seconds `jaxgem run iid-plateau [options]` takes as a whole process, writing into `out`
    with the compilation cache in `cache`; its error output if it fails."""
    environment = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(cache))
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "jaxgem", "run", "iid-plateau", "--out", str(out), "--no-progress",
         *options],
        capture_output=True, text=True, env=environment, cwd=ROOT,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"jaxgem run iid-plateau failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def memory_model(N: int, seeds: int, runs: int = 1, K: int = 2, M: int = 2, itemsize=4) -> int:
    """Bytes a simulation holds at its peak (docs/scale-out.md), fitted to this benchmark's
    measurements at N = 10^4 and 10^5: the state (students `S H K N`, teachers `S M D`, here
    D = N) about ten times (the networks as drawn, the padded and placed state, the compiled
    step's input, output and per-group stacking, the recorder's initial weights) and about eight
    buffers the size of one seed group's block of inputs (`G x steps x N`: random bits, uniform
    and normal draws, the inputs and their layout for the scan)."""
    from jaxgem.online import default_steps_per_block
    from jaxgem.online.engine import seed_group

    steps = default_steps_per_block(N, 1)
    group = seed_group(seeds, steps * N * itemsize)
    state = seeds * (runs * K + M) * N
    return itemsize * (10 * state + 8 * group * steps * N)


# ------------------------------------------------------------------------ the benchmark
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scale_out.json"))
    parser.add_argument(
        "--sections", default="1,2,3,4,5",
        help="which sections to run (e.g. 3,5); the others' figures already in --out are kept",
    )  # fmt: skip
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, kwargs = args.worker
        print(json.dumps(WORKERS[kind](**json.loads(kwargs))))
        return

    quick = args.quick
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from online_sgd import numpy_loop

    from jaxgem.io import save_json
    from jaxgem.provenance import run_metadata

    sections = {int(x) for x in args.sections.split(",")}
    results: dict = {}
    if sections != {1, 2, 3, 4, 5} and Path(args.out).exists():
        results = json.loads(Path(args.out).read_text())
    results.update(machine=run_metadata(), cores=os.cpu_count(), quick=quick)
    N0, S, T = (300, 8, 5.0) if quick else (1000, 32, 40.0)

    def done(name, value):
        results[name] = value
        save_json(args.out, results)  # after every section: nothing measured is lost

    if 1 in sections:
        throughput(N0, S, T, quick, numpy_loop, done)
    if 2 in sections:
        scaling(N0, S, T, quick, done)
    if 3 in sections:
        memory(quick, done)
    if 4 in sections:
        startup(done)
    if 5 in sections:
        ode_grid(quick, done)
    print(f"wrote {args.out}")


def throughput(N0, S, T, quick, numpy_loop, done):
    """Section 1: 1 and 2 devices, and one device pinned to one core (the hardware of one device
    when a CPU process makes one device per core), against the NumPy and C++ loops."""
    from cpp_baseline import all_baselines

    print(f"1. throughput, iid N = {N0}, {S} seeds (sample-steps per second, best of 3 runs)")
    numpy_step = numpy_loop("iid", N0, N0, 2000 if quick else 20000, "tuned")
    cpp = all_baselines(N0, 2000 if quick else 20_000_000 // N0)
    settings = [(1, False, [0]), (1, False, None), (2, False, None), (1, True, [0]),
                (1, True, None), (2, True, None)]  # fmt: skip
    if not hasattr(os, "sched_setaffinity"):
        settings = [s for s in settings if s[2] is None]
    rows = {}
    for devices, fast, cores in settings:
        row = _in_process("simulation", devices, N=N0, seeds=S, t_max=T, fast_random=fast,
                          cores=cores, repeat=1 if quick else 3)  # fmt: skip
        rows[(devices, fast, cores is not None)] = row  # pinned to one core, or free
        rate = row["sample_steps_per_s"]
        print(
            f"   {devices} device(s) on {row['cores']} core(s) ({row['cores_busy']:.2f} busy), "
            f"{'fast_random' if fast else 'default random'}: {rate:,.0f}/s "
            f"({1e6 / rate:.2f} us per sample-step; {rate * numpy_step:.1f}x the NumPy loop)"
        )
    # the machine's own ceiling: two independent processes, one core and half the seeds each
    ceiling = None
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2:
        pair = [
            _start(
                "simulation", 1, N=N0, seeds=S // 2, t_max=T, cores=[core], repeat=1 if quick else 3
            )
            for core in sorted(os.sched_getaffinity(0))[:2]
        ]
        ceiling = sum(_result(worker)["sample_steps_per_s"] for worker in pair)
        free = rows[(1, False, False)]["sample_steps_per_s"]
        print(
            f"   2 independent processes, one core and {S // 2} seeds each: {ceiling:,.0f}/s "
            f"together ({1e6 / ceiling:.2f} us; {ceiling / free:.2f}x 1 device, 2 devices reach "
            f"{rows[(2, False, False)]['sample_steps_per_s'] / ceiling:.0%} of it)"
        )  # fmt: skip
    speedup = {}
    for fast in (False, True):
        two = rows[(2, fast, False)]["sample_steps_per_s"]
        speedup[str(fast)] = {
            "vs_1_device": two / rows[(1, fast, False)]["sample_steps_per_s"],
            "vs_1_device_on_1_core": two / rows[(1, fast, True)]["sample_steps_per_s"]
            if (1, fast, True) in rows else None,
        }  # fmt: skip
        print(f"   2 devices, {'fast' if fast else 'default'} random: "
              + ", ".join(f"{v:.2f}x {k}" for k, v in speedup[str(fast)].items() if v))  # fmt: skip
    print(f"   NumPy loop (tuned float32, one seed): {numpy_step * 1e6:.1f} us per step")
    normals = _in_process("normals", 1, cores=[0] if hasattr(os, "sched_setaffinity") else None)
    print(
        f"   normal numbers on one core: jax.random.normal {normals['jax_ns']:.2f} ns, "
        f"jaxgem.threefry.normal {normals['jaxgem_ns']:.2f} ns (the same numbers)"
    )
    two = [rows[(2, fast, False)]["sample_steps_per_s"] for fast in (False, True)]
    for name, seconds in cpp.items():
        shown = "unavailable" if seconds is None else (
            f"{seconds * 1e6:.1f} us per step; 2 devices {two[0] * seconds:.1f}x faster "
            f"({two[1] * seconds:.1f}x with fast_random)"
        )  # fmt: skip
        print(f"   C++ {name} (one seed, one process): {shown}")
    done("throughput", {
        "N": N0, "seeds": S, "t_max": T, "numpy_us_per_step": numpy_step * 1e6,
        "cpp_us_per_step": {n: None if s is None else s * 1e6 for n, s in cpp.items()},
        "normals_ns_on_one_core": normals,
        "two_pinned_processes_sample_steps_per_s": ceiling,
        "runs": [{"devices": d, "fast_random": f, **r} for (d, f, _), r in rows.items()],
        "two_device_speedup": speedup,
    })  # fmt: skip


def scaling(N0, S, T, quick, done):
    print("2. large N, 32 seeds (us per sample-step; ratio to linear scaling from the first N)")
    sizes = (300, 1200) if quick else (1000, 4000, 16000)
    rows = []
    for group in (None, 8):
        base = None
        for N in sizes:
            t = T * sizes[0] / N / (4 if N > 5000 else 1)
            r = _in_process("simulation", 1, N=N, seeds=S, t_max=t, group=group)
            per = r["us_per_sample_step"]
            base = base or per / N
            ratio = per / (base * N)
            rows.append({"N": N, "group": group, "us_per_sample_step": per, "vs_linear": ratio})
            label = "cache-sized groups" if group is None else f"groups of {group}"
            print(f"   N = {N:>6}, {label}: {per:.2f} us, {ratio:.2f}x linear")
    done("scaling", rows)


def memory(quick, done):
    print("3. peak memory of a run beyond that of the same run at N = 1000 (which holds the")
    print("   interpreter, JAX and the compilation; resident set, fresh processes)")
    rows = []
    for N, seeds in ((3000, 4),) if quick else ((10_000, 32), (100_000, 32)):
        t = 1280 / N  # ten blocks of 128 steps
        peak = _in_process("peak_memory", 1, N=N, seeds=seeds, t_max=t)["peak_bytes"]
        base = _in_process("peak_memory", 1, N=1000, seeds=seeds, t_max=t)["peak_bytes"]
        model = memory_model(N, seeds) - memory_model(1000, seeds)
        rows.append({"N": N, "seeds": seeds, "peak_bytes": peak, "peak_bytes_at_1000": base,
                     "used_bytes": peak - base, "model_bytes": model})  # fmt: skip
        print(
            f"   N = {N}, {seeds} seeds: {(peak - base) / 2**20:.0f} MiB "
            f"(memory model {model / 2**20:.0f} MiB)"
        )
    done("memory", rows)


def startup(done):
    print("4. start-up: jaxgem run iid-plateau as whole processes")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        cold = _whole_process(folder / "a", folder / "cache")
        # the machine is shared: three warm runs, their median and the spread
        warm_runs = [_whole_process(folder / f"b{i}", folder / "cache") for i in range(3)]
        shutil.rmtree(folder / "a")
    warm = float(np.median(warm_runs))
    compiled = _in_process("compiled_job", 2)
    once = compiled["simulate_s"] + compiled["theory_s"]
    shown = ", ".join(f"{w:.1f}" for w in warm_runs)
    print(
        f"   cold {cold:.1f} s, warm {warm:.1f} s (median of {shown}); simulation + solve once "
        f"compiled {once:.1f} s (warm / compiled {warm / once:.2f}x)"
    )
    done(
        "startup",
        {"cold_s": cold, "warm_s": warm, "warm_runs_s": warm_runs, **compiled,
         "warm_over_compiled": warm / once},
    )  # fmt: skip


def ode_grid(quick, done):
    print("5. spectral ODE grid, 64 learning rates (ms per point)")
    points = 16 if quick else 64
    grid = []
    for devices in (1, 2):
        for chunk in (None, 8):
            r = _in_process(
                "ode_grid", devices, points=points, chunk=chunk, N=200 if quick else 500
            )
            grid.append({"chunk": chunk, **r})
            how = "lockstep" if chunk is None else f"chunks of {chunk}"
            print(f"   {devices} device(s), {how}: {r['ms_per_point']:.1f} ms")
    done("ode_grid", grid)


if __name__ == "__main__":
    main()
