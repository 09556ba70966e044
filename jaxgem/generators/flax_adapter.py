"""A thin adapter that lets a flax (linen) module serve as a jaxgem generator, behind the optional
extra `pip install "jaxgem[flax]"`. Equinox stays the one module system inside jaxgem: the flax
parameters become leaves of an equinox module, so jit, vmap and serialisation work as for any
other generator."""

from __future__ import annotations

from typing import Any

from .base import FunctionGenerator

__all__ = ["FlaxGenerator"]


class FlaxGenerator(FunctionGenerator):
    """`FlaxGenerator(module, params, latent_dim, output_dim)`: `x = module.apply(params, c)`,
    a `FunctionGenerator` of `module.apply` whose parameters are equinox leaves.

    Example:
    ```python
    import flax.linen as nn
    net = nn.Sequential([nn.Dense(500), nn.tanh, nn.Dense(1000), jnp.sign])
    params = net.init(jax.random.key(0), jnp.zeros(100))
    gen = FlaxGenerator(net, params, 100, 1000)
    ```
    """

    params: Any

    def __init__(self, module, params, latent_dim: int, output_dim: int):
        try:
            import flax  # noqa: F401
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError('FlaxGenerator needs flax: pip install "jaxgem[flax]"') from error
        super().__init__(module.apply, latent_dim, output_dim)
        self.params = params

    def __call__(self, c):
        return self.fn(self.params, c).reshape(-1)
