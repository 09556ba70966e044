"""A DCGAN-style convolutional generator (Radford, Metz, Chintala 2016): latent `D = 100` to a
`3 x 32 x 32` image (`N = 3072`), as used with random weights in Goldt et al. (MSML 2021).

Layers: linear `D -> C x 4 x 4`, then three stride-2 transposed convolutions (kernel 4) doubling
the side each time, ReLU between, tanh at the end. With random weights, batch normalisation is
replaced by a variance-preserving initialisation: `N(0, 2 / fan_in)` before a ReLU, `N(0, 1 /
fan_in)` before the tanh, zero biases, so every layer's pre-activations stay of order one.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from .base import Generator

__all__ = ["ConvGenerator"]


class ConvGenerator(Generator):
    """DCGAN-style generator; `ConvGenerator.random(key)` for the paper's random-weight version.

    **Arguments** (of `random`): `latent_dim=100`, `channels=(128, 64, 32)` of the three
    feature maps, `image_channels=3`; the output side is `4 * 2^3 = 32`.
    """

    linear: eqx.nn.Linear
    deconvs: tuple[eqx.nn.ConvTranspose2d, ...]
    first_shape: tuple[int, int, int] = eqx.field(static=True)

    def __init__(self, linear, deconvs, first_shape):
        self.linear, self.deconvs, self.first_shape = linear, tuple(deconvs), tuple(first_shape)

    @classmethod
    def random(
        cls,
        key: PRNGKeyArray,
        latent_dim: int = 100,
        channels=(128, 64, 32),
        image_channels: int = 3,
        dtype=jnp.float32,
    ) -> ConvGenerator:
        channels = tuple(int(c) for c in channels) + (int(image_channels),)
        # one compiled initialisation: equinox's layer-by-layer eager init took 8 s on a CPU
        return _random_weights(key, int(latent_dim), channels, jnp.dtype(dtype))

    @property
    def latent_dim(self) -> int:
        return self.linear.in_features

    @property
    def output_dim(self) -> int:
        side = 4 * 2 ** len(self.deconvs)
        return self.deconvs[-1].out_channels * side * side

    def __call__(self, c: Array) -> Array:
        h = jax.nn.relu(self.linear(c)).reshape(self.first_shape)
        for i, layer in enumerate(self.deconvs):
            h = layer(h)
            h = jnp.tanh(h) if i == len(self.deconvs) - 1 else jax.nn.relu(h)
        return h.reshape(-1)


@eqx.filter_jit
def _random_weights(key, latent_dim, channels, dtype) -> ConvGenerator:
    """The random-weight generator of `ConvGenerator.random` (ints, channels, dtype static)."""
    keys = jax.random.split(key, len(channels))
    first = (channels[0], 4, 4)
    size = math.prod(first)
    linear = eqx.nn.Linear(latent_dim, size, key=keys[0], dtype=dtype)
    linear = eqx.tree_at(
        lambda m: (m.weight, m.bias),
        linear,
        (
            jax.random.normal(keys[0], (size, latent_dim), dtype) * math.sqrt(2 / latent_dim),
            jnp.zeros(size, dtype),
        ),
    )
    deconvs = []
    for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
        layer = eqx.nn.ConvTranspose2d(
            c_in, c_out, 4, stride=2, padding=1, key=keys[i + 1], dtype=dtype
        )
        # each output pixel of a stride-2, kernel-4 transposed convolution reads 2 x 2 taps
        fan_in = c_in * 4
        gain = 1.0 if i == len(channels) - 2 else 2.0
        weight = jax.random.normal(keys[i + 1], layer.weight.shape, dtype) * math.sqrt(
            gain / fan_in
        )
        layer = eqx.tree_at(
            lambda m: (m.weight, m.bias), layer, (weight, jnp.zeros_like(layer.bias))
        )
        deconvs.append(layer)
    return ConvGenerator(linear, deconvs, first)
