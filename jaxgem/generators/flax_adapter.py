"""A thin adapter that lets a flax (linen) module serve as a jaxgem generator, behind the optional
extra `pip install "jaxgem[flax]"`. Equinox stays the one module system inside jaxgem: the flax
parameters become leaves of an equinox module, so jit, vmap and serialisation work as for any
other generator."""

from __future__ import annotations

from typing import Any

import equinox as eqx

from .base import Generator

__all__ = ["FlaxGenerator"]


class FlaxGenerator(Generator):
    """`FlaxGenerator(module, params, latent_dim, output_dim)`: `x = module.apply(params, c)`.

    Example:
    ```python
    import flax.linen as nn
    net = nn.Sequential([nn.Dense(500), nn.tanh, nn.Dense(1000), jnp.sign])
    params = net.init(jax.random.key(0), jnp.zeros(100))
    gen = FlaxGenerator(net, params, 100, 1000)
    ```
    """

    module: Any = eqx.field(static=True)
    params: Any
    dims: tuple[int, int] = eqx.field(static=True)

    def __init__(self, module, params, latent_dim: int, output_dim: int):
        try:
            import flax  # noqa: F401
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError('FlaxGenerator needs flax: pip install "jaxgem[flax]"') from error
        self.module, self.params = module, params
        self.dims = (int(latent_dim), int(output_dim))

    @property
    def latent_dim(self) -> int:
        return self.dims[0]

    @property
    def output_dim(self) -> int:
        return self.dims[1]

    def __call__(self, c):
        return self.module.apply(self.params, c).reshape(-1)
