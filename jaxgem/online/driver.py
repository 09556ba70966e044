"""`simulate`: online SGD of a student on a teacher's labels, over seeds and a hyperparameter grid.

The driver around the compiled engine: it draws the networks of every seed, records at the chosen
times (log-spaced by default), shows progress, saves an atomic checkpoint as it goes and resumes
from it to the same numbers, and reports runs that diverge while keeping the others.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from ..data.base import DataModel
from ..io import save_npz
from ..networks import TwoLayerNetwork
from ..results import Trajectory
from .engine import SimulationState, advance, observe
from .hyperparameters import Hyperparameters, hyperparameter_table
from .schedule import default_steps_per_block, record_blocks

__all__ = ["simulate", "run_metadata"]

NetworkSpec = TwoLayerNetwork | Callable[[jax.Array], TwoLayerNetwork]


def run_metadata() -> dict:
    """Versions, device and dtype settings to store beside every result."""
    import diffrax
    import equinox

    from .. import __version__

    device = jax.devices()[0]
    return {
        "jaxgem": __version__,
        "jax": jax.__version__,
        "equinox": equinox.__version__,
        "diffrax": diffrax.__version__,
        "numpy": np.__version__,
        "device": f"{device.platform}:{getattr(device, 'device_kind', '')}",
        "x64": bool(jax.config.jax_enable_x64),
    }


def _takes_teacher(spec) -> bool:
    try:
        parameters = inspect.signature(spec).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) >= 2


def _per_seed(spec: NetworkSpec, keys: jax.Array, role: str, teachers=None) -> TwoLayerNetwork:
    """Networks with a leading seed axis: broadcast from a network, or drawn per seed from
    `spec(key)` (or `spec(key, teacher)` for a student initialised from its teacher)."""
    if isinstance(spec, TwoLayerNetwork):
        return jax.tree.map(lambda a: jnp.broadcast_to(a, (keys.shape[0],) + a.shape), spec)
    if not callable(spec):
        raise TypeError(f"{role} must be a TwoLayerNetwork or a function key -> TwoLayerNetwork")
    if teachers is not None and _takes_teacher(spec):
        return eqx.filter_vmap(spec)(keys, teachers)
    return eqx.filter_vmap(spec)(keys)


def _seed_list(seeds: int | Sequence[int]) -> np.ndarray:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds <= 0:
            raise ValueError(f"seeds must be a positive count or a list of seeds, got {seeds}")
        return np.arange(seeds)
    seeds = np.asarray(seeds)
    if seeds.ndim != 1 or seeds.size == 0 or seeds.dtype.kind not in "iu" or np.any(seeds < 0):
        raise ValueError("seeds must be a positive count or a list of non-negative integers")
    if np.unique(seeds).size != seeds.size:
        raise ValueError(f"seeds must be distinct, got {seeds.tolist()}")
    return seeds


def _fingerprint(static: dict, *trees) -> str:
    digest = hashlib.sha256(json.dumps(static, sort_keys=True, default=str).encode())
    for tree in trees:
        for leaf in jax.tree.leaves(eqx.filter(tree, eqx.is_array)):
            if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
                leaf = jax.random.key_data(leaf)
            digest.update(np.ascontiguousarray(np.asarray(leaf)).tobytes())
    return digest.hexdigest()


def _state_arrays(state: SimulationState) -> dict[str, np.ndarray]:
    state = eqx.tree_at(lambda s: s.keys, state, jax.random.key_data(state.keys))
    leaves = jax.tree.leaves(eqx.filter(state, eqx.is_array))
    return {f"state_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)}


def _restore_state(template: SimulationState, data) -> SimulationState:
    raw = eqx.tree_at(lambda s: s.keys, template, jax.random.key_data(template.keys))
    params, static = eqx.partition(raw, eqx.is_array)
    leaves, treedef = jax.tree.flatten(params)
    loaded = [jnp.asarray(data[f"state_{i}"], leaf.dtype) for i, leaf in enumerate(leaves)]
    state = eqx.combine(jax.tree.unflatten(treedef, loaded), static)
    impl = jax.random.key_impl(template.keys)
    return eqx.tree_at(lambda s: s.keys, state, jax.random.wrap_key_data(state.keys, impl=impl))


def simulate(
    key: jax.Array,
    data_model: DataModel,
    teacher: NetworkSpec,
    student: NetworkSpec,
    *,
    lr,
    lr_v=None,
    noise=0.0,
    weight_decay=0.0,
    product: bool = False,
    train_second_layer: bool = False,
    batch_size: int = 1,
    t_max: float | None = None,
    times=None,
    n_records: int = 50,
    spacing: str = "log",
    seeds: int | Sequence[int] = 1,
    test_set_size: int = 0,
    steps_per_block: int | None = None,
    divergence_threshold: float = 1e6,
    checkpoint: str | Path | None = None,
    save_every: float = 20.0,
    progress: bool = False,
    description: str = "online SGD",
    record_weights: bool = False,
) -> Trajectory:
    """Online SGD of `student` on labels of `teacher`, inputs from `data_model` (THEORY.md Sec. 1).

    **Arguments:**

    - `key`: a `jax.random.key`; seed `s` uses `fold_in(key, s)` for its networks and its input
      stream, so a seed gives the same numbers whatever other seeds run beside it.
    - `data_model`: where `(x, c)` come from (`IIDGaussian`, `HiddenManifold`,
      `GaussianEquivalent`).
    - `teacher`, `student`: a `TwoLayerNetwork` (the same for every seed) or a function
      `key -> TwoLayerNetwork` (drawn per seed; a student function may also take the seed's
      teacher, `(key, teacher) -> TwoLayerNetwork`). The teacher reads `c`, the student `x`.
    - `lr`, `lr_v`, `noise`, `weight_decay`: numbers or lists; lists make a sweep run in one
      compiled call (zipped, or every combination with `product=True`).
    - `train_second_layer`: also train the readout `v` (at rate `lr_v`, default `lr`).
    - `batch_size`: samples per step, gradients averaged; time is `steps / N`.
    - `t_max`, `n_records`, `spacing` or explicit `times`: when to record.
    - `seeds`: a count or a list of seeds.
    - `test_set_size`: if positive, also estimate `eg` on a fixed held-out set of this size.
    - `checkpoint`: an `.npz` path; the run saves there atomically every `save_every` seconds and,
      if the file exists from the same run, resumes from it to the same numbers.
    - `progress`: show a progress bar.
    - `record_weights`: also keep the students' first-layer weights at every record
      (`Trajectory.w`, `(H, S, R, K, N)`), e.g. for `diagnostics.field_gaussianity_along`.

    **Returns:** a `Trajectory` with arrays of shape `(H, S, R, ...)`.

    Example:
    ```python
    data = jaxgem.IIDGaussian(N=500)
    teacher = lambda k: jaxgem.TwoLayerNetwork.gaussian(k, 2, 500, "erf")
    student = lambda k: jaxgem.TwoLayerNetwork.small(k, 2, 500, "erf")
    traj = jaxgem.simulate(jax.random.key(0), data, teacher, student, lr=[0.1, 0.5],
                           t_max=20, seeds=4)
    traj.mean("eg")  # (2, R)
    ```
    """
    seeds = _seed_list(seeds)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(test_set_size, bool) or not isinstance(test_set_size, int) or test_set_size < 0:
        raise ValueError(f"test_set_size must be a non-negative integer, got {test_set_size!r}")
    table = hyperparameter_table(lr, lr_v, noise, weight_decay, product=product)
    N = data_model.input_dim
    steps_per_block = steps_per_block or default_steps_per_block(N, batch_size)
    blocks = record_blocks(
        N, steps_per_block, t_max=t_max, times=times, n_records=n_records, spacing=spacing
    )
    t = blocks * steps_per_block / N

    seeds_key, test_key = jax.random.split(key)
    seed_keys = jax.vmap(lambda s: jax.random.fold_in(seeds_key, s))(jnp.asarray(seeds))
    split = jax.vmap(lambda k: jax.random.split(k, 3))(seed_keys)
    teachers = _per_seed(teacher, split[:, 0], "teacher")
    students = _per_seed(student, split[:, 1], "student", teachers)
    first = lambda tree: jax.tree.map(lambda a: a[0], tree)  # noqa: E731
    data_model.check_networks(first(students), first(teachers))
    dtype = students.w.dtype  # hyperparameters follow the networks' precision
    hyper = Hyperparameters.from_table(table, dtype)
    H = hyper.size
    students = jax.tree.map(
        lambda a: jnp.broadcast_to(a[:, None], (a.shape[0], H) + a.shape[1:]), students
    )
    state = SimulationState(students, teachers, split[:, 2], jnp.asarray(0, jnp.int32))
    initial_w = np.asarray(students.w[:, 0])  # (S, K, N): where the spectral theory starts
    test_x = test_c = None
    if test_set_size:
        test_x, test_c = data_model.sample(test_key, test_set_size)

    static = dict(
        steps_per_block=steps_per_block,
        batch_size=batch_size,
        train_second_layer=train_second_layer,
        seeds=seeds,
        blocks=blocks,
        test_set_size=test_set_size,
        data_model=type(data_model).__name__,
        record_weights=record_weights,
    )
    fingerprint = _fingerprint(static, data_model, state, hyper, key)
    metadata = dict(
        run_metadata(),
        description=description,
        N=N,
        D=data_model.latent_dim,
        steps_per_block=steps_per_block,
        batch_size=batch_size,
        train_second_layer=train_second_layer,
        test_set_size=test_set_size,
        data_model=type(data_model).__name__,
        fingerprint=fingerprint,
        dtype=str(students.w.dtype),
        student_activation=students.activation.name,
        teacher_activation=teachers.activation.name,
        output_scale=students.output_scale,
        key=np.asarray(jax.random.key_data(key)).tolist(),
    )

    S, R, K, M = len(seeds), len(blocks), students.K, teachers.K
    nan = lambda *shape: np.full(shape, np.nan, np.asarray(students.w).dtype)  # noqa: E731
    records = {
        "eg": nan(H, S, R),
        "Q": nan(H, S, R, K, K),
        "R": nan(H, S, R, K, M),
        "v": nan(H, S, R, K),
    }
    if test_set_size:
        records.update(eg_test=nan(H, S, R), eg_test_sem=nan(H, S, R))
    if record_weights:
        records["w"] = nan(H, S, R, K, N)
    completed = 0

    if checkpoint is not None and Path(checkpoint).exists():
        with np.load(checkpoint, allow_pickle=False) as data:
            if str(data["fingerprint"]) != fingerprint:
                raise ValueError(
                    f"checkpoint {checkpoint} was written by a different run (other configuration, "
                    "networks, data or key); delete it or choose another path"
                )
            state = _restore_state(state, data)
            completed = int(data["completed"])
            for name in records:
                records[name] = np.array(data[name])

    def trajectory() -> Trajectory:
        eg = records["eg"][:, :, :completed]
        bad = ~np.isfinite(eg) | (eg > divergence_threshold)
        first_bad = np.argmax(bad, axis=-1)
        diverged_at = np.where(bad.any(-1), t[first_bad], np.nan)
        return Trajectory(
            t=t,
            Q=records["Q"],
            R=records["R"],
            v=records["v"],
            eg=records["eg"],
            eg_test=records.get("eg_test"),
            eg_test_sem=records.get("eg_test_sem"),
            T=np.asarray(jax.vmap(lambda B: B @ B.T / B.shape[-1])(teachers.w)),
            A=np.asarray(teachers.readout),
            hyperparameters=table,
            seeds=seeds,
            diverged_at=diverged_at,
            completed=completed,
            metadata=metadata,
            w0=initial_w,
            B0=np.asarray(teachers.w),
            w=records.get("w"),
        )

    def save():
        if checkpoint is not None:
            arrays = trajectory().arrays()
            arrays.update(_state_arrays(state), fingerprint=np.array(fingerprint))
            save_npz(checkpoint, **arrays)

    def record(r):
        obs = observe(state, data_model, test_x, test_c)
        if record_weights:
            obs = dict(obs, w=state.students.w)
        for name, value in obs.items():
            records[name][:, :, r] = np.moveaxis(np.asarray(value), 1, 0)  # (S, H) -> (H, S)

    chunk = max(1, math.ceil(blocks[-1] / 100))
    bar = tqdm(
        total=int(blocks[-1]),
        desc=description,
        disable=not progress,
        mininterval=1.0,
        bar_format="{l_bar}{bar}| {postfix} [{elapsed}<{remaining}]",
    )
    bar.set_postfix_str(f"t={t[-1]:.4g}", refresh=False)
    bar.update(int(blocks[completed - 1]) if completed else 0)
    last_save = time.monotonic()
    step_args = (data_model, hyper, steps_per_block, batch_size, train_second_layer)
    if completed == 0:
        record(0)
        completed = 1
    try:
        for r in range(completed, R):
            while int(state.blocks_done) < blocks[r]:
                n = min(chunk, blocks[r] - int(state.blocks_done))
                state = advance(state, jnp.asarray(n, jnp.int32), *step_args)
                bar.update(n)
            record(r)
            completed = r + 1
            if time.monotonic() - last_save > save_every:
                save()
                last_save = time.monotonic()
    finally:  # interrupted or not, keep everything computed so far
        bar.close()
        save()
    result = trajectory()
    report = result.divergence_report()
    if report:
        warnings.warn("\n".join(report), RuntimeWarning, stacklevel=2)
    return result
