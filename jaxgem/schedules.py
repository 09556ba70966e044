"""Learning-rate schedules `eta(t) = lr * f(t)`, `t = steps / N`, for the simulation (per step)
and the order-parameter ODEs (a time-dependent vector field), THEORY.md Sec. 3, 5.

A schedule is the factor `f(t)` (`f(0) = 1` for the built-in decays) applied to `lr` and,
unless the second layer has its own, to `lr_v`. Its parameters are arrays with one entry per
hyperparameter run, so a grid of schedules is one compiled call and a schedule is
differentiable (design it by gradient through the ODEs).

Example:
```python
jaxgem.Hyperparameters(lr=1.0, schedule=jaxgem.PowerLaw(tau=[1.0, 10.0], beta=1.0))  # 2 runs
jaxgem.Hyperparameters(lr=0.5, schedule=jaxgem.Piecewise(boundaries=[10.0], factors=[1, 0.1]))
jaxgem.Hyperparameters(lr=0.5, schedule=jaxgem.ScheduleFunction(lambda t: 1 / (1 + t) ** 0.5))
```
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .checks import is_traced, require, shown

__all__ = ["Schedule", "Constant", "PowerLaw", "Piecewise", "ScheduleFunction"]


class Schedule(eqx.Module):
    """A learning-rate factor `f(t)` (abstract). Array fields carry a leading run axis `(H, ...)`
    (length 1 broadcasts); `__call__` sees one run's values (the run axis vmapped away)."""

    kind: ClassVar[str]

    @abc.abstractmethod
    def __call__(self, t: Array) -> Array:
        """The factor at time `t` for one run."""

    @property
    def runs(self) -> int:
        """The number of runs the parameters hold (1 when they broadcast)."""
        sizes = {leaf.shape[0] for leaf in jax.tree.leaves(self) if eqx.is_array(leaf)}
        return max(sizes, default=1)

    def broadcast(self, H: int) -> Schedule:
        """The schedule with every parameter repeated to `H` runs (from 1 or `H`)."""

        def spread(leaf):
            if leaf.shape[0] not in (1, H):
                raise ValueError(
                    f"a {self.kind} schedule has {leaf.shape[0]} runs where the other "
                    f"hyperparameters have {H}; give 1 or {H}"
                )
            return jnp.broadcast_to(leaf, (H,) + leaf.shape[1:])

        return jax.tree.map(spread, self)

    def same_as(self, other: Schedule) -> bool:
        """Whether `other` is the same schedule with the same (concrete) parameters; compared
        in NumPy, so it holds inside a trace too."""
        mine, theirs = jax.tree.leaves(self), jax.tree.leaves(other)
        return jax.tree.structure(self) == jax.tree.structure(other) and all(
            np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(mine, theirs)
        )

    def astype(self, dtype) -> Schedule:
        """The schedule with floating parameters of dtype `dtype`."""
        return jax.tree.map(lambda leaf: leaf.astype(dtype), self)

    def table(self) -> dict[str, np.ndarray]:
        """The parameters as `(H,)` columns named `schedule_*` for tables and files (none for
        a constant or a function)."""
        return {}


class Constant(Schedule):
    """`f(t) = 1`: a constant learning rate (the default)."""

    kind: ClassVar[str] = "constant"

    def __call__(self, t):
        return jnp.ones_like(t)


class PowerLaw(Schedule):
    """`f(t) = (1 + t / tau)^(-beta)`: constant until `t ~ tau`, then a power-law decay
    (`beta = 1` is the `1/t` decay of stochastic approximation). `tau > 0`, `beta >= 0`."""

    kind: ClassVar[str] = "power_law"
    tau: Array
    beta: Array

    def __init__(self, tau, beta=1.0):
        self.tau = _parameter("tau", tau, positive=True)
        self.beta = _parameter("beta", beta)

    def __call__(self, t):
        return (1.0 + t / self.tau) ** (-self.beta)

    def table(self):
        return {"schedule_tau": np.asarray(self.tau), "schedule_beta": np.asarray(self.beta)}


class Piecewise(Schedule):
    """`f(t) = factors[i]` for `boundaries[i-1] <= t < boundaries[i]`: piecewise constant,
    `len(factors) = len(boundaries) + 1`, boundaries increasing, factors non-negative."""

    kind: ClassVar[str] = "piecewise"
    boundaries: Array
    factors: Array

    def __init__(self, boundaries, factors):
        self.boundaries = _parameter("boundaries", boundaries, ndim=1)
        self.factors = _parameter("factors", factors, ndim=1)
        if self.factors.shape[-1] != self.boundaries.shape[-1] + 1:
            raise ValueError(
                f"Piecewise needs one more factor than boundaries, got "
                f"{self.factors.shape[-1]} factors and {self.boundaries.shape[-1]} boundaries"
            )
        if not is_traced(self.boundaries) and np.any(np.diff(np.asarray(self.boundaries)) <= 0):
            raise ValueError(f"Piecewise boundaries must increase, got {shown(self.boundaries[0])}")

    def __call__(self, t):
        return self.factors[jnp.searchsorted(self.boundaries, t, side="right")]

    def table(self):
        out = {f"schedule_boundary_{i}": np.asarray(b) for i, b in enumerate(self.boundaries.T)}
        out.update({f"schedule_factor_{i}": np.asarray(f) for i, f in enumerate(self.factors.T)})
        return out


class ScheduleFunction(Schedule):
    """`f(t) = function(t)` for any JAX-traceable function of the time (the same for every run;
    for parameters to sweep or differentiate, derive a `Schedule` with array fields)."""

    kind: ClassVar[str] = "function"
    function: Callable = eqx.field(static=True)

    def __call__(self, t):
        return jnp.asarray(self.function(t), jnp.result_type(t))


def _parameter(name: str, value, *, positive: bool = False, ndim: int = 0) -> Array:
    """A schedule parameter as an array with a leading run axis, checked finite and positive
    (`positive`) or non-negative."""
    if not is_traced(value):
        array = np.asarray(value, dtype=np.float64)
        if array.ndim not in (ndim, ndim + 1) or array.size == 0:
            raise ValueError(
                f"schedule {name} must be {'a number' if ndim == 0 else 'a list'} or one per "
                f"run, got {shown(value)}"
            )
    array = jnp.asarray(value, jnp.result_type(float))
    array = array.reshape((1,) + array.shape) if array.ndim == ndim else array
    ok = jnp.isfinite(array) & ((array > 0) if positive else (array >= 0))
    accepted = "finite and positive" if positive else "non-negative and finite"
    return require(array, ok, f"schedule {name} must be {accepted}, got {shown(value)}")
