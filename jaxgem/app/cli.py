"""The `jaxgem` command line.

jaxgem run                      the default experiment (sign hidden manifold vs its Gaussian
                                equivalent, with the spectral ODE theory), results in runs/default/
jaxgem run PRESET|CONFIG.toml [--out DIR] [--seeds S] [--set section.key=value ...] [--quick]
jaxgem presets                  list the presets (online SGD and full-batch ERM)
jaxgem config PRESET            print a preset's full configuration as TOML, to edit and run
jaxgem curves [PRESET] [--out DIR] [--seeds S] [--quick] [--list]
                                the full-batch presets: replica theory against ERM (default
                                rf-ridge); the same runner as `jaxgem run`
"""

from __future__ import annotations

import argparse
import sys
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxgem",
        description="Online and full-batch learning of shallow networks on structured data, "
        "simulated and predicted.",
    )
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
    return parser


def _list(names) -> None:
    width = max(map(len, names))
    for name in names:
        job = PRESETS[name].get("job", "online")
        print(f"{name:<{width}}  [{job}] {PRESETS[name]['description']}")


def _run(args, *, erm_only: bool) -> int:
    config = _resolve(args.target)
    if erm_only and config["job"] != "erm":
        raise ConfigError(
            f"{args.target!r} is an online preset; `jaxgem curves` runs the full-batch presets "
            f"{preset_names('erm')} (or use `jaxgem run {args.target}`)"
        )
    config = apply_overrides(config, args.overrides)
    if args.seeds is not None:
        config = merge(config, {"seeds": args.seeds})
    if config["job"] == "erm" and config["seeds"] < 2:
        raise ConfigError(f"seeds must be at least 2 for ERM error bars, got {config['seeds']}")
    out = Path(args.out) if args.out else Path("runs") / config["name"]
    from .runner import run  # imports JAX: keep `presets` instant

    print(f"jaxgem {args.command} {config['name']}: {config['description']}", file=sys.stderr)
    run(config, out, progress=not args.no_progress, restart=args.restart, quick=args.quick)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "presets":
            _list(list(PRESETS))
            return 0
        if args.command == "curves" and args.list:
            _list(preset_names("erm"))
            return 0
        if args.command == "config":
            print(to_toml(_resolve(args.target)), end="")
            return 0
        return _run(args, erm_only=args.command == "curves")
    except ConfigError as error:
        print(f"jaxgem: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "jaxgem: interrupted; the checkpoints are saved: run the same command again to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
