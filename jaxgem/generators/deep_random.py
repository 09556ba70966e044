"""Deep random fully connected generators `x = f(F_L ... f(F_1 c))` with weights
`F_l ~ N(0, 1 / fan_in)` (Goldt et al., MSML 2021, THEORY.md Sec. 4), and the layer recursion of
their covariances for sign layers."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray

from ..activations import Activation, _atan2_arcsine, get_activation
from .base import Generator

__all__ = ["DeepRandomGenerator", "sign_layer_recursion"]


class DeepRandomGenerator(Generator):
    """A fully connected generator with one non-linearity on every layer.

    **Arguments:**

    - `weights`: the layer matrices `F_l` of shapes `(n_l, n_{l-1})`, `n_0 = D`, `n_L = N`.
    - `activation`: the non-linearity of every layer (`"sign"`, `"tanh"`, `"relu"`, `"erf"`, ...).

    `DeepRandomGenerator.random(key, [D, h_1, ..., N])` draws `F_l ~ N(0, 1 / n_{l-1})`.
    """

    weights: tuple[Array, ...]
    activation: Activation

    def __init__(self, weights, activation: Activation | str = "sign"):
        weights = tuple(jnp.asarray(w) for w in weights)
        if not weights:
            raise ValueError("a generator needs at least one layer")
        for i, (a, b) in enumerate(zip(weights[:-1], weights[1:])):
            if b.shape[1] != a.shape[0]:
                raise ValueError(
                    f"layer {i + 2} reads {b.shape[1]} units but layer {i + 1} has {a.shape[0]}"
                )
        self.weights = weights
        self.activation = get_activation(activation)

    @classmethod
    def random(
        cls,
        key: PRNGKeyArray,
        sizes,
        activation: Activation | str = "sign",
        *,
        dtype=jnp.float32,
    ) -> DeepRandomGenerator:
        """Layers of sizes `sizes = [D, h_1, ..., N]` with `N(0, 1 / fan_in)` weights."""
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must be [D, ..., N] with positive entries, got {sizes}")
        keys = jax.random.split(key, len(sizes) - 1)
        weights = [
            jax.random.normal(k, (n_out, n_in), dtype) / math.sqrt(n_in)
            for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:])
        ]
        return cls(weights, activation)

    @property
    def latent_dim(self) -> int:
        return self.weights[0].shape[1]

    @property
    def output_dim(self) -> int:
        return self.weights[-1].shape[0]

    def __call__(self, c):
        h = c
        for F in self.weights:
            h = self.activation(F @ h)
        return h


def sign_layer_recursion(
    generator: DeepRandomGenerator, form: str = "arcsine"
) -> tuple[Array, Array]:
    """`(Omega, Phi)` of a deep random sign generator, layer by layer.

    - `form="arcsine"` (default): each layer's pre-activations `u = F_l h` are treated as
      Gaussian with covariance `C = F_l Omega F_l^T` (exact for the first layer, a central-limit
      approximation after): `Omega <- (2/pi) asin(C_ij / sqrt(C_ii C_jj))`,
      `Phi <- sqrt(2/pi) diag(C)^{-1/2} F_l Phi`.
    - `form="linearised"`: THEORY.md Sec. 4's recursion with `b = sqrt(2/pi)`:
      `Omega_0 = b^2 F_0 F_0^T`, `Phi_0 = b F_0`, `Omega <- b^2 F_l ((1 - b^2) I + Omega) F_l^T`,
      `Phi <- b F_l Phi`, and `diag(Omega) = 1`; it ignores the row norms of `F_l` (about
      `1/sqrt(fan_in)` relative error).

    Both are approximations for deep generators; `estimate_moments` measures the gap.
    """
    if generator.activation.name != "sign":
        raise ValueError(
            f"the layer recursion is for sign generators, got {generator.activation.name!r}: "
            "use the Monte Carlo estimator (jaxgem.generators.estimate_moments)"
        )
    if form not in ("arcsine", "linearised"):
        raise ValueError(f"form must be 'arcsine' or 'linearised', got {form!r}")
    b2 = 2.0 / math.pi
    D = generator.latent_dim
    dtype = generator.weights[0].dtype
    omega, phi = jnp.eye(D, dtype=dtype), jnp.eye(D, dtype=dtype)
    for layer, F in enumerate(generator.weights):
        if form == "arcsine":
            C = F @ omega @ F.T
            variance = jnp.diagonal(C)
            omega = b2 * _atan2_arcsine(C, variance[:, None] * variance[None, :])
            phi = math.sqrt(b2) / jnp.sqrt(variance)[:, None] * (F @ phi)
        else:
            noise = (1 - b2) * jnp.eye(omega.shape[0], dtype=dtype) if layer else 0.0
            omega = b2 * F @ (noise + (omega if layer else jnp.eye(D, dtype=dtype))) @ F.T
            phi = math.sqrt(b2) * F @ phi
        omega = omega.at[jnp.diag_indices(omega.shape[0])].set(1.0)
    return omega, phi
