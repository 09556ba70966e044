"""Shared fixtures: float64 on demand (never switched on globally), small models."""

import os

# Two xdist workers share the 2 cores: one Eigen thread per worker (measured: 12 % less wall
# time than two each, which oversubscribe the cores). Set before JAX starts its CPU backend;
# subprocesses of the tests inherit it.
os.environ["XLA_FLAGS"] = " ".join(
    [os.environ.get("XLA_FLAGS", ""), "--xla_cpu_multi_thread_eigen=false"]
).strip()

import jax  # noqa: E402
import pytest  # noqa: E402


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
