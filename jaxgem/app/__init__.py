"""The application layer: configurations and presets of both jobs (online SGD with its ODE
theory, full-batch ERM with its replica curves), building jaxgem objects from them, one runner
writing tables, records and plots, and the `jaxgem` command line."""

from .cli import main
from .config import DEFAULTS, ConfigError, apply_overrides, load_config, merge, to_toml
from .presets import PRESETS, preset, preset_names

__all__ = [
    "main",
    "run",
    "summary_table",
    "DEFAULTS",
    "ConfigError",
    "load_config",
    "apply_overrides",
    "merge",
    "to_toml",
    "PRESETS",
    "preset",
    "preset_names",
]


def __getattr__(name: str):
    # the runner imports JAX: only when it is asked for
    if name in ("run", "summary_table"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'jaxgem.app' has no attribute {name!r}")
