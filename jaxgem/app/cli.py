"""The `jaxgem` command line.

jaxgem run                      the default experiment (sign hidden manifold vs its Gaussian
                                equivalent, with the spectral ODE theory), results in runs/default/
jaxgem run PRESET|CONFIG.toml [--out DIR] [--seeds S] [--set section.key=value ...] [--quick]
jaxgem presets                  list the presets (online SGD and full-batch ERM)
jaxgem config PRESET            print a preset's full configuration as TOML, to edit and run
jaxgem curves [PRESET] [--out DIR] [--seeds S] [--quick] [--list]
                                the full-batch presets: replica theory against ERM (default
                                rf-ridge); the same runner as `jaxgem run`
jaxgem fit DATA.csv [PRESET|CONFIG.toml] --free NAME=VALUE [--free ...] [--set ...] [--out DIR]
                                fit the preset's ODE theory to a measured curve (t, eg[, eg_sem])
                                by gradient: fitted values with errors, fit.json/csv/png
jaxgem sweep GRID.toml [--out DIR] [--restart]
                                every point of a TOML grid over a preset's keys ([product],
                                [zip], seeds): sweep.csv (long format, simulation and theory per
                                seed), sweep.json, sweep.png (final eg as a heatmap)
jaxgem --version

Every run lays its seeds out over all devices of all processes (on a CPU one device per core);
`--coordinator HOST:PORT --num-processes N --process-id I` (or JAXGEM_COORDINATOR, ...) joins
several processes or hosts through jax.distributed. Compiled programs are kept in the persistent
cache (~/.cache/jaxgem/xla), so a repeated command does not compile them again.

Bad input is refused in one line naming the key, the value and what is accepted (exit 2),
before any computation. The work runs in a worker thread so that Ctrl-C is honoured at once,
even inside a long compiled call: the checkpoints are kept, and the same command resumes
(exit 130).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import threading
from pathlib import Path

from .config import ConfigError, apply_overrides, load_config, merge, to_toml
from .presets import PRESETS, preset, preset_names

__all__ = ["main"]


def _resolve(target: str) -> dict:
    if target.endswith(".toml") or Path(target).is_file():
        return load_config(target)
    return preset(target)


def _add_run_options(parser: argparse.ArgumentParser, default: str, help_target: str) -> None:
    parser.add_argument("target", nargs="?", default=default, help=help_target)
    parser.add_argument("--out", help="output folder (default: runs/NAME)")
    parser.add_argument("--seeds", type=int, help="seeds per curve (online) or per ERM point")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a configuration value",
    )
    parser.add_argument(
        "--restart", action="store_true", help="ignore checkpoints in the output folder"
    )
    parser.add_argument("--quick", action="store_true", help="full-batch jobs: every other point")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    _add_scale_out_options(parser)


def _add_scale_out_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "devices and processes",
        "the runs are laid out over every device of every process; on a CPU each core is a "
        "device. Several processes or hosts: start the same command in each with a coordinator "
        "(or set JAXGEM_COORDINATOR, JAXGEM_NUM_PROCESSES, JAXGEM_PROCESS_ID)",
    )
    group.add_argument(
        "--devices", dest="devices", metavar="N",
        help="CPU devices per process (default: one per core)",
    )  # fmt: skip
    group.add_argument(
        "--coordinator", metavar="HOST:PORT",
        help="process 0's address, or 'auto' (SLURM, MPI, Kubernetes, TPU detection)",
    )  # fmt: skip
    group.add_argument("--num-processes", metavar="N", help="processes in all")
    group.add_argument("--process-id", metavar="I", help="this process, 0 to N - 1")
    group.add_argument(
        "--no-cache", action="store_true",
        help="do not keep compiled programs in the persistent cache (~/.cache/jaxgem/xla)",
    )  # fmt: skip


def _start(args) -> None:
    """Start JAX as the options say (before it computes anything)."""
    from ..sweep.runtime import Runtime, ScaleOutError, start_runtime

    try:
        runtime = Runtime.from_environment(
            devices=args.devices,
            coordinator=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
            cache=not args.no_cache,
        )
        start_runtime(runtime)
    except ScaleOutError as error:
        raise ConfigError(str(error)) from None
    except Exception as error:  # jax.distributed could not reach the others
        if args.coordinator is None and "JAXGEM_COORDINATOR" not in os.environ:
            raise
        raise StartError(
            f"cannot start jax.distributed with coordinator {runtime.coordinator}: "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
        ) from None


class StartError(RuntimeError):
    """The processes of a distributed run could not find each other (exit 1)."""


def _parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="jaxgem",
        description="Online and full-batch learning of shallow networks on structured data, "
        "simulated and predicted.",
    )
    parser.add_argument("--version", action="version", version=f"jaxgem {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run an experiment (default: the default preset)")
    _add_run_options(run, "default", "preset name or TOML file")
    commands.add_parser("presets", help="list the presets")
    show = commands.add_parser("config", help="print a preset's configuration as TOML")
    show.add_argument("target", nargs="?", default="default")
    curves = commands.add_parser(
        "curves", help="full-batch ERM learning curves: replica theory against simulations"
    )
    _add_run_options(curves, "rf-ridge", "full-batch preset or TOML file")
    curves.add_argument("--list", action="store_true", help="list the full-batch presets")
    fitting = commands.add_parser(
        "fit", help="fit a preset's ODE theory to a measured learning curve (CSV t, eg[, eg_sem])"
    )
    fitting.add_argument("data", help="CSV with columns t, eg and optionally eg_sem")
    fitting.add_argument("target", nargs="?", default="default", help="preset or TOML file")
    fitting.add_argument(
        "--free", action="append", default=[], metavar="NAME=VALUE",
        help="a parameter to fit and its starting value (lr, lr_v, noise, weight_decay, "
        "schedule.tau, ...); repeat for several",
    )  # fmt: skip
    fitting.add_argument("--out", help="output folder (default: runs/fit-NAME)")
    fitting.add_argument(
        "--seeds", type=int,
        help="starts the theory averages over (default: a jaxgem run table's, else the config's)",
    )  # fmt: skip
    fitting.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
        help="override a configuration value",
    )  # fmt: skip
    _add_scale_out_options(fitting)
    sweep = commands.add_parser(
        "sweep", help="run a TOML grid over a preset's keys: sweep.csv, sweep.json, sweep.png"
    )
    sweep.add_argument("grid", help="TOML grid: preset = NAME, [set], [product], [zip], seeds")
    sweep.add_argument("--out", help="output folder (default: runs/sweep-GRIDNAME)")
    sweep.add_argument("--restart", action="store_true", help="ignore the points' checkpoints")
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    _add_scale_out_options(sweep)
    return parser


def _list(names) -> None:
    width = max(map(len, names))
    for name in names:
        job = PRESETS[name].get("job", "online")
        print(f"{name:<{width}}  [{job}] {PRESETS[name]['description']}")


def _run(args, *, erm_only: bool) -> int:
    config = _resolve(args.target)
    if erm_only and config["job"] == "online":
        offline = [n for n in preset_names() if PRESETS[n].get("job", "online") != "online"]
        raise ConfigError(
            f"{args.target!r} is an online preset; `jaxgem curves` runs the full-batch and "
            f"Bayes-optimal presets {offline} (or use `jaxgem run {args.target}`)"
        )
    config = apply_overrides(config, args.overrides)
    if args.seeds is not None:
        config = merge(config, {"seeds": args.seeds})
    if config["job"] == "erm" and config["seeds"] < 2:
        raise ConfigError(f"seeds must be at least 2 for ERM error bars, got {config['seeds']}")
    out = Path(args.out) if args.out else Path("runs") / config["name"]
    changes = list(args.overrides) + ([f"seeds={args.seeds}"] if args.seeds is not None else [])
    _start(args)
    from .runner import preflight, run  # imports JAX: keep `presets` instant

    preflight(config)
    out = _process_folder(out)
    described = config["description"] + (f" (with {', '.join(changes)})" if changes else "")
    announce = f"jaxgem {args.command} {config['name']}: {described}"
    _in_worker(
        lambda: run(
            config,
            out,
            progress=not args.no_progress,
            restart=args.restart,
            quick=args.quick,
            overrides=changes,
            announce=lambda: print(announce, file=sys.stderr),
        )
    )
    return 0


def _process_folder(out: Path) -> Path:
    """Process 0 writes into `out`; the others of a distributed run into `out/.process<i>`
    (their checkpoints, and copies of what process 0 writes)."""
    import jax

    return out if jax.process_index() == 0 else out / f".process{jax.process_index()}"


def _fit(args) -> int:
    config = apply_overrides(_resolve(args.target), args.overrides)
    if args.seeds is not None and args.seeds < 1:
        raise ConfigError(f"--seeds must be a positive integer, got {args.seeds}")
    _start(args)
    from .fitting import fit_command, parse_free  # imports JAX

    free = parse_free(args.free)
    out = Path(args.out) if args.out else Path("runs") / f"fit-{config['name']}"
    announce = f"jaxgem fit {args.data} with {config['name']}: {config['description']}"
    return _in_worker(
        lambda: fit_command(
            config,
            args.data,
            free,
            out,
            seeds=args.seeds,
            announce=lambda: print(announce, file=sys.stderr),
        )
    )


def _sweep(args) -> int:
    from ..sweep.grid import GridError, SweepGrid

    try:
        grid = SweepGrid.load(args.grid)  # a malformed grid is refused before JAX starts
    except GridError as error:
        raise ConfigError(str(error)) from None
    out = Path(args.out) if args.out else Path("runs") / f"sweep-{Path(args.grid).stem}"
    _start(args)
    from .sweep_job import run_sweep, sweep_configs

    points = sweep_configs(grid)  # every point checked before any work
    out = _process_folder(out)
    _in_worker(
        lambda: run_sweep(grid, points, out, progress=not args.no_progress, restart=args.restart)
    )
    return 0


def _in_worker(work):
    """Run `work` in a worker thread and wait for it in this one, which Python's SIGINT handler
    can always interrupt (a compiled JAX call in the main thread defers it until it returns).
    On Ctrl-C the worker is asked to stop at its next Python step (the simulation then saves
    its checkpoint) and given a moment to do so."""
    outcome: dict = {}
    finished = threading.Event()  # not Thread.join: an interrupted join can leave it unusable

    def target():
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed to the main thread
            outcome["error"] = error
        finally:
            finished.set()

    worker = threading.Thread(target=target, name="jaxgem-run", daemon=True)
    worker.start()
    try:
        while not finished.wait(0.1):
            pass
    except KeyboardInterrupt:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(worker.ident), ctypes.py_object(KeyboardInterrupt)
        )
        finished.wait(2.0)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (0, 1 a run that could not finish, 2 bad input,
    130 interrupted)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "presets":
            _list(list(PRESETS))
            return 0
        if args.command == "curves" and args.list:
            _list(preset_names("erm") + preset_names("bayes") + preset_names("committee"))
            return 0
        if args.command == "config":
            print(to_toml(_resolve(args.target)), end="")
            return 0
        if args.command == "fit":
            return _fit(args)
        if args.command == "sweep":
            return _sweep(args)
        return _run(args, erm_only=args.command == "curves")
    except ConfigError as error:
        print(f"jaxgem: error: {error}", file=sys.stderr)
        return 2
    except StartError as error:
        print(f"jaxgem: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        print(
            f"jaxgem: error: cannot write{where}: {error.strerror or error}; what was saved "
            "before is kept: free the space or fix the folder and run the same command again",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(
            "jaxgem: interrupted; the checkpoints are saved: run the same command again to resume",
            file=sys.stderr,
        )
        return 130


def console() -> None:
    """The `jaxgem` executable: `main`, then an immediate exit once its output is flushed.

    After Ctrl-C it does not wait for a worker thread still inside a compiled call. Otherwise it
    skips JAX's own clean-up at exit (freeing every compiled program and buffer, 0.5-0.8 s of a
    warm `jaxgem run`): every file is written and closed by then. A process of a distributed run
    exits normally, through `jax.distributed`'s shutdown, which the other processes wait for."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    if code == 130 or not _distributed():
        os._exit(code)
    sys.exit(code)


def _distributed() -> bool:
    jax = sys.modules.get("jax")
    return jax is not None and getattr(jax.distributed, "is_initialized", lambda: True)()


if __name__ == "__main__":  # pragma: no cover
    console()
