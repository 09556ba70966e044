"""jaxgem: online learning and Gaussian equivalence of shallow networks on structured data, in JAX.

One problem object (data model, teacher, student, hyperparameters) feeds the simulation
(`simulate`) and every theory (`theory`); the same data models feed full-batch ERM and its
replica curves (`jaxgem.replica`).

Goldt, Loureiro, Reeves, Krzakala, Mézard, Zdeborová, "The Gaussian equivalence of generative
models for learning with shallow neural networks" (MSML 2021).
"""

__version__ = "0.2.0"

from ._lazy import lazy_names

# Public names and the submodule each comes from. They are imported on first use, so that the
# command line's `presets`, `config` and `--help` start without importing JAX.
__getattr__, __dir__, __all__ = lazy_names(
    __name__,
    {
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
        "hermite": ["Hermite"],
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
        "initialisers": ["GaussianInit", "InformedInit", "NetworkInit", "SphereInit"],
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
    },
    submodules=[
        "bayes",
        "committee",
        "data",
        "diagnostics",
        "escape",
        "finite",
        "generators",
        "hermite",
        "meanfield",
        "ode",
        "online",
        "phases",
        "replica",
        "schedules",
        "sweep",
    ],
)
