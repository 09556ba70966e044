"""Generator data models from the `data` section of a configuration (the command line)."""

from __future__ import annotations

from pathlib import Path

import jax

from ..config import ConfigError
from ..data.generator_data import GeneratorData
from .convolutional import ConvGenerator
from .deep_random import DeepRandomGenerator, sign_layer_recursion
from .digits import digits_flow
from .moments import estimate_moments

__all__ = ["generator_data"]

_MOMENTS = {
    "deep_sign": ("recursion", "monte_carlo"),
    "conv": ("monte_carlo",),
    "digits_flow": ("monte_carlo",),
}


def _generator(data: dict, key, cache: Path | None):
    kind = data["model"]
    if kind == "deep_sign":
        return DeepRandomGenerator.random(key, [data["D"], *data["hidden"], data["N"]], "sign")
    if kind == "conv":
        if data["N"] != 3072:
            raise ConfigError("data.model = 'conv' makes 3 x 32 x 32 images: set data.N = 3072")
        return ConvGenerator.random(key, latent_dim=data["D"])
    if data["N"] != 64 or data["D"] != 64:
        raise ConfigError("data.model = 'digits_flow' is 8 x 8 images: set data.N = data.D = 64")
    path = None if cache is None else cache / "digits_flow.eqx"
    # in standardised pixel units, like the other generators' inputs (grey levels 0..16 would
    # make the effective learning rate some 20 times larger)
    return digits_flow(key, steps=data["flow_steps"], path=path)[0].standardised()


def generator_data(data: dict, key, cache_dir=None) -> GeneratorData:
    """The `GeneratorData` of a `data` section: the generator drawn (or trained) from `key`, its
    moments by the layer recursion or by Monte Carlo (checkpointed in `cache_dir`)."""
    kind = data["model"]
    if data["moments"] not in _MOMENTS[kind]:
        raise ConfigError(f"data.moments for {kind} must be one of {_MOMENTS[kind]}")
    cache = None if cache_dir is None else Path(cache_dir)
    gen_key, moment_key = jax.random.split(key)
    generator = _generator(data, gen_key, cache)
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
