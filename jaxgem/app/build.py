"""From a configuration to jaxgem objects: data models, network initialisers, the `Problem` of an
online curve and the Gaussian covariate model of an ERM curve. The only place that reads the
configuration's sections."""

from __future__ import annotations

import contextlib
from pathlib import Path

import jax

from ..data import Dataset, GaussianEquivalent, GeneratorData, HiddenManifold, IIDGaussian
from ..data.base import DataModel
from ..generators.convolutional import ConvGenerator
from ..generators.deep_random import DeepRandomGenerator, sign_layer_recursion
from ..generators.digits import digits_flow
from ..generators.moments import estimate_moments
from ..hyperparameters import Hyperparameters
from ..initialisers import GaussianInit, InformedInit, NetworkInit
from ..online.schedule import record_blocks
from ..problem import Problem
from ..replica.gcm import GaussianCovariateModel, random_teacher
from ..schedules import Constant, Piecewise, PowerLaw, Schedule
from .config import ConfigError

__all__ = [
    "preflight",
    "latent_dim",
    "data_models",
    "hyperparameters",
    "network",
    "problem",
    "erm_model",
    "named",
]

_MOMENTS = {
    "hidden_manifold": ("exact", "gaussian_equivalent"),
    "deep_sign": ("recursion", "monte_carlo"),
    "conv": ("monte_carlo",),
    "digits_flow": ("monte_carlo",),
}


def preflight(config: dict) -> None:
    """Every check that needs no data model, so that bad input is refused before any
    computation: the hyperparameters, the networks, the recording times and the data section's
    dimensions."""
    with named("training"):
        hyperparameters(config)
    with named("teacher"):
        network(config["teacher"])
    with named("student"):
        network(config["student"], student=True)
    record = config["record"]
    with named("record"):
        record_blocks(1, 1, t_max=record["t_max"], n_records=record["n_records"],
                      spacing=record["spacing"])  # fmt: skip
    data = config["data"]
    if config["training"]["spherical"] and data["model"] != "iid":
        raise ConfigError(
            f"training.spherical = true needs data.model = 'iid' (its ODE theory is on iid "
            f"inputs), got {data['model']!r}"
        )
    if data["model"] == "iid" and data["D"] not in (None, data["N"]):
        raise ConfigError(
            f"data.D = {data['D']} does not apply to data.model = 'iid': the teacher reads the "
            f"N = {data['N']} inputs themselves (remove data.D, or choose a generator such as "
            "hidden_manifold)"
        )


def latent_dim(data: dict) -> int:
    """`data.D`, or its derived default: `N` for iid inputs, `N // 2` otherwise."""
    if data["D"] is not None:
        return data["D"]
    return data["N"] if data["model"] in ("iid", "digits") else max(1, data["N"] // 2)


def data_models(config: dict, key, cache_dir=None) -> dict[str, DataModel]:
    """The data model of `config["data"]` and, if asked, its Gaussian equivalent, by curve name.
    Monte Carlo moments and trained flows are kept in `cache_dir` (resumed on a rerun)."""
    with named("data"):
        return _data_models(config["data"], key, cache_dir)


def _data_models(data: dict, key, cache_dir) -> dict[str, DataModel]:
    kind = data["model"]
    if kind in _MOMENTS and data["moments"] not in _MOMENTS[kind]:
        raise ConfigError(f"data.moments for {kind} must be one of {_MOMENTS[kind]}")
    if kind == "iid":
        model = IIDGaussian(N=data["N"])
    elif kind == "hidden_manifold":
        model = HiddenManifold.random(
            key, data["N"], latent_dim(data), data["activation"], moments=data["moments"]
        )
    elif kind == "digits":
        model = Dataset.digits()
        if (data["N"], latent_dim(data)) != (model.input_dim, model.latent_dim):
            raise ConfigError(
                f"data.model = 'digits' has {model.input_dim} standardised pixels read by the "
                f"student and the teacher: set data.N = data.D = {model.input_dim}"
            )
    else:
        model = _generator_data(data, key, None if cache_dir is None else Path(cache_dir))
    curves: dict[str, DataModel] = {kind: model}
    if data["gaussian_equivalent"]:
        curves["gaussian_equivalent"] = GaussianEquivalent.of(model)
    return curves


def _generator_data(data: dict, key, cache: Path | None) -> GeneratorData:
    """A generator drawn (or trained) from `key` and its moments: the layer recursion, or Monte
    Carlo checkpointed in `cache`."""
    gen_key, moment_key = jax.random.split(key)
    kind = data["model"]
    if kind == "deep_sign":
        generator = DeepRandomGenerator.random(
            gen_key, [latent_dim(data), *data["hidden"], data["N"]], "sign"
        )
    elif kind == "conv":
        if data["N"] != 3072:
            raise ConfigError("data.model = 'conv' makes 3 x 32 x 32 images: set data.N = 3072")
        generator = ConvGenerator.random(gen_key, latent_dim=latent_dim(data))
    else:
        if data["N"] != 64 or latent_dim(data) != 64:
            raise ConfigError(
                "data.model = 'digits_flow' is 8 x 8 images: set data.N = data.D = 64"
            )
        path = None if cache is None else cache / "digits_flow.eqx"
        # in standardised pixel units, like the other generators' inputs (grey levels 0..16
        # would make the effective learning rate some 20 times larger)
        generator = digits_flow(gen_key, steps=data["flow_steps"], path=path)[0].standardised()
    if data["moments"] == "recursion":
        omega, phi = sign_layer_recursion(generator)
        return GeneratorData(generator, mean=0.0, omega=omega, phi=phi)
    moments = estimate_moments(
        generator,
        moment_key,
        rtol=data["moment_rtol"],
        max_samples=data["moment_samples"],
        checkpoint=None if cache is None else cache / "moments.npz",
        progress=True,
    )
    return GeneratorData.from_moments(generator, moments)


def network(section: dict, *, student: bool = False) -> NetworkInit:
    """The initialiser of a `teacher` or `student` section."""
    common = dict(output_scaling=section["output_scaling"])
    if student and section["init"] == "informed":
        readout = section["readout"]
        if not isinstance(readout, (int, float)):
            raise ConfigError("student.init = 'informed' needs a numeric student.readout")
        return InformedInit(
            section["K"],
            section["activation"],
            overlap=section["overlap"],
            readout=readout,
            **common,
        )
    return GaussianInit(
        section["K"],
        section["activation"],
        std=section["std"],
        readout=section["readout"],
        **common,
    )


def hyperparameters(config: dict) -> Hyperparameters:
    """The `training` section's hyperparameters (lists make a sweep)."""
    training = config["training"]
    return Hyperparameters(
        training["lr"],
        training["lr_v"],
        training["noise"],
        training["weight_decay"],
        training["batch_size"],
        product=training["product"],
        schedule=schedule(training),
    )


def schedule(training: dict) -> Schedule:
    """The `training` section's learning-rate schedule (`training.schedule` and its
    `schedule_*` parameters)."""
    kind = training["schedule"]
    if kind == "power_law":
        return PowerLaw(training["schedule_tau"], training["schedule_beta"])
    if kind == "piecewise":
        if not training["schedule_factors"]:
            raise ValueError(
                "schedule = 'piecewise' needs schedule_factors (and schedule_boundaries, one "
                "fewer), got none"
            )
        return Piecewise(training["schedule_boundaries"], training["schedule_factors"])
    return Constant()


def problem(config: dict, data: DataModel) -> Problem:
    """The online-learning problem of a configuration on `data`."""
    training = config["training"]
    if config["student"]["init"] == "informed" and data.input_dim != data.latent_dim:
        raise ConfigError(
            "student.init = 'informed' needs the teacher to read the student's input "
            "(data.model = 'iid')"
        )
    with named("training"):
        hyper = hyperparameters(config)
    with named("teacher"):
        teacher = network(config["teacher"])
    with named("student"):
        student = network(config["student"], student=True)
    with named("problem"):
        return Problem(
            data, teacher, student, hyper,
            train_second_layer=training["train_second_layer"],
            spherical=training["spherical"],
        )  # fmt: skip


@contextlib.contextmanager
def named(section: str):
    """The library's own checks (one line naming the field) as configuration errors of
    `section`, so the command line reports them in one line."""
    try:
        yield
    except ConfigError:
        raise
    except (ValueError, TypeError) as error:
        raise ConfigError(f"[{section}] {error}") from None


def erm_model(data: DataModel, key) -> GaussianCovariateModel:
    """The Gaussian covariate model of `data` with a random teacher vector on its `c`
    (`|theta|^2 = D`)."""
    return GaussianCovariateModel.of(data, random_teacher(key, data.latent_dim))
