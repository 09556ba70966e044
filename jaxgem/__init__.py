"""jaxgem: online learning and Gaussian equivalence of shallow networks on structured data, in JAX.

One problem object (data model, teacher, student, hyperparameters) feeds the simulation
(`simulate`) and every theory (`theory`); the same data models feed full-batch ERM and its
replica curves (`jaxgem.replica`).

Goldt, Loureiro, Reeves, Krzakala, Mézard, Zdeborová, "The Gaussian equivalence of generative
models for learning with shallow neural networks" (MSML 2021).
"""

__version__ = "0.2.0"

import importlib
import sys
import types

# Public names and the submodule each comes from. They are imported on first use, so that the
# command line's `presets`, `config` and `--help` start without importing JAX.
_SOURCES = {
    "activations": [
        "ACTIVATIONS",
        "Activation",
        "Custom",
        "Erf",
        "Linear",
        "Quadratic",
        "Quadrature",
        "ReLU",
        "Sign",
        "Tanh",
        "get_activation",
    ],
    "data": [
        "CovarianceDataModel",
        "DataModel",
        "Dataset",
        "GaussianEquivalent",
        "GeneratorData",
        "HiddenManifold",
        "HiddenManifoldLimit",
        "IIDGaussian",
    ],
    "hyperparameters": ["Hyperparameters"],
    "initialisers": ["GaussianInit", "InformedInit", "NetworkInit"],
    "networks": ["TwoLayerNetwork"],
    "ode": ["ODESolution", "theory"],
    "online": ["simulate"],
    "order_parameters": ["OrderParameters", "generalisation_error"],
    "problem": ["Problem"],
    "regimes": ["REGIMES", "RegimeScaling", "regime_scaling"],
    "results": ["Trajectory"],
    "schedules": ["Piecewise", "PowerLaw", "Schedule", "ScheduleFunction"],
    "fit": ["Curve", "FitResult", "ScheduleDesign", "design_schedule", "fit", "fit_replica"],
    "sweep": ["RunLayout"],
}
_SUBMODULES = [
    "bayes",
    "committee",
    "data",
    "diagnostics",
    "generators",
    "ode",
    "online",
    "replica",
    "schedules",
    "sweep",
]
_WHERE = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = sorted(_WHERE) + _SUBMODULES


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'jaxgem' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """`jaxgem.fit` is the function: importing the submodule `jaxgem.fit` (which Python then
    binds on its package) must not hide it."""

    def __setattr__(self, name, value):
        if name in _WHERE and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
