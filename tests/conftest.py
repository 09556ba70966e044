"""Shared fixtures: float64 on demand (never switched on globally), small models."""

import jax
import pytest


def _x64_context():
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # older JAX

    return enable_x64()


@pytest.fixture
def x64():
    """Run a test in double precision."""
    with _x64_context():
        yield


# Deterministic property-based tests: the same examples on every run (CI must not be flaky).
from hypothesis import settings  # noqa: E402

settings.register_profile("deterministic", derandomize=True)
settings.load_profile("deterministic")
