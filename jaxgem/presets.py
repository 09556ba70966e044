"""Named experiments for `jaxgem run PRESET`: each a partial configuration over DEFAULTS."""

from __future__ import annotations

from .config import DEFAULTS, ConfigError, merge

__all__ = ["PRESETS", "preset"]

PRESETS: dict[str, dict] = {
    "default": {
        "name": "default",
        "description": "K=M=2 erf networks learning online from a sign hidden manifold model "
        "(N=1000, D=500, eta=0.2), beside the same experiment on its Gaussian equivalent",
    },
    "iid-plateau": {
        "name": "iid-plateau",
        "description": "Saad-Solla soft committee machine, iid inputs, K=M=2 erf, eta=0.5: "
        "the unspecialised plateau near eg=0.0147 and its escape",
        "data": {"model": "iid", "N": 1000, "gaussian_equivalent": False},
        "training": {"lr": 0.5},
        "record": {"t_max": 300.0},
        "seeds": 4,
    },
    "iid-lr-sweep": {
        "name": "iid-lr-sweep",
        "description": "iid inputs, K=M=2 erf, a sweep of six learning rates with output noise "
        "0.1, in one compiled call",
        "data": {"model": "iid", "N": 500, "gaussian_equivalent": False},
        "training": {"lr": [0.1, 0.3, 0.5, 1.0, 2.0, 3.0], "noise": 0.1},
        "record": {"t_max": 100.0},
        "seeds": 4,
    },
    "iid-overparameterised": {
        "name": "iid-overparameterised",
        "description": "iid inputs, a K=4 erf student learning a M=2 erf teacher, both layers "
        "trained (eta=0.5), with the ODE prediction",
        "data": {"model": "iid", "N": 1000, "gaussian_equivalent": False},
        "teacher": {"K": 2},
        "student": {"K": 4, "init": "gaussian", "std": 0.5, "readout": 0.5},
        "training": {"lr": 0.5, "train_second_layer": True},
        "record": {"t_max": 200.0},
        "seeds": 4,
    },
    "hmm-both-layers": {
        "name": "hmm-both-layers",
        "description": "sign hidden manifold (N=1000, D=500), K=M=2 erf, both layers trained "
        "(eta=0.2), random Gaussian readouts, beside the Gaussian equivalent",
        "teacher": {"readout": "gaussian"},
        "student": {"readout": "gaussian"},
        "training": {"train_second_layer": True},
    },
    "deep-sign": {
        "name": "deep-sign",
        "description": "the paper's deep random sign generator (D=100 -> 500 -> N=1000), K=M=2 "
        "erf, both layers (eta=0.2), beside its Gaussian equivalent, spectral theory from the "
        "arcsine layer recursion",
        "data": {
            "model": "deep_sign",
            "N": 1000,
            "D": 100,
            "hidden": [500],
            "moments": "recursion",
        },
        "training": {"train_second_layer": True},
        "record": {"t_max": 30.0, "n_records": 30, "diagnostics": True},
    },
    "conv-generator": {
        "name": "conv-generator",
        "description": "DCGAN-style convolutional generator with random weights (D=100, "
        "N=3072 = 3x32x32), Monte Carlo moments, K=M=2 erf, both layers (eta=0.2), 4 seeds",
        "seeds": 4,
        "data": {
            "model": "conv",
            "N": 3072,
            "D": 100,
            "moments": "monte_carlo",
            "moment_samples": 200000,
        },
        "training": {"train_second_layer": True},
        "record": {"t_max": 10.0, "n_records": 20},
    },
    "digits-flow": {
        "name": "digits-flow",
        "description": "real NVP trained on scikit-learn's 8x8 digits (N=D=64), Monte Carlo "
        "moments, K=M=2 erf, both layers (eta=0.2): a real-data generator",
        "data": {
            "model": "digits_flow",
            "N": 64,
            "D": 64,
            "moments": "monte_carlo",
            "moment_rtol": 0.02,
        },
        "training": {"train_second_layer": True},
        "record": {"t_max": 30.0, "n_records": 30},
    },
}


def preset(name: str) -> dict:
    """The full configuration of preset `name`."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}")
    return merge(DEFAULTS, PRESETS[name])
