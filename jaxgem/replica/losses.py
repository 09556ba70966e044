"""Convex losses of empirical risk minimisation with their proximal operators, vectorised.

`prox(y, w, V) = argmin_x [loss(y, x) + (x - w)^2 / (2 V)]` and its derivative in `w` are what the
replica saddle point needs (THEORY.md Sec. 7): `f = (prox - w) / V`, `d_w f = (d_w prox - 1) / V`.
Square and hinge have closed forms; logistic is a 1-d Newton solve with a fixed number of steps
(its derivative then by the implicit function theorem, not through the iterations).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = ["Loss", "Square", "Logistic", "Hinge", "get_loss", "LOSSES"]


class Loss(eqx.Module):
    """A loss `loss(y, x)` of label `y` and prediction `x`, convex in `x` (abstract)."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The loss's name (a class constant)."""

    @abc.abstractmethod
    def __call__(self, y, x):
        """The loss, elementwise."""

    @abc.abstractmethod
    def prox(self, y, w, V):
        """`(prox, d prox / d w)` elementwise."""

    @abc.abstractmethod
    def kinks(self, y, V) -> tuple:
        """Where `prox(y, ., V)` has kinks in `w` (the saddle point splits its integrals there);
        `()` for a smooth prox."""


class Square(Loss):
    """`(y - x)^2 / 2` (ridge regression, or "l2 classification" on sign labels)."""

    name: ClassVar[str] = "square"

    def __call__(self, y, x):
        return (y - x) ** 2 / 2

    def prox(self, y, w, V):
        return (w + V * y) / (1 + V), jnp.ones_like(w) / (1 + V)

    def kinks(self, y, V):
        return ()


class Logistic(Loss):
    """`log(1 + exp(-y x))`, labels `y = ±1`."""

    name: ClassVar[str] = "logistic"
    newton_steps: ClassVar[int] = 50

    def __call__(self, y, x):
        return jax.nn.softplus(-y * x)

    def prox(self, y, w, V):
        # G(x) = x - w - V y sigmoid(-y x) = 0 is increasing in x, its root lies between w and
        # w + V y: safeguarded Newton (rtsafe): a Newton step is taken only if it stays in the
        # bracket and at least halves the previous step; otherwise bisect. (Plain Newton
        # oscillates between the two tails for V >~ 10.)
        lo, hi = jnp.minimum(w, w + V * y), jnp.maximum(w, w + V * y)

        def step(carry, _):
            x, lo, hi, previous = carry
            s = jax.nn.sigmoid(-y * x)
            residual = x - w - V * y * s
            lo, hi = jnp.where(residual < 0, x, lo), jnp.where(residual > 0, x, hi)
            newton = x - residual / (1 + V * s * (1 - s))
            good = (newton > lo) & (newton < hi) & (2 * jnp.abs(newton - x) < previous)
            new = jnp.where(good, newton, (lo + hi) / 2)
            return (new, lo, hi, jnp.abs(new - x)), None

        start = (w, lo, hi, 2 * (hi - lo) + 1)
        (x, _, _, _), _ = jax.lax.scan(step, start, None, length=self.newton_steps)
        s = jax.nn.sigmoid(-y * x)
        return x, 1 / (1 + V * s * (1 - s))

    def kinks(self, y, V):
        return ()


class Hinge(Loss):
    """`max(0, 1 - y x)` (support vector machine), labels `y = ±1`."""

    name: ClassVar[str] = "hinge"

    def __call__(self, y, x):
        return jnp.maximum(0.0, 1 - y * x)

    def prox(self, y, w, V):
        margin = y * w
        below, inside = margin < 1 - V, margin <= 1
        x = jnp.where(below, w + V * y, jnp.where(inside, y, w))
        return x, jnp.where(inside & ~below, 0.0, 1.0).astype(w.dtype)

    def kinks(self, y, V):
        return (y * (1 - V), y * jnp.ones_like(V))


#: The losses by name.
LOSSES: Mapping[str, type[Loss]] = MappingProxyType(
    {cls.name: cls for cls in (Square, Logistic, Hinge)}
)


def get_loss(name: str | Loss) -> Loss:
    """A loss by name (`"square"`, `"logistic"`, `"hinge"`) or as given."""
    if isinstance(name, Loss):
        return name
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose from {sorted(LOSSES)}")
    return LOSSES[name]()
