"""The `jaxgem` command line.

jaxgem run                      the default experiment (sign hidden manifold vs its Gaussian
                                equivalent), results in runs/default/
jaxgem run PRESET|CONFIG.toml [--out DIR] [--seeds S] [--set section.key=value ...]
jaxgem presets                  list the presets
jaxgem config PRESET            print a preset's full configuration as TOML, to edit and run
jaxgem curves [PRESET] [--out DIR] [--seeds S] [--quick]
                                full-batch learning curves: replica theory against ERM
                                (default rf-ridge; `jaxgem curves --list` lists them)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import ConfigError, apply_overrides, load_config, merge, to_toml
from .presets import PRESETS, preset

__all__ = ["main"]


def _resolve(target: str) -> dict:
    if target.endswith(".toml") or Path(target).is_file():
        return load_config(target)
    return preset(target)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxgem",
        description="Online learning of two-layer networks on structured data, and its theory.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run an experiment (default: the default preset)")
    run.add_argument("target", nargs="?", default="default", help="preset name or TOML file")
    run.add_argument("--out", help="output folder (default: runs/NAME)")
    run.add_argument("--seeds", type=int, help="number of seeds per curve")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a configuration value",
    )
    run.add_argument(
        "--restart",
        action="store_true",
        help="ignore checkpoints in the output folder and start again",
    )
    run.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    commands.add_parser("presets", help="list the presets")
    show = commands.add_parser("config", help="print a preset's configuration as TOML")
    show.add_argument("target", nargs="?", default="default")
    curves = commands.add_parser(
        "curves", help="full-batch ERM learning curves: replica theory against simulations"
    )
    curves.add_argument("target", nargs="?", default="rf-ridge", help="curve preset")
    curves.add_argument("--out", help="output folder (default: runs/curves-PRESET)")
    curves.add_argument("--seeds", type=int, default=8, help="ERM seeds per point")
    curves.add_argument("--quick", action="store_true", help="every other ERM point")
    curves.add_argument("--list", action="store_true", help="list the curve presets")
    return parser


def _curves(args) -> int:
    from .replica.curves import CURVE_PRESETS, run_curves  # imports JAX

    if args.list:
        width = max(map(len, CURVE_PRESETS))
        for name, preset in CURVE_PRESETS.items():
            print(f"{name:<{width}}  {preset.description}")
        return 0
    if args.target not in CURVE_PRESETS:
        raise ConfigError(
            f"unknown curve preset {args.target!r}; choose from {sorted(CURVE_PRESETS)}"
        )
    if args.seeds < 2:
        raise ConfigError(f"--seeds must be at least 2 (for error bars), got {args.seeds}")
    out = Path(args.out) if args.out else Path("runs") / f"curves-{args.target}"
    print(f"jaxgem curves {args.target}: {CURVE_PRESETS[args.target].description}", file=sys.stderr)
    run_curves(args.target, out, seeds=args.seeds, quick=args.quick)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "presets":
            width = max(map(len, PRESETS))
            for name in PRESETS:
                print(f"{name:<{width}}  {PRESETS[name]['description']}")
            return 0
        if args.command == "curves":
            return _curves(args)
        config = _resolve(args.target)
        if args.command == "config":
            print(to_toml(config), end="")
            return 0
        config = apply_overrides(config, args.overrides)
        if args.seeds is not None:
            config = merge(config, {"seeds": args.seeds})
        out = Path(args.out) if args.out else Path("runs") / config["name"]
        from .experiment import run_experiment  # imports JAX: keep `presets` instant

        print(f"jaxgem run {config['name']}: {config['description']}", file=sys.stderr)
        run_experiment(config, out, progress=not args.no_progress, restart=args.restart)
        return 0
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
