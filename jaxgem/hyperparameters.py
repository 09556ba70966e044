"""The training hyperparameters of online SGD as one pytree of arrays, shared by the simulation
and every theory: a sweep is one array per field, so new values never recompile (THEORY.md
Sec. 1, 3, 5)."""

from __future__ import annotations

import itertools

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .checks import is_traced, require, shown
from .schedules import Constant, Schedule

__all__ = ["Hyperparameters"]

FLOAT_NAMES = ("lr", "lr_v", "noise", "weight_decay")
NAMES = FLOAT_NAMES + ("batch_size",)


class Hyperparameters(eqx.Module):
    """One entry per run of a sweep; every field has shape `(H,)`.

    **Arguments:**

    - `lr`: first-layer learning rate `eta > 0` (step `eta / sqrt N`).
    - `lr_v`: second-layer learning rate `eta_v >= 0` (step `eta_v / N`); default: `lr`, run by
      run.
    - `noise`: output-noise standard deviation `sigma >= 0`.
    - `weight_decay`: `kappa >= 0` (decay `kappa / N` per step).
    - `batch_size`: samples per step `B >= 1`, gradients averaged over them. Time counts steps,
      `t = steps / N`, so the variance (`eta^2`) terms of the ODEs carry a factor `1 / B`.
    - `schedule`: a learning-rate schedule (`jaxgem.schedules`): the rates at time `t` are
      `lr * schedule(t)` and `lr_v * schedule_v(t)`; default constant. Its parameters are
      runs too (one per run, or one for all).
    - `schedule_v`: the second layer's schedule (default: `schedule`).
    - `product`: every combination of the lists instead of zipping them (the schedules then
      hold one run each).
    - `dtype`: floating dtype of the rates (default: JAX's default float).

    Numbers or lists; lists of equal length (or length one) are zipped into runs.

    Example:
    ```python
    jaxgem.Hyperparameters(lr=[0.1, 0.5], noise=0.1)               # two runs
    jaxgem.Hyperparameters(lr=[0.1, 0.5], batch_size=[1, 16], product=True)   # four runs
    ```
    """

    lr: Float[Array, " H"]
    lr_v: Float[Array, " H"]
    noise: Float[Array, " H"]
    weight_decay: Float[Array, " H"]
    batch_size: Int[Array, " H"]
    schedule: Schedule
    schedule_v: Schedule

    def __init__(
        self,
        lr,
        lr_v=None,
        noise=0.0,
        weight_decay=0.0,
        batch_size=1,
        *,
        schedule: Schedule | None = None,
        schedule_v: Schedule | None = None,
        product: bool = False,
        dtype=None,
    ):
        schedule = Constant() if schedule is None else schedule
        schedule_v = schedule if schedule_v is None else schedule_v
        for name, value in (("schedule", schedule), ("schedule_v", schedule_v)):
            if not isinstance(value, Schedule):
                raise ValueError(
                    f"{name} must be a jaxgem schedule (Constant, PowerLaw, Piecewise, "
                    f"ScheduleFunction), got {value!r}"
                )
        values = dict(lr=lr, lr_v=lr_v, noise=noise, weight_decay=weight_decay)
        follow_lr = lr_v is None  # lr_v defaults to lr, run by run (not a sweep of its own)
        if follow_lr:
            del values["lr_v"]
        dtype = jnp.result_type(float) if dtype is None else dtype
        arrays = {k: _vector(k, v, dtype) for k, v in values.items()}
        arrays["batch_size"] = _batch_sizes(batch_size)
        if product:
            if is_traced(arrays):
                raise ValueError("product=True needs concrete hyperparameters (not traced)")
            if max(schedule.runs, schedule_v.runs) > 1:
                raise ValueError("product=True needs schedules of one run each")
            rows = list(itertools.product(*(np.asarray(a).tolist() for a in arrays.values())))
            arrays = {
                k: jnp.asarray([row[i] for row in rows], arrays[k].dtype)
                for i, k in enumerate(arrays)
            }
        else:
            lengths = {k: a.shape[0] for k, a in arrays.items()}
            lengths.update(schedule=schedule.runs, schedule_v=schedule_v.runs)
            H = max(lengths.values())
            if any(n not in (1, H) for n in lengths.values()):
                raise ValueError(
                    f"hyperparameter lists must have equal lengths (or length 1), got lengths "
                    f"{lengths}; pass product=True for every combination"
                )
            arrays = {k: jnp.broadcast_to(a, (H,)) for k, a in arrays.items()}
        if follow_lr:
            arrays["lr_v"] = arrays["lr"]
        self.lr = arrays["lr"]
        self.lr_v = arrays["lr_v"]
        self.noise = arrays["noise"]
        self.weight_decay = arrays["weight_decay"]
        self.batch_size = arrays["batch_size"]
        H = self.lr.shape[0]
        self.schedule = schedule.broadcast(H).astype(self.lr.dtype)
        self.schedule_v = schedule_v.broadcast(H).astype(self.lr.dtype)

    def rates(self, t) -> tuple[Array, Array]:
        """`(eta(t), eta_v(t))` of one run (the run axis vmapped away) at time `t`."""
        return self.lr * self.schedule(t), self.lr_v * self.schedule_v(t)

    @property
    def size(self) -> int:
        """The number of runs `H`."""
        return self.lr.shape[0]

    def astype(self, dtype) -> Hyperparameters:
        """The same runs with rates of floating dtype `dtype`."""
        return eqx.tree_at(
            lambda h: [getattr(h, k) for k in FLOAT_NAMES] + [h.schedule, h.schedule_v],
            self,
            [getattr(self, k).astype(dtype) for k in FLOAT_NAMES]
            + [self.schedule.astype(dtype), self.schedule_v.astype(dtype)],
        )

    def table(self) -> dict[str, np.ndarray]:
        """Every field by name as a NumPy array `(H,)` for tables and files: rates as the
        shortest decimals that round-trip their stored precision (`0.2`, not `0.2000000029`),
        batch sizes as integers."""
        out = {k: _shortest_decimals(getattr(self, k)) for k in FLOAT_NAMES}
        out["batch_size"] = np.asarray(self.batch_size, np.int64)
        out.update({k: _shortest_decimals(v) for k, v in self.schedule.table().items()})
        if not self.schedule.same_as(self.schedule_v):
            second = self.schedule_v.table()
            out.update({"schedule_v" + k[8:]: _shortest_decimals(v) for k, v in second.items()})
        return out

    def describe(self, h: int) -> str:
        """Run `h` in one line: `lr=0.5, lr_v=0.5, noise=0, weight_decay=0, batch_size=1`."""
        return ", ".join(f"{k}={v[h]:g}" for k, v in self.table().items())


def _vector(name: str, value, dtype) -> Array:
    """A 1-d array of `value`, checked: finite, and positive (`lr`) or non-negative."""
    if not is_traced(value):
        try:
            value = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be a number or a list of numbers, got {value!r}"
            ) from None
        if value.ndim > 1 or value.size == 0:
            raise ValueError(
                f"{name} must be a number or a non-empty list of numbers, got {shown(value)}"
            )
    array = jnp.atleast_1d(jnp.asarray(value, dtype))
    if name == "lr":
        ok, accepted = jnp.isfinite(array) & (array > 0), "finite and positive"
    else:
        ok, accepted = jnp.isfinite(array) & (array >= 0), "non-negative and finite"
    return require(array, ok, f"{name} must be {accepted}, got {shown(value)}")


def _shortest_decimals(array) -> np.ndarray:
    values = np.asarray(array)
    return np.array(
        [float(np.format_float_positional(x, unique=True, trim="-")) for x in values.ravel()],
        np.float64,
    ).reshape(values.shape)


def _batch_sizes(value) -> Array:
    if is_traced(value):
        return jnp.atleast_1d(jnp.asarray(value, jnp.int32))
    array = np.atleast_1d(np.asarray(value))
    whole = array.dtype.kind in "iu" or (
        array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array))
    )
    if array.ndim != 1 or array.size == 0 or not whole or np.any(array < 1):
        raise ValueError(
            f"batch_size must be a positive integer or a list of them, got {shown(value)}"
        )
    return jnp.asarray(array.astype(np.int64), jnp.int32)
