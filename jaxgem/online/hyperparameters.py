"""Learning rates, output noise and weight decay as arrays: a grid runs in one compiled call."""

from __future__ import annotations

import itertools

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

__all__ = ["Hyperparameters", "hyperparameter_table"]

NAMES = ("lr", "lr_v", "noise", "weight_decay")


class Hyperparameters(eqx.Module):
    """One entry per run of a sweep; every field has shape `(H,)`.

    - `lr`: first-layer learning rate `eta` (update `eta / sqrt N`).
    - `lr_v`: second-layer learning rate `eta_v` (update `eta_v / N`).
    - `noise`: output-noise standard deviation `sigma`.
    - `weight_decay`: `kappa` (decay `kappa / N` per step).

    Entering the compiled code as arrays, new values never trigger a recompilation.
    """

    lr: Float[Array, " H"]
    lr_v: Float[Array, " H"]
    noise: Float[Array, " H"]
    weight_decay: Float[Array, " H"]

    @classmethod
    def grid(
        cls, lr, lr_v=None, noise=0.0, weight_decay=0.0, *, product: bool = False, dtype=jnp.float32
    ) -> Hyperparameters:
        """Hyperparameters from scalars or lists (see `hyperparameter_table`)."""
        return cls.from_table(
            hyperparameter_table(lr, lr_v, noise, weight_decay, product=product), dtype
        )

    @classmethod
    def from_table(cls, table: dict, dtype=jnp.float32) -> Hyperparameters:
        """Hyperparameters from a `hyperparameter_table`, as arrays of `dtype`."""
        return cls(**{k: jnp.asarray(table[k], dtype) for k in NAMES})

    @property
    def size(self) -> int:
        return self.lr.shape[0]


def hyperparameter_table(lr, lr_v=None, noise=0.0, weight_decay=0.0, *, product: bool = False):
    """The runs of a sweep as float64 arrays of equal length `H`, by name.

    With `product=False` the values are broadcast against each other (zipped); with
    `product=True` every combination is run. `lr_v` defaults to `lr`, run by run.
    """
    values = {"lr": lr, "lr_v": lr_v, "noise": noise, "weight_decay": weight_decay}
    follow_lr = lr_v is None  # lr_v defaults to lr, run by run (not a sweep of its own)
    if follow_lr:
        del values["lr_v"]
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in values.items()}
    for name, array in arrays.items():
        if array.ndim != 1:
            raise ValueError(f"{name} must be a number or a 1-d list, got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite, got {array.tolist()}")
    for name in ("noise", "weight_decay"):
        if np.any(arrays[name] < 0):
            raise ValueError(f"{name} must be non-negative, got {arrays[name].tolist()}")
    if product:
        rows = list(itertools.product(*arrays.values()))
        arrays = {k: np.array([r[i] for r in rows]) for i, k in enumerate(arrays)}
    else:
        try:
            broadcast = np.broadcast_arrays(*arrays.values())
        except ValueError:
            shapes = {k: v.shape for k, v in arrays.items()}
            raise ValueError(
                f"hyperparameter lists must have equal lengths (or length 1): {shapes}; "
                "pass product=True for every combination"
            ) from None
        arrays = dict(zip(arrays, broadcast))
    if follow_lr:
        arrays["lr_v"] = arrays["lr"]
    return {k: arrays[k] for k in NAMES}
