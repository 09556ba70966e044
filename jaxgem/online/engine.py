"""The compiled core of online SGD: one SGD step, a block of steps, and the observables.

Layout of a simulation state: students carry leading axes `(S, H)` (seeds, hyperparameters),
teachers and keys a leading `S`. All runs of one seed share the input stream, so the inputs of a
block are generated once per seed (one matrix product for a generator) and the sequential SGD
updates of every run are scanned over the block (THEORY.md Sec. 1; DESIGN.md "Performance").
Mini-batch sizes are arrays too: every step draws the largest batch of the sweep and each run
averages its gradient over the first `batch_size` samples, so a batch-size sweep is one compiled
call (its cost, input generation, is that of the largest batch alone).

The compiled functions count their traces (`eqx.debug.get_num_traces(advance)`): a sweep of new
values must not retrace.
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray

from ..data.base import DataModel
from ..hyperparameters import Hyperparameters
from ..networks import TwoLayerNetwork
from ..order_parameters import generalisation_error
from ..problem import on_sphere
from ..sweep.layout import RunLayout

__all__ = [
    "SimulationState",
    "sgd_step",
    "advance",
    "observe",
    "seed_group",
    "group_budget",
    "GROUP_BYTES",
    "ACCELERATOR_GROUP_BYTES",
]


class SimulationState(eqx.Module):
    """Everything that evolves: students `(S, H, ...)`, teachers `(S, ...)`, per-seed keys, and
    the number of blocks done."""

    students: TwoLayerNetwork
    teachers: TwoLayerNetwork
    keys: PRNGKeyArray
    blocks_done: Int[Array, ""]


def sgd_step(
    student: TwoLayerNetwork,
    x: Float[Array, "B N"],
    target: Float[Array, " B"],
    noise_draw: Float[Array, " B"],
    hyper: Hyperparameters,
    train_second_layer: bool,
    t: Float[Array, ""] | float = 0.0,
    spherical: bool = False,
) -> TwoLayerNetwork:
    """One (mini-batch) SGD step on `(y - yhat)^2 / 2` for one run, exactly as THEORY.md Sec. 1.

    `w_k += (eta / sqrt N) v_k g'(lambda_k) e x - (kappa / N) w_k` and, when the second layer is
    trained, `v_k += (eta_v / N) g(lambda_k) e - (kappa / N) v_k`, gradients averaged over the
    first `hyper.batch_size` samples of `x` (the rest of the drawn batch is masked),
    `e = y* + sigma xi - yhat`, `v` the effective readout; the rates are the schedule's at the
    step's time `t = steps / N` (`hyper.rates(t)`). `spherical`: then every unit is scaled
    back to `|w_k|^2 = N` (spherical SGD).
    """
    N = student.N
    scale = student.output_scale
    fields = student.fields(x)
    g = student.activation(fields)
    readout = scale * student.v
    batch = hyper.batch_size.astype(x.dtype)
    used = (jnp.arange(x.shape[0]) < hyper.batch_size).astype(x.dtype)
    error = (target + hyper.noise * noise_draw - g @ readout) * used
    grad_w = ((readout * student.activation.derivative(fields)) * error[:, None]).T @ x / batch
    decay = hyper.weight_decay / N
    lr, lr_v = hyper.rates(jnp.asarray(t, x.dtype))
    w = student.w + (lr / math.sqrt(N)) * grad_w - decay * student.w
    if spherical:
        w = on_sphere(w)
    v = student.v
    if train_second_layer:
        grad_v = scale * jnp.sum(g * error[:, None], axis=0) / batch
        v = v + (lr_v / N) * grad_v - decay * v
    return eqx.tree_at(lambda s: (s.w, s.v), student, (w, v))


def _block_data(data_model: DataModel, teacher, key, block_index, steps, batch):
    """Inputs, teacher outputs and noise draws of one block for one seed."""
    data_key, noise_key = jax.random.split(jax.random.fold_in(key, block_index))
    x, c = data_model.sample(data_key, steps * batch)
    target = teacher(c)
    noise_draw = jax.random.normal(noise_key, (steps * batch,), x.dtype)
    return (
        x.reshape(steps, batch, -1),
        target.reshape(steps, batch),
        noise_draw.reshape(steps, batch),
    )


#: Bytes of input a group of seeds may hold in one block on a CPU: the cache the scan should
#: stay in (measured on a 2-core AMD EPYC, benchmarks/scale_out.py: groups of 8 seeds, whose
#: blocks exceed it from N = 4000, run 2x slower per sample). On a GPU or TPU the group is
#: bounded by `ACCELERATOR_GROUP_BYTES` of device memory instead: there the batch should be big.
GROUP_BYTES = 4 * 2**20
ACCELERATOR_GROUP_BYTES = 2**29  # x16 buffers (docs/scale-out.md): 8 GiB at the peak


def group_budget(platform: str | None = None) -> tuple[int, int | None]:
    """`(bytes, most seeds)` a group of seeds may take on `platform` (default: JAX's)."""
    platform = platform or jax.default_backend()
    return (GROUP_BYTES, 8) if platform == "cpu" else (ACCELERATOR_GROUP_BYTES, None)


def seed_group(seeds: int, block_bytes: int, platform: str | None = None) -> int:
    """Seeds advanced together on one device: the largest divisor of `seeds` whose blocks of
    inputs (`block_bytes` per seed) fit in the platform's `group_budget` (on a CPU at most 8,
    the cache's worth; at least one seed)."""
    budget, largest = group_budget(platform)
    fits = max(1, min(largest or seeds, budget // max(block_bytes, 1)))
    return max(g for g in range(1, min(seeds, fits) + 1) if seeds % g == 0)


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)
def advance(
    state: SimulationState,
    n_blocks: Int[Array, ""],
    data_model: DataModel,
    hyper: Hyperparameters,
    steps_per_block: int,
    batch_size: int,
    train_second_layer: bool,
    layout: RunLayout | None = None,
    group: int | None = None,
    spherical: bool = False,
) -> SimulationState:
    """Run `n_blocks` blocks of `steps_per_block` SGD steps on every run; `n_blocks` is traced,
    so any number of blocks reuses one compilation. `batch_size` is the largest batch of the
    sweep (samples drawn per step). Seeds are independent: with a `layout` each device advances
    its own seeds (`shard_map`), and on a device they advance in groups of `group` (`lax.map`;
    default `seed_group` of the block's bytes), each group through all its blocks.
    `spherical`: spherical SGD (`sgd_step`)."""

    local = functools.partial(
        _advance_seeds,
        steps_per_block=steps_per_block,
        batch_size=batch_size,
        train_second_layer=train_second_layer,
        group=group,
        spherical=spherical,
    )
    runs = (state.students, state.teachers, state.keys)
    shared = (state.blocks_done, n_blocks, data_model, hyper)
    students = local(runs, shared) if layout is None else layout.map(local, runs, shared)
    blocks_done = state.blocks_done + n_blocks
    return eqx.tree_at(lambda s: (s.students, s.blocks_done), state, (students, blocks_done))


def _advance_seeds(
    runs, shared, *, steps_per_block, batch_size, train_second_layer, group, spherical
):
    """The students of the given seeds (`runs`: students, teachers, keys) after `n_blocks` more
    blocks (`shared`: blocks done, `n_blocks`, the data model, the hyperparameters)."""
    students, teachers, keys = runs
    blocks_done, n_blocks, data_model, hyper = shared
    step = functools.partial(sgd_step, spherical=spherical)
    per_run = jax.vmap(step, in_axes=(0, None, None, None, 0, None, None))  # over H
    per_seed = jax.vmap(per_run, in_axes=(0, 0, 0, 0, None, None, None))  # over S
    N = students.w.shape[-1]
    block_data = jax.vmap(_block_data, in_axes=(None, 0, 0, None, None, None), out_axes=1)

    def run_group(members):
        students, teachers, keys = members

        def one_block(i, students):
            block = blocks_done + i
            x, target, noise_draw = block_data(
                data_model, teachers, keys, block, steps_per_block, batch_size
            )
            step = block * steps_per_block + jnp.arange(steps_per_block)
            t = step.astype(x.dtype) / N  # the time of each step, for the schedule

            def one_step(students, inputs):
                *data, t = inputs
                return per_seed(students, *data, hyper, train_second_layer, t), None

            return jax.lax.scan(one_step, students, (x, target, noise_draw, t))[0]

        return jax.lax.fori_loop(0, n_blocks, one_block, students)

    S = keys.shape[0]
    if group is None:
        block_bytes = steps_per_block * batch_size * N * students.w.dtype.itemsize  # inputs x
        G = seed_group(S, block_bytes)
    else:
        G = math.gcd(S, group)
    grouped = jax.tree.map(
        lambda a: a.reshape((S // G, G) + a.shape[1:]), (students, teachers, keys)
    )
    students = jax.lax.map(run_group, grouped)
    return jax.tree.map(lambda a: a.reshape((S,) + a.shape[2:]), students)


def _run_observables(data_model, student, teacher, test_x, test_c):
    op = data_model.order_parameters(student, teacher)
    eg = generalisation_error(op, student.activation, teacher.activation)
    out = {"eg": eg, "Q": op.Q, "R": op.R, "v": op.v}
    if test_x is not None:
        squared = 0.5 * (teacher(test_c) - student(test_x)) ** 2
        out["eg_test"] = jnp.mean(squared)
        out["eg_test_sem"] = jnp.std(squared) / math.sqrt(squared.shape[0])
    return out


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=None)
def observe(
    state: SimulationState,
    data_model: DataModel,
    test_x: Float[Array, "P N"] | None,
    test_c: Float[Array, "P D"] | None,
    layout: RunLayout | None = None,
) -> dict[str, Array]:
    """Order parameters `Q, R, v`, `eg` from them, and optionally the test-set error, per run
    `(S, H)` (each device its own seeds with a `layout`)."""
    per_run = jax.vmap(_run_observables, in_axes=(None, 0, None, None, None))
    per_seed = jax.vmap(per_run, in_axes=(None, 0, 0, None, None))

    def local(runs, shared):
        return per_seed(shared[0], *runs, *shared[1:])

    runs, shared = (state.students, state.teachers), (data_model, test_x, test_c)
    return local(runs, shared) if layout is None else layout.map(local, runs, shared)
