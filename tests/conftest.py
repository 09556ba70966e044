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


#: Files holding the longest tests (30-55 s each on 2 cores): run first, so that the two
#: workers end on short tests instead of one waiting for the other (`--dist worksteal`).
SLOW_FILES = (
    "test_cli.py",
    "test_fit.py",
    "test_design.py",
    "test_spectral.py",
    "test_fit_spectrum.py",
    "test_minibatch.py",
    "test_bayes.py",
)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name not in SLOW_FILES)  # stable: order kept within
