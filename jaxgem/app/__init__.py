"""The application layer: configurations and presets of both jobs (online SGD with its ODE
theory, full-batch ERM with its replica curves), building jaxgem objects from them, one runner
writing tables, records and plots, and the `jaxgem` command line."""

from .cli import main
from .config import DEFAULTS, ConfigError, apply_overrides, load_config, merge, to_toml
from .presets import PRESETS, preset, preset_names
from .runner import run, summary_table

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
