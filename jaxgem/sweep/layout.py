"""`RunLayout`: independent runs (seeds, hyperparameters, grid points) laid out along one axis of
a device mesh, on every device of every process that JAX sees.

The simulation and every theory grid go through this one helper: the runs' axis is padded to a
multiple of the device count, placed with a `NamedSharding`, computed with `jax.shard_map` (each
device advances its own runs; no communication), and gathered back to the host of every process
(`multihost_utils.process_allgather` over JAX's distributed runtime when there are several
processes). Nothing here schedules jobs: the processes are those of `jax.distributed`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["RunLayout", "RUNS", "grid_layout"]

RUNS = "runs"  # the mesh axis of independent runs


def _is_key(leaf) -> bool:
    return isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)


class RunLayout(eqx.Module):
    """Runs along the axis `"runs"` of a one-dimensional device mesh.

    **Arguments:**

    - `mesh`: a `jax.sharding.Mesh` with the single axis `"runs"`; build one with
      `RunLayout.over(devices)` (default: every device of every process, `jax.devices()`).

    Example:
    ```python
    layout = jaxgem.RunLayout.over()          # all devices
    traj = jaxgem.simulate(problem, key, seeds=64, layout=layout)
    ```
    """

    mesh: Mesh = eqx.field(static=True)

    def __check_init__(self):
        if tuple(self.mesh.axis_names) != (RUNS,):
            raise ValueError(f"RunLayout.mesh must have the one axis ('{RUNS}',)")

    @classmethod
    def over(cls, devices: Sequence[jax.Device] | int | None = None) -> RunLayout:
        """A layout over `devices` (a list, the first `n` of `jax.devices()`, or all of them)."""
        if devices is None:
            devices = jax.devices()
        elif isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
            available = jax.devices()
            if not 1 <= devices <= len(available):
                raise ValueError(
                    f"devices must be between 1 and the {len(available)} devices present, "
                    f"got {devices}"
                )
            devices = available[:devices]
        devices = list(devices)
        if not devices:
            raise ValueError("a RunLayout needs at least one device")
        return cls(Mesh(np.array(devices), (RUNS,)))

    # ------------------------------------------------------------------------ sizes
    @property
    def size(self) -> int:
        """Devices in the mesh."""
        return self.mesh.devices.size

    @property
    def processes(self) -> int:
        """Processes owning the mesh's devices."""
        return len({device.process_index for device in self.mesh.devices.flat})

    def padded(self, runs: int) -> int:
        """`runs` rounded up to a multiple of the device count."""
        return -(-runs // self.size) * self.size

    def pad(self, tree, runs: int):
        """Every leaf's leading axis (length `runs`) padded to `padded(runs)` by repeating its
        last entry; the extra runs are computed and dropped, so every device gets as many."""
        extra = self.padded(runs) - runs
        if extra == 0:
            return tree

        def pad(leaf):
            tail = jnp.repeat(leaf[-1:], extra, axis=0)
            return jnp.concatenate([leaf, tail], axis=0)

        return jax.tree.map(pad, tree)

    # ------------------------------------------------------------------------ placement
    def sharding(self, replicated: bool = False) -> NamedSharding:
        return NamedSharding(self.mesh, PartitionSpec() if replicated else PartitionSpec(RUNS))

    def put(self, tree, replicated: bool = False):
        """Place every array leaf on the mesh: split along its leading (runs) axis, or
        replicated. Every process must pass the same values (they are its share of a global
        array)."""
        sharding = self.sharding(replicated)

        def put(leaf):
            if not isinstance(leaf, (jax.Array, np.ndarray)):
                return leaf
            if _is_key(leaf):
                impl = jax.random.key_impl(leaf)
                data = self._put_array(jax.random.key_data(leaf), sharding)
                return jax.random.wrap_key_data(data, impl=impl)
            return self._put_array(leaf, sharding)

        return jax.tree.map(put, tree)

    def _put_array(self, value, sharding: NamedSharding) -> jax.Array:
        if self.processes == 1:  # no host copy: the devices take their shares directly
            return jax.device_put(value, sharding)
        host = np.asarray(value)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    def gather(self, tree):
        """Every array leaf as a NumPy array on the host, whole, on every process."""

        def gather(leaf):
            if not isinstance(leaf, jax.Array):
                return leaf
            if _is_key(leaf):
                leaf = jax.random.key_data(leaf)
            if leaf.is_fully_addressable:
                return np.asarray(leaf)
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))

        return jax.tree.map(gather, tree)

    def local_rows(self, leaf: jax.Array) -> np.ndarray:
        """This process's rows of a run-sharded array (the whole array with one process)."""
        if _is_key(leaf):
            leaf = jax.random.key_data(leaf)
        if leaf.is_fully_addressable:
            return np.asarray(leaf)
        shards = {}
        for shard in leaf.addressable_shards:
            start = shard.index[0].start or 0
            shards.setdefault(start, np.asarray(shard.data))
        return np.concatenate([shards[start] for start in sorted(shards)], axis=0)

    def from_local_rows(self, template: jax.Array, rows: np.ndarray) -> jax.Array:
        """The run-sharded global array whose rows on this process are `rows` (the inverse of
        `local_rows`), shaped and typed like `template`."""
        sharding = self.sharding()
        if _is_key(template):
            impl = jax.random.key_impl(template)
            data = jax.random.key_data(template)
            rows = rows.astype(data.dtype)
            array = jax.make_array_from_process_local_data(sharding, rows, data.shape)
            return jax.random.wrap_key_data(array, impl=impl)
        rows = rows.astype(template.dtype)
        return jax.make_array_from_process_local_data(sharding, rows, template.shape)

    # ------------------------------------------------------------------------ computation
    def map(self, fn: Callable, runs, shared=()):
        """`fn(runs, shared)` on every device with its own runs (leading axis of every leaf of
        `runs`; padded to a multiple of the device count and the padding dropped again) and all
        of `shared`; its outputs keep the runs' axis first. Call it under `jit`; with one device
        it is `fn` itself."""
        if self.size == 1:
            return fn(runs, shared)
        n = jax.tree.leaves(runs)[0].shape[0]
        if self.padded(n) != n:
            out = self.map(fn, self.pad(runs, n), shared)
            return jax.tree.map(lambda a: a[:n], out)
        runs_arrays, runs_static = eqx.partition(runs, eqx.is_array)
        shared_arrays, shared_static = eqx.partition(shared, eqx.is_array)
        out_static = []

        def local(runs_arrays, shared_arrays):
            out = fn(
                eqx.combine(runs_arrays, runs_static), eqx.combine(shared_arrays, shared_static)
            )
            out_arrays, static = eqx.partition(out, eqx.is_array)
            out_static.append(static)
            return out_arrays

        spec = PartitionSpec(RUNS)
        mapped = jax.shard_map(
            local,
            mesh=self.mesh,
            in_specs=(spec, PartitionSpec()),
            out_specs=spec,
            check_vma=False,  # solvers' loops start from constants; nothing crosses devices
        )
        out_arrays = mapped(runs_arrays, shared_arrays)
        return eqx.combine(out_arrays, out_static[0])


def grid_layout(layout: RunLayout | None, *values) -> RunLayout | None:
    """The layout of a theory grid: `layout`, or this process's devices; none (one device) when
    any of `values` is traced, i.e. inside the caller's `jit` or `grad` (a fit), since a failed
    `eqx.error_if` check's callback on one device would leave the others waiting."""
    if layout is None:
        layout = RunLayout.over(jax.local_devices())
    if not isinstance(layout, RunLayout):
        raise TypeError(f"layout must be a jaxgem.RunLayout, got {type(layout).__name__}")
    traced = any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(values))
    return None if traced else layout
