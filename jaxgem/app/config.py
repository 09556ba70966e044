"""Configurations of the two jobs of the command line, online SGD with its ODE theory (`job =
"online"`) and full-batch ERM learning curves with their replica theory (`job = "erm"`): one
validated two-level dictionary, from presets, TOML files and `section.key=value` overrides.

Every key a configuration may hold is listed in `DEFAULTS`; an unknown section or key, or a value
of the wrong type, is an error that names it and lists what is accepted. `curves`, a list of
partial configurations (each optionally with a `label`), runs several curves side by side, each
its base configuration updated by the entry.
"""

from __future__ import annotations

import copy
import math
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
    # "online": online SGD simulated and predicted by the ODEs; "erm": full-batch learning curves,
    # replica theory against finite-size ERM
    "job": "online",
    "seed": 0,  # the root of every random key: data model, networks, input streams, samples
    "seeds": 8,  # independent runs per curve (online) or per ERM point (erm)
    "data": {
        # "iid" | "hidden_manifold" | "deep_sign" (deep random sign generator) | "conv" (DCGAN-
        # style, random weights) | "digits_flow" (real NVP trained on scikit-learn's digits) |
        # "digits" (scikit-learn's digits themselves, a dataset)
        "model": "hidden_manifold",
        "N": 1000,  # input dimension (conv: 3072, digits_flow: 64; erm: p, the features)
        "D": None,  # latent dimension (derived: N / 2 for generators; iid inputs have none)
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
        "batch_size": 1,  # samples per step (a list makes a sweep)
        # learning-rate schedule eta(t) = lr f(t): "constant" | "power_law" (f = (1 + t /
        # tau)^-beta) | "piecewise" (f = factors[i] between boundaries, one more factor)
        "schedule": "constant",
        "schedule_tau": 10.0,  # power_law: tau (a list makes a sweep, zipped with the others)
        "schedule_beta": 1.0,  # power_law: beta (likewise)
        "schedule_boundaries": [],  # piecewise: increasing times
        "schedule_factors": [],  # piecewise: non-negative factors, len(boundaries) + 1
        "train_second_layer": False,
        "spherical": False,  # scale every student unit back to |w|^2 = N after each step (iid)
        "product": False,  # sweep every combination of the lists instead of zipping them
    },
    "record": {
        "t_max": 50.0,  # time t = steps / N
        "save_every": 20.0,  # seconds between checkpoints
        "n_records": 50,
        "spacing": "log",  # "log" | "linear"
        "test_set_size": 0,  # > 0: also estimate eg on a held-out set
        # keep the students' weights and test how Gaussian the fields are at every record
        # (first run of each curve; diagnostics.csv)
        "diagnostics": False,
    },
    "erm": {
        "loss": "square",  # "square" | "logistic" | "hinge"
        "lam": 0.1,  # l2 penalty lambda
        "teacher": "linear",  # "linear" (regression) | "sign" (classification) on theta . c
        "noise": 0.0,  # label noise variance (on the field before the sign, for "sign")
        "alphas": [0.25, 0.5, 1.0, 2.0, 4.0],  # sample complexities n / p of the theory curve
        "simulate_at": [0.5, 1.0, 2.0],  # where finite-size ERM checks it
        "log_y": False,  # plot the errors on a log scale
    },
    "bayes": {
        # Bayes-optimal GLM y ~ P_out(. | x . w* / sqrt d), w* ~ prior (THEORY.md Sec. 8)
        "prior": "gaussian",  # "gaussian" | "rademacher" | "gauss-bernoulli"
        "density": 0.5,  # gauss-bernoulli: fraction of non-zero weights, in (0, 1]
        "channel": "sign",  # "sign" | "probit" | "linear" | "abs" | "relu" | "logit"
        "noise": 0.0,  # sign/probit and linear: variance of the Gaussian noise
        "alphas": [0.25, 0.5, 1.0, 2.0, 4.0],  # state evolution on this grid of n / d
        "gamp_at": [0.5, 1.0, 2.0],  # where GAMP runs on finite instances ([] for none)
        "gamp_N": 2000,  # GAMP: the dimension d
        "gamp_iterations": 30,
        "gamp_damping": 0.0,
        "start_overlap": 0.0,  # GAMP's (and its prediction's) start; abs needs > 0
        "densities": [],  # gauss-bernoulli: also the phase diagram over these densities
        "versus_erm": False,  # sign, gaussian: optimally regularised logistic and ridge beside
    },
    "committee": {
        # Bayes-optimal committee machine Y = phi_out(X W* / sqrt d), rows of W* ~ prior
        # (THEORY.md Sec. 9)
        "K": 2,  # hidden units (state evolution for K = 2 and 3; linear units any K)
        "prior": "gaussian",  # "gaussian" (N(0, I_K)) | "binary" (entries +-1)
        "channel": "sign",  # "sign" (sign of the vote; ties 0) | "linear" | "erf" | "relu"
        "noise": 0.0,  # soft committees: label noise variance (erf, relu need > 0)
        "alphas": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0],  # state evolution on this grid of n / d
        "transitions": True,  # alpha_alg and alpha_spec (sign committee)
        "amp_at": [1.5, 3.0],  # where AMP runs on finite instances ([] for none)
        "amp_d": 2000,  # AMP: the dimension d
        "amp_iterations": 20,
        "amp_damping": 0.0,
        "start_overlap": 0.05,  # AMP's (and its prediction's) start: 0 stays non-specialised
        "large_k_alphas": [],  # sign, gaussian: the K -> infinity limit on this grid of alpha/K
        "finite_k": [],  # sign, gaussian: thresholds at these odd K (symmetric, Monte Carlo)
        "finite_k_samples": 8000,  # Monte Carlo draws per K (the error of alpha_spec ~ 1 %)
    },
    "escape": {
        # spherical online SGD of h_k on a single-index teacher h_k (h_k = He_k / sqrt k!), from
        # the equator: escape time against d, simulated and by the ODE (jaxgem.escape)
        "k": [1, 2, 3],  # information exponents, each a study over dimensions
        "dims": [250, 500, 1000, 2000, 4000],  # dimensions for k = 1, 2
        "dims_high_k": [100, 200, 400, 800],  # for k >= 3 (lr ~ d^-(k-2)/2: d^(k-1) samples)
        "lr0": [],  # per k: lr = lr0 d^-(k-2)/2; [] for jaxgem.escape.DEFAULT_LR0
        "overlap_scale": 2.0,  # start at cosine overlap_scale / sqrt d
        "threshold": 0.5,  # escaped once the cosine with the teacher reaches it
        "horizon": 2.0,  # simulate to this many times the ODE's escape time
        "n_records": 200,  # records, linearly spaced
    },
    "finite": {
        # a fixed training set of n = alpha N samples of the data model above, reused by
        # full-batch gradient descent and multi-pass SGD, beside one-pass SGD (jaxgem.finite)
        "alphas": [0.5, 2.0],  # sample complexities n / N
        "gd_steps": 300,  # gradient-descent steps (tau = lr * steps)
        "multipass_epochs": 30,  # passes of multi-pass SGD (tau = lr * epochs * alpha)
        "n_records": 31,
    },
    "phase": {
        # the SGD phase diagram over the width scalings: student of K units with output scale
        # K^-kappa, learning rate lr0 K^-delta, teacher of M units (readouts 1/M), iid inputs,
        # label noise; regimes from the ODEs, one cell of each simulated (jaxgem.phases)
        "kappas": [0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05, 1.2, 1.35, 1.5],
        "deltas": [-1.5, -1.25, -1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0],
        "K": 8,
        "M": 2,
        "lr0": 1.0,
        "noise": 0.1,  # label noise sigma
        "horizon": 1000.0,  # the sample budget t = steps / N
        "N": 1000,  # input dimension of the start and of the simulations
        "learn_fraction": 0.02,  # learnt: eg below this fraction of the zero predictor's
        "divergence": 50.0,  # diverged: an order parameter above it
        "confirm": True,  # simulate one cell of each regime (top-level seeds)
    },
    "meanfield": {
        # the wide-network limit: the particle flow of the units' overlaps (m_i, q_i) at several
        # widths p, and online SGD of p-unit networks (output 1/p, lr = p lr0) beside the flow
        # from their own particles (jaxgem.meanfield); erf, iid inputs
        "flow_p": [10, 100, 1000, 3000],  # widths of the particle flow alone
        "sgd_p": [100, 300, 1000],  # widths simulated by SGD (seeds: top-level seeds)
        "d": 1000,  # input dimension of the simulations
        "k": 1,  # teacher units
        "lr0": 0.5,  # lr = p lr0: tau = lr0 t
        "batch_size": 32,  # SGD's variance weight lr0 / batch_size
        "spread": 0.5,  # initial overlaps m ~ N(0, spread^2), perpendicular norm 1
        "tau_max": 4.0,
        "n_records": 9,
    },
    "curves": [],  # several curves side by side: partial configurations, each with a "label"
}

_CHOICES = {
    ("job",): ("online", "erm", "bayes", "committee", "escape", "finite", "phase", "meanfield"),
    ("committee", "prior"): ("gaussian", "binary"),
    ("committee", "channel"): ("sign", "linear", "erf", "relu"),
    ("bayes", "prior"): ("gaussian", "rademacher", "gauss-bernoulli"),
    ("bayes", "channel"): ("sign", "probit", "linear", "abs", "relu", "logit"),
    ("data", "model"): ("iid", "hidden_manifold", "deep_sign", "conv", "digits_flow", "digits"),
    ("data", "moments"): ("exact", "gaussian_equivalent", "recursion", "monte_carlo"),
    ("teacher", "init"): ("gaussian", "small"),
    ("student", "init"): ("gaussian", "small", "informed"),
    ("teacher", "output_scaling"): ("1", "1/K", "1/sqrt(K)"),
    ("student", "output_scaling"): ("1", "1/K", "1/sqrt(K)"),
    ("record", "spacing"): ("log", "linear"),
    ("erm", "loss"): ("square", "logistic", "hinge"),
    ("erm", "teacher"): ("linear", "sign"),
    ("training", "schedule"): ("constant", "power_law", "piecewise"),
}
_SWEEPABLE = {
    ("training", k)
    for k in ("lr", "lr_v", "noise", "weight_decay", "batch_size", "schedule_tau", "schedule_beta")
}
_POSITIVE_LISTS = {("erm", "alphas"), ("erm", "simulate_at"), ("bayes", "alphas"),
                   ("bayes", "gamp_at"), ("bayes", "densities"), ("committee", "alphas"),
                   ("committee", "amp_at"), ("committee", "large_k_alphas"),
                   ("escape", "lr0"), ("finite", "alphas")}  # fmt: skip
_MAY_BE_EMPTY = {("bayes", "gamp_at"), ("bayes", "densities"), ("committee", "amp_at"),
                 ("committee", "large_k_alphas"), ("escape", "lr0")}  # fmt: skip
#: numbers within an interval: (low, low included, high, high included)
_INTERVALS = {
    ("bayes", "density"): (0.0, False, 1.0, True),
    ("bayes", "noise"): (0.0, True, math.inf, False),
    ("bayes", "gamp_damping"): (0.0, True, 1.0, False),
    ("bayes", "start_overlap"): (0.0, True, 1.0, False),
    ("committee", "noise"): (0.0, True, math.inf, False),
    ("committee", "amp_damping"): (0.0, True, 1.0, False),
    ("committee", "start_overlap"): (0.0, True, 1.0, False),
    ("escape", "threshold"): (0.0, False, 1.0, False),
    ("escape", "horizon"): (1.0, True, math.inf, False),
    ("escape", "overlap_scale"): (0.0, False, math.inf, False),
    ("phase", "learn_fraction"): (0.0, False, 1.0, False),
    ("phase", "divergence"): (1.0, False, math.inf, False),
    ("phase", "noise"): (0.0, True, math.inf, False),
}
_NUMBER_LISTS = {("training", "schedule_boundaries"), ("training", "schedule_factors"),
                 ("phase", "kappas"), ("phase", "deltas")}  # fmt: skip
_POSITIVE_INT_LISTS = {("meanfield", "flow_p"), ("meanfield", "sgd_p")}
_POSITIVE_INT = {
    ("data", "N"),
    ("data", "moment_samples"),
    ("data", "flow_steps"),
    ("teacher", "K"),
    ("student", "K"),
    ("record", "n_records"),
    ("seeds",),
    ("bayes", "gamp_N"),
    ("bayes", "gamp_iterations"),
    ("committee", "K"),
    ("committee", "amp_d"),
    ("committee", "amp_iterations"),
    ("committee", "finite_k_samples"),
    ("escape", "n_records"),
    ("finite", "gd_steps"),
    ("finite", "n_records"),
    ("phase", "K"),
    ("phase", "M"),
    ("phase", "N"),
    ("meanfield", "d"),
    ("meanfield", "k"),
    ("meanfield", "batch_size"),
}
_NON_NEGATIVE_INT = {("record", "test_set_size")}
_POSITIVE_NUMBER = {("record", "t_max"), ("record", "save_every"), ("data", "moment_rtol"),
                    ("finite", "multipass_epochs"), ("phase", "lr0"),
                    ("phase", "horizon"), ("meanfield", "lr0"), ("meanfield", "spread"),
                    ("meanfield", "tau_max")}  # fmt: skip
_NUMBER = (int, float)


def _is_number(value) -> bool:
    return isinstance(value, _NUMBER) and not isinstance(value, bool)


def _check_value(path: tuple, value, default) -> None:
    where = ".".join(path)
    if path in _CHOICES and value not in _CHOICES[path]:
        raise ConfigError(f"{where} = {value!r} is not one of {_CHOICES[path]}")
    if path in _SWEEPABLE:
        items = value if isinstance(value, list) else [value]
        if value is not None and (not items or not all(_is_number(v) for v in items)):
            raise ConfigError(f"{where} must be a number or a list of numbers, got {value!r}")
        return
    if path in _POSITIVE_LISTS:
        if (
            not isinstance(value, list)
            or (not value and path not in _MAY_BE_EMPTY)
            or not all(_is_number(v) and v > 0 for v in value)
        ):
            raise ConfigError(f"{where} must be a list of positive numbers, got {value!r}")
        return
    if path in _INTERVALS:
        low, low_in, high, high_in = _INTERVALS[path]
        inside = _is_number(value) and (value >= low if low_in else value > low)
        inside = inside and (value <= high if high_in else value < high)
        if not inside:
            accepted = f"{'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"
            raise ConfigError(f"{where} must be a number in {accepted}, got {value!r}")
        return
    if path in _NUMBER_LISTS:
        if not isinstance(value, list) or not all(_is_number(v) for v in value):
            raise ConfigError(f"{where} must be a list of numbers, got {value!r}")
        return
    if path in _POSITIVE_INT_LISTS:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise ConfigError(f"{where} must be a non-empty list of positive integers, got "
                              f"{value!r}")  # fmt: skip
        return
    if path in _POSITIVE_INT or (path == ("data", "D") and value is not None):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{where} must be a positive integer, got {value!r}")
        return
    if path in _NON_NEGATIVE_INT:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where} must be a non-negative integer, got {value!r}")
        return
    if path in _POSITIVE_NUMBER:
        if not _is_number(value) or not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{where} must be a positive finite number, got {value!r}")
        return
    if path == ("committee", "finite_k"):
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 3 and v % 2 for v in value
        ):
            raise ConfigError(f"{where} must be a list of odd integers >= 3, got {value!r}")
        return
    if path == ("escape", "k"):
        if (
            not isinstance(value, list)
            or not value
            or not all(
                isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 8 for v in value
            )
        ):
            raise ConfigError(f"{where} must be a list of integers in 1..8, got {value!r}")
        return
    if path in (("escape", "dims"), ("escape", "dims_high_k")):
        if (
            not isinstance(value, list)
            or len(value) < 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 4 for v in value)
            or any(b <= a for a, b in zip(value, value[1:]))
        ):
            raise ConfigError(
                f"{where} must be two or more increasing integers >= 4, got {value!r}"
            )
        return
    if path == ("data", "hidden"):
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
        ):
            raise ConfigError(f"{where} must be a list of positive integers, got {value!r}")
        return
    if path[-1] == "readout":
        if value != "gaussian" and not _is_number(value):
            raise ConfigError(f"{where} must be a number or 'gaussian', got {value!r}")
        return
    if default is None or value is None:
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, _NUMBER):
        ok = _is_number(value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{where} must be of type {type(default).__name__}, got {value!r}")


def _merge_sections(out: dict, update: dict, *, allow_label: bool = False) -> dict:
    for key, value in update.items():
        if key == "label" and allow_label:
            if not isinstance(value, str):
                raise ConfigError(f"a curve's label must be a string, got {value!r}")
            out["label"] = value
            continue
        if key not in DEFAULTS or (allow_label and key in ("curves", "job", "name", "seed")):
            valid = sorted(k for k in DEFAULTS if not (allow_label and k in ("curves", "job")))
            where = "curve" if allow_label else "config"
            raise ConfigError(f"unknown {where} key {key!r}; valid keys: {valid}")
        if key == "curves":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"curves must be a list of tables, got {value!r}")
            out["curves"] = [_merge_sections({}, entry, allow_label=True) for entry in value]
        elif isinstance(DEFAULTS[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config section [{key}] must be a table, got {value!r}")
            section = out.setdefault(key, {})
            for sub, subvalue in value.items():
                if sub not in DEFAULTS[key]:
                    raise ConfigError(
                        f"unknown config key {key}.{sub}; valid keys in [{key}]: "
                        f"{sorted(DEFAULTS[key])}"
                    )
                _check_value((key, sub), subvalue, DEFAULTS[key][sub])
                section[sub] = copy.deepcopy(subvalue)
        else:
            _check_value((key,), value, DEFAULTS[key])
            out[key] = value
    return out


def merge(base: dict, update: dict) -> dict:
    """`base` updated by `update` (two-level, plus the `curves` list); every key of `update`
    must exist in `DEFAULTS` and have an accepted value."""
    return _merge_sections(copy.deepcopy(base), update)


def curve_configs(config: dict) -> list[tuple[str | None, dict]]:
    """`(label, configuration)` of every curve: the base alone, or the base updated by each
    entry of `curves`."""
    if not config["curves"]:
        return [(None, config)]
    out = []
    for entry in config["curves"]:
        entry = dict(entry)
        label = entry.pop("label", None)
        out.append((label, merge({**config, "curves": []}, entry)))
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
    """A TOML file merged over DEFAULTS (named after the file unless it sets `name`)."""
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


def _toml_table(lines: list[str], header: str, table: dict) -> None:
    lines.append(f"\n{header}")
    for key, value in table.items():
        prefix = "# " if value is None else ""
        shown = "(derived)" if value is None else _toml_value(value)
        lines.append(f"{prefix}{key} = {shown}")


def to_toml(config: dict) -> str:
    """The configuration as TOML (keys with value `None`, meaning "derived", are commented;
    curves as an array of tables)."""
    lines = [
        f"{k} = {_toml_value(v)}" for k, v in config.items() if not isinstance(v, (dict, list))
    ]
    lines += [
        f"{k} = {_toml_value(v)}"
        for k, v in config.items()
        if isinstance(v, list) and k != "curves"
    ]
    for key, value in config.items():
        if isinstance(value, dict):
            _toml_table(lines, f"[{key}]", value)
    for entry in config.get("curves", []):
        lines.append("\n[[curves]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items() if not isinstance(v, dict)]
        for key, value in entry.items():
            if isinstance(value, dict):
                _toml_table(lines, f"[curves.{key}]", value)
    return "\n".join(lines) + "\n"
