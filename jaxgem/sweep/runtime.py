"""Starting JAX for a command: one CPU device per core, the persistent compilation cache in the
user's cache folder, and `jax.distributed` when several processes (or hosts) work together.

All of it must happen before JAX's first computation, which is why the command line calls
`start_runtime` first. A library user sets the same options with `jax.config` and
`jax.distributed.initialize` (docs/scale-out.md).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

__all__ = ["Runtime", "start_runtime", "cache_folder", "cacheable_library_checks", "cpu_cores"]

ENVIRONMENT = {
    "coordinator": "JAXGEM_COORDINATOR",
    "num_processes": "JAXGEM_NUM_PROCESSES",
    "process_id": "JAXGEM_PROCESS_ID",
}


class ScaleOutError(ValueError):
    """Bad scale-out options (the command line reports them in one line, exit 2)."""


@dataclasses.dataclass(frozen=True)
class Runtime:
    """What a command asked of JAX.

    - `devices`: CPU devices per process (default: one per core this process may use).
    - `coordinator`: `HOST:PORT` of process 0, or `"auto"` for `jax.distributed`'s cluster
      detection (SLURM, Open MPI, Kubernetes, TPU pods); `None`: one process.
    - `num_processes`, `process_id`: this process among all (with a coordinator address).
    - `cache`: keep compiled programs in the persistent cache (`cache_folder()`).
    - `timeout_s`: how long to wait for the other processes at the start.
    """

    devices: int | None = None
    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    cache: bool = True
    timeout_s: int = 120

    @classmethod
    def from_environment(cls, **given) -> Runtime:
        """The options given, the rest from `JAXGEM_COORDINATOR`, `JAXGEM_NUM_PROCESSES`,
        `JAXGEM_PROCESS_ID`; checked (`ScaleOutError` names the bad one)."""
        values = {k: v for k, v in given.items() if v is not None}
        for name, variable in ENVIRONMENT.items():
            if name not in values and os.environ.get(variable):
                values[name] = os.environ[variable]
        for name in ("devices", "num_processes", "process_id", "timeout_s"):
            if name in values:
                values[name] = _integer(
                    name, values[name], minimum=0 if name == "process_id" else 1
                )
        runtime = cls(**values)
        runtime.check()
        return runtime

    def check(self) -> None:
        explicit = self.coordinator not in (None, "auto")
        if explicit:
            host, _, port = self.coordinator.rpartition(":")
            if not host or not port.isdigit():
                raise ScaleOutError(
                    f"coordinator must be HOST:PORT (e.g. 127.0.0.1:4321) or 'auto', "
                    f"got {self.coordinator!r}"
                )
            if self.num_processes is None or self.process_id is None:
                raise ScaleOutError(
                    f"coordinator {self.coordinator} needs num_processes and process_id "
                    "(--num-processes, --process-id or JAXGEM_NUM_PROCESSES, JAXGEM_PROCESS_ID)"
                )
        elif self.coordinator is None and (self.num_processes or 1) > 1:
            raise ScaleOutError(
                f"num_processes {self.num_processes} needs a coordinator (--coordinator "
                "HOST:PORT or 'auto')"
            )
        if self.num_processes is not None and self.process_id is not None:
            if not self.process_id < self.num_processes:
                raise ScaleOutError(
                    f"process_id must be below num_processes = {self.num_processes}, got "
                    f"{self.process_id}"
                )


def _integer(name: str, value, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or str(number) != str(value).strip() or number < minimum:
        raise ScaleOutError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return number


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cacheable_library_checks() -> None:
    """Let the persistent cache keep the ODE solves: call before equinox is imported.

    diffrax checks its inputs (`saveat.ts` increasing and within `[t0, t1]`, the sign of `dt0`)
    with `eqx.error_if`, which compiles host callbacks, and JAX never writes a program with host
    callbacks to the persistent cache: every command compiled its ODE theory anew (3 s of a
    15 s `jaxgem run iid-plateau`). jaxgem checks these inputs itself before solving, so the
    command line sets equinox's documented `EQX_ON_ERROR=nan` (a failed library check gives
    NaN, no callback) unless the user chose a value; jaxgem's own checks (`checks.require`)
    still raise. Without effect once equinox is imported (a library user's process)."""
    if "equinox" not in sys.modules:
        os.environ.setdefault("EQX_ON_ERROR", "nan")


def cache_folder() -> Path:
    """The persistent compilation cache: `$JAX_COMPILATION_CACHE_DIR` if set, else
    `$XDG_CACHE_HOME/jaxgem/xla` (default `~/.cache/jaxgem/xla`)."""
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return Path(os.environ["JAX_COMPILATION_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jaxgem" / "xla"


def start_runtime(runtime: Runtime) -> None:
    """Configure JAX as `runtime` says; call before JAX computes anything."""
    if runtime.cache:
        cacheable_library_checks()
    import jax
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        # main() called from a program that already runs JAX: its settings stay as they are
        if runtime.coordinator is not None:
            raise ScaleOutError(
                "jax.distributed must start before JAX computes anything: run the command in "
                "a fresh process"
            )
        return
    if runtime.devices is not None or jax.config.jax_num_cpu_devices < 1:
        # one device per core unless the user (JAX_NUM_CPU_DEVICES, jax.config) chose
        jax.config.update("jax_num_cpu_devices", runtime.devices or cpu_cores())
    if runtime.cache:
        jax.config.update("jax_compilation_cache_dir", str(cache_folder()))
        # every program: jaxgem's compile in a second or two each, below JAX's 1 s default
        # threshold often enough that the default cache kept nothing (measured)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    if runtime.coordinator is None:
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    options = dict(initialization_timeout=runtime.timeout_s)
    if runtime.coordinator != "auto":
        options.update(
            coordinator_address=runtime.coordinator,
            num_processes=runtime.num_processes,
            process_id=runtime.process_id,
        )
    jax.distributed.initialize(**options)
