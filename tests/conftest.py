"""Shared fixtures: float64 on demand (never switched on globally), small models."""

import os
import shutil
import tempfile

# Two xdist workers share the 2 cores: one Eigen thread per worker (measured: 12 % less wall
# time than two each, which oversubscribe the cores). Set before JAX starts its CPU backend;
# subprocesses of the tests inherit it.
os.environ["XLA_FLAGS"] = " ".join(
    [os.environ.get("XLA_FLAGS", ""), "--xla_cpu_multi_thread_eigen=false"]
).strip()

# One persistent compilation cache per test run, shared by the xdist workers and the command-line
# subprocesses of the tests: programs compiled in one process (the default job, the fixtures'
# models) are loaded, not compiled again, in the others. Cold at the start of every run.
_OWN_CACHE = None  # the folder this process made (a user's own cache is left alone)
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _OWN_CACHE = os.path.join(tempfile.gettempdir(), f"jaxgem-tests-{os.getpid()}")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _OWN_CACHE
# Every program, however small: the eager operations each process compiles again are the bulk
# (measured: 4 % less wall time on five test files than a 0.2 s threshold; a warm cache saved
# 26 % of a spectral test against 7 %).
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import jax  # noqa: E402
import pytest  # noqa: E402

# One CPU device per test process (the command line would make one per core): the xdist workers
# already share the cores; tests of several devices set their own count in a subprocess.
jax.config.update("jax_num_cpu_devices", 1)


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


def pytest_sessionfinish(session):
    """The process that made the run's compilation cache (the xdist controller) removes it."""
    if _OWN_CACHE is not None and "PYTEST_XDIST_WORKER" not in os.environ:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)


# Deterministic property-based tests: the same examples on every run (CI must not be flaky).
from hypothesis import settings  # noqa: E402

settings.register_profile("deterministic", derandomize=True)
settings.load_profile("deterministic")
