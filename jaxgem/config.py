"""Experiment configurations: a validated two-level dictionary, from presets, TOML files and
`section.key=value` overrides.

Every key a configuration may hold is listed in `DEFAULTS`; an unknown section or key, or a value
of the wrong type, is an error that names it and lists what is accepted.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["DEFAULTS", "load_config", "apply_overrides", "merge", "to_toml", "ConfigError"]


class ConfigError(ValueError):
    """A configuration that cannot be run, with the reason."""


#: Every configuration key with its default. `None` means "derived" (see the comments).
DEFAULTS: dict = {
    "name": "default",
    "description": "",
    "seed": 0,  # the root of every random key: data model, networks, input streams
    "seeds": 8,  # number of independent runs per curve
    "data": {
        # "iid" | "hidden_manifold" | "deep_sign" (deep random sign generator) | "conv" (DCGAN-
        # style, random weights) | "digits_flow" (real NVP trained on scikit-learn's digits)
        "model": "hidden_manifold",
        "N": 1000,  # input dimension (conv: 3072, digits_flow: 64)
        "D": 500,  # latent dimension (digits_flow: 64)
        "activation": "sign",  # generator non-linearity f (hidden manifold only)
        "hidden": [500],  # hidden layer widths of the deep_sign generator (D -> hidden -> N)
        # covariances of the generator: hidden_manifold "exact" | "gaussian_equivalent";
        # deep_sign "recursion" | "monte_carlo"; conv and digits_flow "monte_carlo"
        "moments": "exact",
        "moment_rtol": 0.05,  # Monte Carlo moments: target relative Frobenius error
        "moment_samples": 400000,  # Monte Carlo moments: at most this many samples
        "flow_steps": 3000,  # digits_flow: Adam steps of maximum-likelihood training
        "gaussian_equivalent": True,  # also run on the Gaussian equivalent model, side by side
    },
    "teacher": {
        "K": 2,  # teacher hidden units (M in THEORY.md)
        "activation": "erf",
        "init": "gaussian",  # "gaussian" | "small"
        "std": 1.0,
        "readout": 1.0,  # a number, or "gaussian"
        "output_scaling": "1",  # "1" | "1/K" | "1/sqrt(K)"
    },
    "student": {
        "K": 2,
        "activation": "erf",
        "init": "small",  # "gaussian" | "small" | "informed" (iid only: aligned with the teacher)
        "std": 1e-3,
        "readout": 1.0,
        "output_scaling": "1",
        "overlap": 0.5,  # initial alignment for init = "informed"
    },
    "training": {
        "lr": 0.2,  # first-layer learning rate eta; a list makes a sweep
        "lr_v": None,  # second-layer learning rate (default: lr)
        "noise": 0.0,  # output noise sigma
        "weight_decay": 0.0,  # kappa
        "train_second_layer": False,
        "batch_size": 1,
        "product": False,  # sweep every combination of the lists instead of zipping them
    },
    "record": {
        "t_max": 50.0,  # time t = steps / N
        "n_records": 50,
        "spacing": "log",  # "log" | "linear"
        "test_set_size": 0,  # > 0: also estimate eg on a held-out set
        # keep the students' weights and test how Gaussian the fields are at every record
        # (first run of each curve; diagnostics.csv)
        "diagnostics": False,
    },
}

_CHOICES = {
    ("data", "model"): ("iid", "hidden_manifold", "deep_sign", "conv", "digits_flow"),
    ("data", "moments"): ("exact", "gaussian_equivalent", "recursion", "monte_carlo"),
    ("teacher", "init"): ("gaussian", "small"),
    ("student", "init"): ("gaussian", "small", "informed"),
    ("teacher", "output_scaling"): ("1", "1/K", "1/sqrt(K)"),
    ("student", "output_scaling"): ("1", "1/K", "1/sqrt(K)"),
    ("record", "spacing"): ("log", "linear"),
}
_SWEEPABLE = {("training", k) for k in ("lr", "lr_v", "noise", "weight_decay")}
_POSITIVE_INT = {
    ("data", "N"),
    ("data", "D"),
    ("data", "moment_samples"),
    ("data", "flow_steps"),
    ("teacher", "K"),
    ("student", "K"),
    ("training", "batch_size"),
    ("record", "n_records"),
    (None, "seeds"),
}


def _check_value(section: str | None, key: str, value, default) -> None:
    where = f"{section}.{key}" if section else key
    if (section, key) in _CHOICES and value not in _CHOICES[(section, key)]:
        raise ConfigError(f"{where} = {value!r} is not one of {_CHOICES[(section, key)]}")
    number = (int, float)
    if (section, key) in _SWEEPABLE:
        items = value if isinstance(value, list) else [value]
        if value is not None and not all(
            isinstance(v, number) and not isinstance(v, bool) for v in items
        ):
            raise ConfigError(f"{where} must be a number or a list of numbers, got {value!r}")
        return
    if (section, key) in _POSITIVE_INT:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{where} must be a positive integer, got {value!r}")
        return
    if (section, key) == ("data", "hidden"):
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        ):
            raise ConfigError(f"{where} must be a list of positive integers, got {value!r}")
        return
    if key == "readout":
        if value != "gaussian" and (isinstance(value, bool) or not isinstance(value, number)):
            raise ConfigError(f"{where} must be a number or 'gaussian', got {value!r}")
        return
    if default is None or value is None:
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, number):
        ok = isinstance(value, number) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{where} must be of type {type(default).__name__}, got {value!r}")


def merge(base: dict, update: dict) -> dict:
    """`base` updated by `update`, both two-level; every key of `update` must exist in DEFAULTS."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if key not in DEFAULTS:
            raise ConfigError(f"unknown config key {key!r}; valid keys: {sorted(DEFAULTS)}")
        if isinstance(DEFAULTS[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config section [{key}] must be a table, got {value!r}")
            for sub, subvalue in value.items():
                if sub not in DEFAULTS[key]:
                    raise ConfigError(
                        f"unknown config key {key}.{sub}; valid keys in [{key}]: "
                        f"{sorted(DEFAULTS[key])}"
                    )
                _check_value(key, sub, subvalue, DEFAULTS[key][sub])
                out[key][sub] = subvalue
        else:
            _check_value(None, key, value, DEFAULTS[key])
            out[key] = value
    return out


def _parse_value(text: str):
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word such as erf or hidden_manifold


def apply_overrides(config: dict, overrides: list[str]) -> dict:
    """Apply `section.key=value` strings (values in TOML syntax; bare words are strings)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        path, text = item.split("=", 1)
        parts = path.strip().split(".")
        value = _parse_value(text.strip())
        if len(parts) == 1:
            config = merge(config, {parts[0]: value})
        elif len(parts) == 2:
            config = merge(config, {parts[0]: {parts[1]: value}})
        else:
            raise ConfigError(f"override key {path!r} must be key or section.key")
    return config


def load_config(path: str | Path) -> dict:
    """A TOML file merged over DEFAULTS."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    config = merge(DEFAULTS, raw)
    config.setdefault("name", path.stem)
    if "name" not in raw:
        config["name"] = path.stem
    return config


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def to_toml(config: dict) -> str:
    """The configuration as TOML (keys with value `None`, meaning "derived", are commented)."""
    lines = []
    for key, value in config.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in config.items():
        if isinstance(value, dict):
            lines.append(f"\n[{key}]")
            for sub, subvalue in value.items():
                prefix = "# " if subvalue is None else ""
                shown = "(derived)" if subvalue is None else _toml_value(subvalue)
                lines.append(f"{prefix}{sub} = {shown}")
    return "\n".join(lines) + "\n"
