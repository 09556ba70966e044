"""Generators: maps from a latent `c ~ N(0, I_D)` to an input `x = G(c) in R^N` (THEORY.md
Sec. 4), as equinox modules. A generator is only a function; `jaxgem.data.GeneratorData` turns it
into a data model with its moments (Goldt et al., MSML 2021)."""

from __future__ import annotations

import abc
import io
from collections.abc import Callable

import equinox as eqx
import jax
from jaxtyping import Array, Float

from ..io import atomic_write_bytes

__all__ = ["Generator", "FunctionGenerator", "save_generator", "load_generator"]


class Generator(eqx.Module):
    """Abstract generator: `latent_dim` D, `output_dim` N and `__call__(c (D,)) -> x (N,)`."""

    @property
    @abc.abstractmethod
    def latent_dim(self) -> int:
        """`D`, the dimension of the latent vector."""

    @property
    @abc.abstractmethod
    def output_dim(self) -> int:
        """`N`, the dimension of the generated input."""

    @abc.abstractmethod
    def __call__(self, c: Float[Array, " D"]) -> Float[Array, " N"]:
        """One input from one latent vector (images are flattened)."""

    def batch(self, c: Float[Array, "n D"]) -> Float[Array, "n N"]:
        """`n` inputs from `n` latents."""
        return jax.vmap(self)(c)


class FunctionGenerator(Generator):
    """Any function or module of one latent vector: `FunctionGenerator(fn, D, N)`. `fn` may be an
    equinox module (its arrays are leaves) or a plain function (static); for a flax module pass
    `lambda c: model.apply(params, c)`."""

    fn: Callable
    dims: tuple[int, int] = eqx.field(static=True)

    def __init__(self, fn: Callable, latent_dim: int, output_dim: int):
        self.fn = fn
        self.dims = (int(latent_dim), int(output_dim))

    @property
    def latent_dim(self) -> int:
        return self.dims[0]

    @property
    def output_dim(self) -> int:
        return self.dims[1]

    def __call__(self, c):
        return self.fn(c).reshape(-1)


def save_generator(path, generator: Generator) -> None:
    """Write the generator's arrays (equinox serialisation); load them into a generator of the
    same structure with `load_generator`. Written atomically."""
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, generator)
    atomic_write_bytes(path, buffer.getvalue())


def load_generator(path, like: Generator) -> Generator:
    """The generator `like` (same architecture) with the arrays stored at `path`, e.g. weights
    trained elsewhere."""
    return eqx.tree_deserialise_leaves(path, like)
