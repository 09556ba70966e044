"""Teacher channels of the Gaussian covariate model: how a label follows from the teacher's local
field `nu ~ N(0, rho)` (THEORY.md Sec. 7).

Each channel gives the label distribution given the student's view of the teacher field,
`Z0(y, w*, V*) = E_{z ~ N(w*, V*)} P(y | z)`, and its derivative in `w*`, which the loss side of
the saddle point integrates against.
"""

from __future__ import annotations

import abc
import math
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import jax.scipy.special as jsp

from ..checks import is_traced

__all__ = ["Channel", "LinearChannel", "SignChannel", "get_channel"]


class Channel(eqx.Module):
    """A teacher `y = f0(nu) (+ noise)` (abstract)."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The channel's name (a class constant)."""

    @property
    @abc.abstractmethod
    def noise(self) -> float:
        """The label noise (a field)."""

    @abc.abstractmethod
    def label_moments(self, rho):
        """`(E y^2, E y nu / rho)` (the closed forms of the square loss)."""

    @abc.abstractmethod
    def sample(self, nu, xi):
        """Labels of teacher fields `nu`, given standard normal noise draws `xi`."""

    @abc.abstractmethod
    def test_error(self, rho, q, m):
        """The test error of a student field with `E lambda^2 = q`, `E lambda nu = m`."""


class LinearChannel(Channel):
    """`y = nu + sqrt(noise) xi` (regression). Real labels: square loss has closed forms."""

    name: ClassVar[str] = "linear"
    noise: float = 0.0

    def label_moments(self, rho):
        """`(E y^2, E y nu / rho)`."""
        return rho + self.noise, jnp.ones_like(rho)

    def sample(self, nu, xi):
        return nu + math.sqrt(self.noise) * xi

    def test_error(self, rho, q, m):
        """Excess test MSE `rho + q - 2 m` (the noise variance is not counted)."""
        return rho + q - 2 * m


class SignChannel(Channel):
    """`y = sign(nu + sqrt(noise) xi)` (binary classification)."""

    name: ClassVar[str] = "sign"
    labels: ClassVar[tuple[float, float]] = (-1.0, 1.0)
    noise: float = 0.0

    def z0(self, y, mean, variance):
        """`(Z0, d Z0 / d mean)` for label `y = ±1`, teacher field `N(mean, variance)`."""
        spread = jnp.sqrt(variance + self.noise)
        ratio = y * mean / spread
        return jsp.ndtr(ratio), y * jnp.exp(-(ratio**2) / 2) / (math.sqrt(2 * math.pi) * spread)

    def label_moments(self, rho):
        return jnp.ones_like(rho), jnp.sqrt(2 / (math.pi * (rho + self.noise)))

    def sample(self, nu, xi):
        return jnp.where(nu + math.sqrt(self.noise) * xi >= 0, 1.0, -1.0).astype(nu.dtype)

    def test_error(self, rho, q, m):
        """Classification error `arccos(m / sqrt(q (rho + noise))) / pi` against the (noisy)
        labels."""
        cosine = m / jnp.sqrt(jnp.maximum(q, 1e-30) * (rho + self.noise))
        return jnp.arccos(jnp.clip(cosine, -1.0, 1.0)) / jnp.pi


def get_channel(name: str | Channel, noise: float = 0.0) -> Channel:
    if isinstance(name, Channel):
        return name
    channels = {"linear": LinearChannel, "sign": SignChannel}
    if name not in channels:
        raise ValueError(f"unknown teacher {name!r}; choose from {sorted(channels)}")
    if is_traced(noise):  # a fitted noise
        return channels[name](noise=noise)
    if not noise >= 0:
        raise ValueError(f"teacher noise must be non-negative, got {noise}")
    return channels[name](noise=float(noise))
