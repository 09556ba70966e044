"""Online SGD on an accelerator: throughput and memory at N = 10^4 and 10^5 with 1000 seeds.

Every figure is measured in this run, on JAX's default device (a GPU or TPU; on a CPU only as a
smoke run with `--quick`):

1. the command line's main job, `jaxgem run iid-plateau`, as whole processes: cold (an empty
   compilation cache) and warm (a second run), and its simulation against its ODE;
2. agreement with theory on the device: the Saad-Solla plateau (iid, K = M = 2 erf, lr = 0.5,
   N = 1000) with 256 seeds, each record's seed mean against the ODE in standard errors;
3. throughput, iid inputs, K = M = 2 erf, 1000 seeds, N = 10^4 and 10^5: sample-steps per second
   with the default seed groups and blocks (`online.engine.seed_group`,
   `online.default_steps_per_block`) and with larger groups of shorter blocks, and the device's
   peak memory against the memory model of docs/scale-out.md.

A sample-step is one SGD step of one seed. Each setting is timed twice, at two lengths of run;
the marginal rate (the difference of the two) leaves out the fixed cost of a call (drawing the
networks, moving the initial weights to the host for the theory, the records).

    python benchmarks/accelerator.py                 # on a GPU: about 5 minutes
    python benchmarks/accelerator.py --quick         # a smoke run at small sizes, any device

Prints a table and writes JSON (default `benchmarks/results/accelerator.json`) after every
setting, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
from scale_out import _whole_process, memory_model

ROOT = Path(__file__).resolve().parents[1]


def _problem(N: int):
    import jaxgem

    return jaxgem.Problem(
        jaxgem.IIDGaussian(N=N), jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit.small(2, "erf"), lr=0.5,
    )  # fmt: skip


def _peak_bytes() -> int | None:
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("peak_bytes_in_use")


def command_line(quick: bool, done) -> None:
    """Section 1: the main job as whole processes, cold and warm, and its agreement."""
    print("1. jaxgem run iid-plateau as whole processes")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        extra = ["--set", "record.t_max=20"] if quick else []
        row = {
            f"{name}_s": _whole_process(folder / name, folder / "cache", *extra)
            for name in ("cold", "warm")
        }
        table = np.genfromtxt(folder / "warm" / "eg.csv", delimiter=",", names=True)
        record = json.loads((folder / "warm" / "run.json").read_text())
    gap = np.abs(table["eg_mean"] - table["eg_theory"])
    row.update(
        device=record["device"],
        records=int(table.size),
        max_abs_gap=float(gap.max()),
        max_gap_in_sem=float(np.max(gap / np.maximum(table["eg_sem"], 1e-12))),
        final_eg_mean=float(table["eg_mean"][-1]),
        final_eg_theory=float(table["eg_theory"][-1]),
    )
    print(
        f"   on {row['device']}: cold {row['cold_s']:.1f} s, warm {row['warm_s']:.1f} s; "
        f"largest |eg - ODE| {row['max_abs_gap']:.4f} ({row['max_gap_in_sem']:.1f} SEM, 4 seeds)"
    )
    done("command_line", row)


def agreement(quick: bool, done) -> None:
    """Section 2: many seeds of the plateau against the ODE, per record, in standard errors."""
    import jax

    import jaxgem

    N, seeds, t_max = (300, 32, 20.0) if quick else (1000, 256, 300.0)
    print(f"2. agreement, iid plateau, N = {N}, {seeds} seeds, t to {t_max:g}")
    start = time.perf_counter()
    trajectory = jaxgem.simulate(
        _problem(N), jax.random.key(0), seeds=seeds, t_max=t_max, n_records=30
    )
    simulated = time.perf_counter() - start
    theory = np.asarray(jaxgem.theory(trajectory).eg)[0].mean(axis=0)  # each seed's own start
    mean, sem = np.asarray(trajectory.mean("eg"))[0], np.asarray(trajectory.sem("eg"))[0]
    z = (mean - theory) / np.maximum(sem, 1e-12)
    row = {
        "N": N, "seeds": seeds, "t_max": t_max, "simulate_s": simulated,
        "max_abs_z": float(np.max(np.abs(z[1:]))), "rms_z": float(np.sqrt(np.mean(z[1:] ** 2))),
        "plateau_eg_mean": float(mean[len(mean) // 2]),
        "plateau_eg_theory": float(theory[len(theory) // 2]),
    }  # fmt: skip
    print(
        f"   simulated in {simulated:.1f} s (compilation included); seed mean against the ODE: "
        f"largest |z| {row['max_abs_z']:.2f}, rms z {row['rms_z']:.2f} over "
        f"{len(z) - 1} records"
    )
    done("agreement", row)


def _measure(N, seeds, group, steps, fast, seconds) -> dict:
    """One setting timed at two lengths of run: the marginal and whole-call rates."""
    import jax

    import jaxgem

    problem, block_t = _problem(N), steps / N

    def run(t):
        start = time.perf_counter()
        jaxgem.simulate(
            problem, jax.random.key(1), seeds=seeds, t_max=t, n_records=2,
            steps_per_block=steps, seed_group=group, fast_random=fast,
        )  # fmt: skip
        return time.perf_counter() - start

    def samples(t):
        return round(t / block_t) * steps * seeds

    first = run(block_t)  # compilation
    t_a = block_t
    took_a = run(t_a)
    # a probe of 8 more blocks estimates the time of a sample-step beyond the call's fixed cost
    t_p = t_a + 8 * block_t
    took_p = run(t_p)
    # (bounded below by a tenth of the probe's whole time: a fixed cost that varies by more
    # than the probe's work must not make the timed run absurdly long)
    estimate = max(took_p - took_a, 0.1 * took_p) / (samples(t_p) - samples(t_a))
    # the timed length: about `seconds` of sample-steps beyond the first
    extra = max(8, math.ceil(seconds / estimate / (steps * seeds)))
    t_b = t_a + extra * block_t
    took_b = run(t_b)
    marginal = (took_b - took_a) / (samples(t_b) - samples(t_a))
    return {
        "N": N, "seeds": seeds, "group": group, "steps_per_block": steps, "fast_random": fast,
        "first_call_s": first, "t": [t_a, t_b], "run_s": [took_a, took_b],
        "us_per_sample_step": 1e6 * marginal,
        "us_per_sample_step_whole_call": 1e6 * took_b / samples(t_b),
        "sample_steps_per_s": 1 / marginal,
    }  # fmt: skip


def throughput(quick: bool, deadline: float, done) -> None:
    """Section 3: sample-steps per second at large N with many seeds, default and tuned."""
    from jaxgem.online import default_steps_per_block
    from jaxgem.online.engine import seed_group

    seeds = 64 if quick else 1000
    # (N, seed group, steps per block, fast_random); None: the default. The defaults come first
    # at each size, so that the device's peak memory so far is theirs.
    settings = [
        (10_000, None, None, False),
        (100_000, None, None, False),
        (10_000, 1000, 32, False),
        (10_000, 1000, 128, False),
        (100_000, 1000, 4, False),
        (100_000, 1000, 8, False),
        (100_000, 1000, 16, False),
        (100_000, 500, 16, False),
        (100_000, 100, 32, False),
        (100_000, None, None, True),
    ]
    if quick:
        settings = [(100, None, None, False), (100, 64, 4, False), (1000, None, None, False),
                    (1000, 64, 4, False), (1000, None, None, True)]  # fmt: skip
    print(f"3. throughput, iid K = M = 2 erf, {seeds} seeds (us per sample-step, marginal)")
    rows = []
    for N, group, steps, fast in settings:
        if time.monotonic() > deadline:
            print("   (deadline reached: the remaining settings are skipped)")
            break
        steps = steps or default_steps_per_block(N, 1)
        group = group or seed_group(seeds, steps * N * 4)
        row = _measure(N, seeds, group, steps, fast, 0.5 if quick else 3.0)
        default_steps = default_steps_per_block(N, 1)
        default = (group, steps) == (seed_group(seeds, default_steps * N * 4), default_steps)
        row.update(
            peak_bytes_so_far=_peak_bytes(),
            model_bytes=memory_model(N, seeds) if default else None,
        )
        rows.append(row)
        peak = row["peak_bytes_so_far"]
        print(
            f"   N = {N:>6}, groups of {group:>4}, blocks of {steps:>3} steps"
            f"{', fast_random' if fast else ''}: {row['us_per_sample_step']:.4f} us "
            f"({row['sample_steps_per_s']:,.0f}/s; whole call "
            f"{row['us_per_sample_step_whole_call']:.4f} us; compile+first "
            f"{row['first_call_s']:.1f} s; "
            f"peak so far {'?' if peak is None else f'{peak / 2**30:.1f} GiB'})"
        )
        done("throughput", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "accelerator.json"))
    parser.add_argument(
        "--budget", type=float, default=420.0,
        help="seconds after which no new throughput setting is started",
    )  # fmt: skip
    parser.add_argument("--sections", default="1,2,3", help="which sections to run, e.g. 3")
    args = parser.parse_args()
    deadline = time.monotonic() + args.budget
    import jax

    from jaxgem.io import save_json
    from jaxgem.provenance import run_metadata

    device = jax.devices()[0]
    if device.platform == "cpu" and not args.quick:
        parser.error("no accelerator: JAX's default device is a CPU (use --quick for a smoke run)")
    sections = {int(x) for x in args.sections.split(",")}
    results: dict = {}
    if sections != {1, 2, 3} and Path(args.out).exists():  # keep the other sections' figures
        results = json.loads(Path(args.out).read_text())
    results.update(machine=run_metadata(), device_kind=device.device_kind, quick=args.quick)
    print(f"device: {device.device_kind} ({device.platform}), JAX {jax.__version__}")

    def done(name, value):
        results[name] = value
        save_json(args.out, results)  # after every setting: nothing measured is lost

    jobs = {
        1: ("command_line", lambda: command_line(args.quick, done)),
        2: ("agreement", lambda: agreement(args.quick, done)),
        3: ("throughput", lambda: throughput(args.quick, deadline, done)),
    }
    for number, (name, job) in jobs.items():
        if number in sections:
            try:  # a section that fails is recorded, and the others still run
                job()
            except Exception as error:  # noqa: BLE001
                print(f"   {name} failed: {type(error).__name__}: {error}")
                done(f"{name}_error", f"{type(error).__name__}: {error}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
