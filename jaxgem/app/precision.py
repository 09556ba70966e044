"""Jobs that run in float64 whatever JAX's default (the state evolutions' published digits)."""

from __future__ import annotations

import functools

import jax

__all__ = ["in_float64"]


def _x64():
    return jax.enable_x64(True) if hasattr(jax, "enable_x64") else jax.experimental.enable_x64()


def in_float64(job):
    """`job` run inside JAX's float64 context."""

    @functools.wraps(job)
    def run(*args, **kwargs):
        with _x64():
            return job(*args, **kwargs)

    return run
