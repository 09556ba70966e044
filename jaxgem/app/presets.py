"""Named experiments for `jaxgem run PRESET` (and `jaxgem curves PRESET` for the full-batch ones):
each a partial configuration over DEFAULTS."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from .config import DEFAULTS, ConfigError, merge

__all__ = ["PRESETS", "preset", "preset_names"]


def _grid(values) -> list[float]:
    return [round(float(a), 4) for a in values]


def _erm(loss, teacher, lam) -> dict:
    return {
        "label": f"{loss}, {teacher} teacher, lambda = {lam}",
        "erm": {"loss": loss, "teacher": teacher, "lam": lam},
    }


_ISOTROPIC = {
    "job": "erm",
    "data": {"model": "iid", "N": 200, "gaussian_equivalent": False},
    "erm": {
        "alphas": _grid(np.geomspace(0.1, 5.0, 48)),
        "simulate_at": [0.25, 0.5, 1.0, 2.0, 4.0],
    },
}

_PRESETS: dict[str, dict] = {
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
    # ----------------------------------------------------------------- full-batch ERM curves
    "rf-ridge": {
        "name": "rf-ridge",
        "description": "double descent: ridge on actual erf random features (p = 200) of "
        "Gaussian inputs, against the replica curve of their Gaussian equivalent",
        "job": "erm",
        "data": {
            "model": "hidden_manifold",
            "N": 200,
            "activation": "erf",
            "moments": "gaussian_equivalent",
            "gaussian_equivalent": False,
        },
        "erm": {
            "loss": "square",
            "teacher": "linear",
            "lam": 1e-4,
            "log_y": True,
            "alphas": _grid(np.linspace(0.1, 3.0, 59)),
            "simulate_at": [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0],
        },
        "curves": [
            {
                "label": f"erf random features, D/p = {gamma}, ridge lambda = 1e-4",
                "data": {"D": int(gamma * 200)},
            }
            for gamma in (0.5, 1.0, 2.0)
        ],
    },
    "logistic-sign": {
        "name": "logistic-sign",
        "description": "logistic regression on the isotropic sign teacher (p = 200)",
        **_ISOTROPIC,
        "curves": [_erm("logistic", "sign", 0.1), _erm("logistic", "sign", 0.01)],
    },
    "hinge-sign": {
        "name": "hinge-sign",
        "description": "support vector machine (hinge) on the isotropic sign teacher (p = 200)",
        **_ISOTROPIC,
        "curves": [_erm("hinge", "sign", 0.1), _erm("hinge", "sign", 0.01)],
    },
    "square-sign": {
        "name": "square-sign",
        "description": "square loss on sign labels (l2 classification), isotropic (p = 200)",
        **_ISOTROPIC,
        "curves": [_erm("square", "sign", 0.1), _erm("square", "sign", 0.01)],
    },
    "deep-sign-features": {
        "name": "deep-sign-features",
        "description": "logistic regression on inputs of a deep random sign generator (D = 50 "
        "-> 200 -> 400), teacher on the latent, against the curve of the layer recursion's "
        "moments",
        "job": "erm",
        "data": {
            "model": "deep_sign",
            "N": 400,
            "D": 50,
            "hidden": [200],
            "moments": "recursion",
            "gaussian_equivalent": False,
        },
        "erm": {
            "loss": "logistic",
            "teacher": "sign",
            "lam": 0.01,
            "alphas": _grid(np.geomspace(0.1, 5.0, 48)),
            "simulate_at": [0.25, 0.5, 1.0, 2.0, 4.0],
        },
    },
    "digits": {
        "name": "digits",
        "description": "real data: scikit-learn's digits (61 standardised pixels), random "
        "linear teacher; ERM on the images against the curve of their empirical covariance",
        "job": "erm",
        "data": {"model": "digits", "N": 61, "D": 61, "gaussian_equivalent": False},
        "erm": {
            "lam": 0.01,
            "alphas": _grid(np.geomspace(0.2, 20.0, 48)),
            "simulate_at": [0.5, 1.0, 2.0, 5.0, 10.0, 20.0],
        },
        "curves": [
            {
                "label": "digits, logistic lambda = 0.01",
                "erm": {"loss": "logistic", "teacher": "sign"},
            },
            {
                "label": "digits, square lambda = 0.01",
                "erm": {"loss": "square", "teacher": "linear", "log_y": True},
            },
        ],
    },
}

#: Every preset by name, a partial configuration over `DEFAULTS` (read-only).
_BAYES = {
    "perceptron": {
        "description": "Bayes-optimal perceptron (Gaussian weights, sign teacher): the optimal "
        "classification error, GAMP at N=2000, optimally regularised logistic and ridge beside",
        "bayes": {
            "prior": "gaussian",
            "channel": "sign",
            "alphas": _grid(np.geomspace(0.1, 10, 40)),
            "gamp_at": [0.5, 1.0, 2.0, 5.0],
            "gamp_iterations": 20,
            "versus_erm": True,
        },
    },
    "binary-perceptron": {
        "description": "binary (Rademacher) perceptron: AMP's branch against perfect recovery, "
        "alpha_IT ~ 1.245 and alpha_alg ~ 1.493, GAMP at N=2000",
        "bayes": {
            "prior": "rademacher",
            "channel": "sign",
            "alphas": _grid(np.linspace(0.1, 2.5, 49)),
            "gamp_at": [0.5, 1.0, 2.0],
            "gamp_iterations": 30,
        },
    },
    "phase-retrieval": {
        "description": "real phase retrieval (abs channel, Gaussian weights): weak recovery at "
        "0.5, alpha_IT = 1, alpha_alg ~ 1.13; GAMP from overlap 0.1",
        "bayes": {
            "prior": "gaussian",
            "channel": "abs",
            "alphas": _grid(np.linspace(0.1, 2.0, 39)),
            "gamp_at": [0.8, 1.5],
            "gamp_iterations": 20,
            "start_overlap": 0.1,
        },
    },
    "compressed-sensing": {
        "description": "noiseless compressed sensing, Gauss-Bernoulli weights of density 0.5: "
        "AMP perfect from alpha ~ 0.686; the phase diagram over densities",
        "bayes": {
            "prior": "gauss-bernoulli",
            "density": 0.5,
            "channel": "linear",
            "alphas": _grid(np.linspace(0.3, 1.0, 36)),
            "gamp_at": [0.6, 0.8],
            "gamp_iterations": 40,
            "densities": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
        },
    },
}
for _name, _preset in _BAYES.items():
    _PRESETS[_name] = {"name": _name, "job": "bayes", **_preset}

_COMMITTEE = {
    "committee": {
        "description": "committee machine, K=2 sign units, Gaussian weights: the continuous "
        "specialisation transition near alpha ~ 2, free entropies of both branches, AMP at d=2000",
        "committee": {
            "prior": "gaussian",
            "alphas": _grid(np.linspace(0.25, 4.0, 16)),
            "amp_at": [1.5, 3.0],
        },
    },
    "binary-committee": {
        "description": "committee machine, K=2 sign units, binary weights: the first-order jump "
        "to perfect recovery (alpha_spec < alpha_alg, a hard phase), AMP at d=2000",
        "committee": {
            "prior": "binary",
            "alphas": _grid(np.linspace(0.25, 3.0, 12)),
            "amp_at": [1.0, 2.5],
        },
    },
    "large-k-committee": {
        "description": "committee machine, sign units, Gaussian weights, K -> infinity with "
        "alpha = alpha~ K: the specialisation at alpha~ ~ 7.65, no AMP specialisation at "
        "alpha = O(K); the phase diagram in (1/K, alpha/K) with K = 2 and the thresholds at "
        "K = 3, 5, 9, 17 (Monte Carlo, about 3 minutes)",
        "committee": {
            "prior": "gaussian",
            "alphas": _grid(np.linspace(0.5, 3.0, 6)),
            "amp_at": [],
            "large_k_alphas": _grid(np.linspace(4.0, 12.0, 33)),
            "finite_k": [3, 5, 9, 17],
        },
    },
}
for _name, _preset in _COMMITTEE.items():
    _PRESETS[_name] = {"name": _name, "job": "committee", **_preset}

_PRESETS["finite-data"] = {
    "name": "finite-data",
    "job": "finite",
    "seeds": 8,
    "description": "gradient descent and multi-pass SGD on n = alpha N reused samples against "
    "one-pass SGD on n fresh ones: linear teacher and student, iid inputs N = 500, label noise "
    "0.5, alpha = 0.5, 1.5, 3; train and test error against the exact Marchenko-Pastur theory "
    "of least squares by gradient descent (about 30 s)",
    "data": {"model": "iid", "N": 500},
    "teacher": {"K": 1, "activation": "linear"},
    "student": {"K": 1, "activation": "linear", "init": "gaussian", "std": 0.0},
    "training": {"lr": 0.2, "noise": 0.5},
    "finite": {"alphas": [0.5, 1.5, 3.0], "gd_steps": 300, "multipass_epochs": 30},
}

_PRESETS["finite-data-features"] = {
    **_PRESETS["finite-data"],
    "name": "finite-data-features",
    "description": "gradient descent and multi-pass SGD on n = alpha N reused samples of a sign "
    "hidden manifold (N = 500, D = 250) against one-pass SGD on n fresh ones: linear teacher on "
    "the latent, linear student on the features, label noise 0.5, alpha = 0.5, 1.5, 3; train and "
    "test error against the theory of the Gaussian covariate model (about 15 s)",
    "data": {
        "model": "hidden_manifold",
        "N": 500,
        "D": 250,
        "activation": "sign",
        "gaussian_equivalent": False,
    },  # fmt: skip
}

_PRESETS["escape-times"] = {
    "name": "escape-times",
    "job": "escape",
    "seeds": 16,
    "description": "escape from the equator: spherical online SGD of h_k on a single-index h_k "
    "teacher, k = 1, 2, 3; escape time against d = 250 ... 4000 (k <= 2) and 100 ... 800 "
    "(k = 3, lr ~ d^-1/2), simulated medians and the ODE from m0 = 2/sqrt d, log-log slopes "
    "(about 15 minutes; --quick every other d)",
}

_PRESETS["phase-diagram"] = {
    "name": "phase-diagram",
    "job": "phase",
    "seeds": 4,
    "description": "the SGD phase diagram over width scalings: K = 8 erf students with output "
    "scale K^-kappa and learning rate K^-delta on an M = 2 teacher, iid inputs N = 1000, label "
    "noise 0.1, budget t = 1000; learns / plateau / noise-dominated / diverges on an 11 x 11 "
    "grid from the ODEs, one cell of each regime simulated (about 3 minutes; --quick every other "
    "grid point)",
}

_PRESETS["mean-field"] = {
    "name": "mean-field",
    "job": "meanfield",
    "seeds": 4,
    "description": "the wide-network limit: the particle flow of the units' overlaps with the "
    "teacher (erf, output 1/p) at p = 10, 100, 1000, 3000, and online SGD of p = 100, 300, 1000 "
    "unit networks (d = 1000, lr = p/2, mini-batches of 32) beside the flow from their own "
    "particles: eg and overlap histograms over time (about a minute; --quick p <= 1000 and SGD at "
    "p = 100)",
}

PRESETS: Mapping[str, dict] = MappingProxyType(_PRESETS)


def preset_names(job: str | None = None) -> list[str]:
    """The presets, optionally of one job (`"online"` or `"erm"`)."""
    return [n for n, p in PRESETS.items() if job is None or p.get("job", "online") == job]


def preset(name: str) -> dict:
    """The full configuration of preset `name`."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}")
    return merge(DEFAULTS, PRESETS[name])
