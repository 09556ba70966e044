"""A real NVP normalising flow (Dinh, Sohl-Dickstein, Bengio 2017) as a generator `x = G(c)`
with `D = N`, invertible with a tractable log-determinant, so it can be trained on data by
maximum likelihood (`train_flow`) and then serve as a data model whose teacher reads the latent.

Each coupling layer keeps the masked half and transforms the other:
`x = m * c + (1 - m) * (c * exp(s(m * c)) + t(m * c))`, with `s` (tanh-bounded) and `t` small
MLPs; masks alternate between the two halves. Data are modelled in standardised units
(`shift`, `scale` stored in the module), so `G(c)` returns inputs in the data's own units.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, PRNGKeyArray

from .base import Generator

__all__ = ["RealNVP", "train_flow"]


class _Coupling(eqx.Module):
    mask: Array
    net: eqx.nn.MLP

    def __init__(self, mask, width, depth, key):
        dim = mask.shape[0]
        self.mask = jnp.asarray(mask, jnp.int32)  # an integer leaf: never trained
        self.net = eqx.nn.MLP(dim, 2 * dim, width, depth, activation=jax.nn.gelu, key=key)
        last = self.net.layers[-1]
        self.net = eqx.tree_at(  # start at the identity map
            lambda n: (n.layers[-1].weight, n.layers[-1].bias),
            self.net,
            (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)),
        )

    def _shift_scale(self, kept, keep):
        s, t = jnp.split(self.net(kept), 2)
        return jnp.tanh(s) * (1 - keep), t * (1 - keep)

    def forward(self, c):
        keep = self.mask.astype(c.dtype)
        s, t = self._shift_scale(keep * c, keep)
        return keep * c + (1 - keep) * (c * jnp.exp(s) + t)

    def inverse(self, x):
        keep = self.mask.astype(x.dtype)
        s, t = self._shift_scale(keep * x, keep)
        return keep * x + (1 - keep) * ((x - t) * jnp.exp(-s)), -jnp.sum(s)


class RealNVP(Generator):
    """Real NVP flow on `dim` dimensions: `RealNVP(key, dim, n_layers=6, width=64, depth=2)`.

    `log_prob(x)` is the exact log-density of an input (used in training); `inverse(x)` the
    latent of an input."""

    layers: tuple[_Coupling, ...]
    shift: Array
    scale: Array

    def __init__(
        self,
        key: PRNGKeyArray,
        dim: int,
        n_layers: int = 6,
        width: int = 64,
        depth: int = 2,
        shift=0.0,
        scale=1.0,
    ):
        if dim < 2 or n_layers < 1:
            raise ValueError(f"a real NVP needs dim >= 2 and n_layers >= 1, got {dim}, {n_layers}")
        half = jnp.arange(dim) % 2
        keys = jax.random.split(key, n_layers)
        self.layers = tuple(
            _Coupling(half if i % 2 == 0 else 1 - half, width, depth, k) for i, k in enumerate(keys)
        )
        self.shift = jnp.broadcast_to(jnp.asarray(shift, jnp.float32), (dim,))
        self.scale = jnp.broadcast_to(jnp.asarray(scale, jnp.float32), (dim,))

    @property
    def latent_dim(self) -> int:
        return self.shift.shape[0]

    @property
    def output_dim(self) -> int:
        return self.shift.shape[0]

    def __call__(self, c):
        for layer in self.layers:
            c = layer.forward(c)
        return self.shift + self.scale * c

    def standardised(self) -> RealNVP:
        """The same flow producing inputs in standardised units (each pixel of the training data
        at mean 0 and unit variance), the scale of the other generators' inputs."""
        return eqx.tree_at(
            lambda f: (f.shift, f.scale),
            self,
            (jnp.zeros_like(self.shift), jnp.ones_like(self.scale)),
        )

    def inverse(self, x):
        """The latent `c` of an input `x` and `log |det dc/dx|`."""
        z = (x - self.shift) / self.scale
        log_det = -jnp.sum(jnp.log(self.scale))
        for layer in reversed(self.layers):
            z, ld = layer.inverse(z)
            log_det = log_det + ld
        return z, log_det

    def log_prob(self, x):
        c, log_det = self.inverse(x)
        return -0.5 * jnp.sum(c**2) - 0.5 * c.shape[0] * jnp.log(2 * jnp.pi) + log_det


def train_flow(
    data,
    key: PRNGKeyArray,
    *,
    n_layers: int = 6,
    width: int = 64,
    steps: int = 2000,
    batch_size: int = 128,
    lr: float = 1e-3,
    dequantise: float = 0.0,
) -> tuple[RealNVP, np.ndarray]:
    """Fit a `RealNVP` to `data (n, dim)` by maximum likelihood (Adam, optax), in standardised
    units; `dequantise` adds uniform noise of that width to discrete data each step. Returns the
    flow and the mean negative log-likelihood per dimension every 100 steps."""
    data = jnp.asarray(data, jnp.float32)
    if data.ndim != 2 or data.shape[0] < 2:
        raise ValueError(f"data must be an (n, dim) array with n >= 2, got {data.shape}")
    shift = data.mean(0)
    scale = jnp.sqrt(data.var(0) + dequantise**2 / 12) + 1e-3
    init_key, key = jax.random.split(key)
    flow = RealNVP(init_key, data.shape[1], n_layers, width, shift=shift, scale=scale)
    optimiser = optax.adam(lr)

    def loss(flow, x):
        return -jnp.mean(jax.vmap(flow.log_prob)(x)) / x.shape[1]

    params, static = eqx.partition(flow, eqx.is_inexact_array)
    state = optimiser.init(params)

    @jax.jit
    def hundred(params, state, key):
        def step(carry, k):
            params, state = carry
            kb, kn = jax.random.split(k)
            x = data[jax.random.randint(kb, (batch_size,), 0, data.shape[0])]
            x = x + dequantise * (jax.random.uniform(kn, x.shape) - 0.5)
            value, grads = jax.value_and_grad(lambda p: loss(eqx.combine(p, static), x))(params)
            updates, state = optimiser.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), value

        (params, state), values = jax.lax.scan(step, (params, state), jax.random.split(key, 100))
        return params, state, values.mean()

    history = []
    for block in range(max(1, steps // 100)):
        params, state, value = hundred(params, state, jax.random.fold_in(key, block))
        history.append(float(value))
    return eqx.combine(params, static), np.asarray(history)
