"""Two-layer networks, used for both teacher and student (THEORY.md Sec. 1).

`yhat(x) = s * sum_k v_k g(lambda_k)`, `lambda_k = w_k . x / sqrt N`, with output scale `s` one of
`1`, `1/K`, `1/sqrt K` (THEORY.md Sec. 6: the scalings behind the classical, high-dimensional and
mean-field regimes). Saad & Solla (1995); Goldt et al. (MSML 2021).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .activations import Activation, get_activation

__all__ = ["TwoLayerNetwork", "OUTPUT_SCALINGS", "output_scale", "check_size"]

OUTPUT_SCALINGS = ("1", "1/K", "1/sqrt(K)")


def check_size(name: str, value) -> int:
    """A positive integer size, or a `ValueError` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def output_scale(output_scaling: str, K: int) -> float:
    if output_scaling not in OUTPUT_SCALINGS:
        raise ValueError(f"output_scaling must be one of {OUTPUT_SCALINGS}, got {output_scaling!r}")
    return {"1": 1.0, "1/K": 1.0 / K, "1/sqrt(K)": 1.0 / math.sqrt(K)}[output_scaling]


class TwoLayerNetwork(eqx.Module):
    """A committee of `K` hidden units reading `N` inputs, with a linear readout.

    **Arguments:**

    - `w`: `(K, N)` first-layer weights; local fields are `w x / sqrt N`.
    - `v`: `(K,)` second-layer (readout) weights.
    - `activation`: an `Activation` (or its name).
    - `output_scaling`: `"1"`, `"1/K"` or `"1/sqrt(K)"`, the factor in front of the readout.

    The constructors `gaussian`, `small` and `informed` draw the weights from a key.
    """

    w: Float[Array, "K N"]
    v: Float[Array, " K"]
    activation: Activation
    output_scaling: str = eqx.field(static=True, default="1")

    def __init__(self, w, v, activation, output_scaling: str = "1"):
        self.w = jnp.asarray(w)
        self.v = jnp.asarray(v, dtype=self.w.dtype)
        self.activation = get_activation(activation)
        self.output_scaling = output_scaling

    def __check_init__(self):
        if self.w.ndim < 2:
            raise ValueError(f"TwoLayerNetwork.w must have shape (K, N), got {self.w.shape}")
        if self.v.shape != self.w.shape[:-1]:
            raise ValueError(
                f"TwoLayerNetwork.v has shape {self.v.shape} but w has shape {self.w.shape}: "
                f"v must have shape {self.w.shape[:-1]} (one readout weight per hidden unit)"
            )
        output_scale(self.output_scaling, 1)

    @property
    def K(self) -> int:
        """Number of hidden units."""
        return self.w.shape[-2]

    @property
    def N(self) -> int:
        """Input dimension."""
        return self.w.shape[-1]

    @property
    def output_scale(self) -> float:
        """The factor `s` in front of the readout."""
        return output_scale(self.output_scaling, self.K)

    @property
    def readout(self) -> Float[Array, " K"]:
        """The effective readout `s v`, the `v` (or `A`) of the order parameters."""
        return self.output_scale * self.v

    def fields(self, x: Float[Array, "*batch N"]) -> Float[Array, "*batch K"]:
        """Local fields `lambda = w x / sqrt N`."""
        return x @ self.w.T / math.sqrt(self.N)

    def __call__(self, x: Float[Array, "*batch N"]) -> Float[Array, "*batch"]:
        """The network output for one input or a batch of inputs."""
        return self.activation(self.fields(x)) @ self.readout

    # ----------------------------------------------------------------------------- initialisers
    @classmethod
    def gaussian(
        cls,
        key: PRNGKeyArray,
        K: int,
        N: int,
        activation: Activation | str = "erf",
        *,
        std: float = 1.0,
        readout: float | str = 1.0,
        readout_std: float = 1.0,
        output_scaling: str = "1",
        dtype=jnp.float32,
    ) -> TwoLayerNetwork:
        """Weights iid `N(0, std^2)`; readout all equal to `readout`, or iid `N(0, readout_std^2)`
        when `readout="gaussian"`."""
        check_size("K", K)
        check_size("N", N)
        if not std >= 0:
            raise ValueError(f"std must be non-negative, got {std!r}")
        wkey, vkey = jax.random.split(key)
        w = std * jax.random.normal(wkey, (K, N), dtype)
        if readout == "gaussian":
            v = readout_std * jax.random.normal(vkey, (K,), dtype)
        elif isinstance(readout, (int, float)):
            v = jnp.full((K,), readout, dtype)
        else:
            raise ValueError(f"readout must be a number or 'gaussian', got {readout!r}")
        return cls(w, v, activation, output_scaling)

    @classmethod
    def small(cls, key: PRNGKeyArray, K: int, N: int, activation="erf", *, std=1e-3, **kwargs):
        """Small random weights (`std = 1e-3` by default): the start of a plateau."""
        return cls.gaussian(key, K, N, activation, std=std, **kwargs)

    @classmethod
    def informed(
        cls,
        key: PRNGKeyArray,
        teacher: TwoLayerNetwork,
        K: int,
        activation=None,
        *,
        overlap: float = 0.5,
        readout: float = 1.0,
        output_scaling: str = "1",
    ) -> TwoLayerNetwork:
        """Student unit `k` starts at `overlap * B_k + sqrt(1 - overlap^2) * noise`.

        Units beyond the teacher's `M` start purely random. Needs the student and teacher to
        read the same vector (iid inputs).
        """
        check_size("K", K)
        if not 0.0 <= overlap <= 1.0:
            raise ValueError(f"overlap must lie in [0, 1], got {overlap!r}")
        noise = jax.random.normal(key, (K, teacher.N), teacher.w.dtype)
        m = min(K, teacher.K)
        aligned = jnp.zeros_like(noise).at[:m].set(teacher.w[:m])
        scale = jnp.where(jnp.arange(K) < m, math.sqrt(1.0 - overlap**2), 1.0)[:, None]
        w = overlap * aligned + scale * noise
        activation = teacher.activation if activation is None else activation
        return cls(w, jnp.full((K,), readout, w.dtype), activation, output_scaling)
