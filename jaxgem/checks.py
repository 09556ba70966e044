"""Input checks that name what is wrong, eagerly for concrete values and inside `jit` too.

A concrete value that fails raises a `ValueError` at once (the message names the field, the value
and what is accepted); a traced value (under `jit`, `grad` or `vmap`, e.g. while fitting theory to
data) gets the same check as an `eqx.error_if`, which stops the computation when it runs.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["is_traced", "require", "shown"]


def is_traced(*values) -> bool:
    """Whether any leaf of `values` is a JAX tracer (no concrete value to look at)."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(values))


def shown(value) -> str:
    """A short text of a value for an error message."""
    if is_traced(value):
        return "(traced)"
    array = np.asarray(value)
    return repr(array.item()) if array.ndim == 0 else repr(array.tolist())


def require(value, ok, message: str):
    """`value`, or an error with `message` where `ok` is false: a `ValueError` now for concrete
    values, an `eqx.error_if` for traced ones (the check then runs with the computation)."""
    if is_traced(value, ok):
        # always raise, whatever EQX_ON_ERROR says (the command line sets it to nan for the
        # libraries' checks: sweep.runtime.cacheable_library_checks)
        return eqx.error_if(value, ~jnp.all(ok), message, on_error="raise")
    if not bool(np.all(np.asarray(ok))):
        raise ValueError(message)
    return value
