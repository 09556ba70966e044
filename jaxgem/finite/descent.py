"""Full-batch gradient descent and multi-pass SGD on a fixed training set of `n = alpha N`
samples of a problem's data model, with the training loss and the generalisation error recorded
along the way: what reusing the data does, beside one-pass SGD (`jaxgem.simulate`) with the same
`n` samples.

Both use the online step of THEORY.md Sec. 1 (`online.engine.sgd_step`), so that all three run on
the same clock: with `u = w / sqrt N`, one-pass and multi-pass SGD move `u` by `(lr / N) e g' x`
per sample, gradient descent by `lr (1/n) sum_mu e_mu g'_mu x_mu` per step; in the time
`tau = lr * steps / N` (SGD) or `tau = lr * steps` (GD) all three follow a gradient flow as
`lr -> 0`: on the population risk (one-pass) or on the training loss (GD, multi-pass).
The labels carry their noise once, when the training set is drawn.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..online.engine import sgd_step
from ..order_parameters import generalisation_error
from ..problem import Problem, seed_keys, seed_list

__all__ = ["TrainingSet", "FiniteDataRun", "gradient_descent", "multipass_sgd"]


class TrainingSet(eqx.Module):
    """Every seed's training set: inputs `x (S, n, N)`, labels `y (S, n)` (teacher output plus
    its noise), and the seed's teacher and initial student `(S, ...)`, drawn as `simulate` draws
    them (seed `s` from `fold_in(key, s)`)."""

    x: jax.Array
    y: jax.Array
    teachers: object
    students: object

    @classmethod
    def draw(cls, problem: Problem, key, n: int, seeds=1) -> TrainingSet:
        """`n` samples per seed; the label noise is the problem's first run's `noise`."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"the training set needs a positive number of samples, got {n!r}")
        keys, _ = seed_keys(key, seed_list(seeds))
        teachers, students = problem.draw_networks(keys)
        noise = problem.hyperparameters.noise[0]

        def one(teacher, key):
            data_key, noise_key = jax.random.split(key)
            x, c = problem.data.sample(data_key, n)
            return x, teacher(c) + noise * jax.random.normal(noise_key, (n,), x.dtype)

        x, y = eqx.filter_vmap(one)(teachers, keys[:, 2])
        return cls(x=x, y=y, teachers=teachers, students=students)

    @property
    def n(self) -> int:
        return self.x.shape[1]


class FiniteDataRun(NamedTuple):
    """What `gradient_descent` and `multipass_sgd` record.

    - `method`: `"gd"` or `"multipass"`; `alpha = n / N`, `N`, `n`.
    - `steps (R,)`: steps done at each record; `epochs (R,)`: passes over the data;
      `tau (H, R)`: the gradient-flow time of each run (module docstring).
    - `test (H, S, R)`: the generalisation error `eg` (from the order parameters, THEORY Sec. 1);
      `train (H, S, R)`: the training loss `(1/2n) sum (y - yhat)^2`, label noise included.
    - `seeds (S,)`: the seeds (their networks and training sets come from `fold_in(key, seed)`).
    """

    method: str
    alpha: float
    N: int
    n: int
    steps: np.ndarray
    epochs: np.ndarray
    tau: np.ndarray
    test: np.ndarray
    train: np.ndarray
    seeds: np.ndarray | None = None

    def mean(self, name: str = "test") -> np.ndarray:
        """`(H, R)`: the mean over seeds of `test` or `train` (inf or NaN once a seed
        diverged)."""
        with np.errstate(all="ignore"):
            return np.mean(getattr(self, name), axis=1)

    def sem(self, name: str = "test") -> np.ndarray:
        """`(H, R)`: its standard error (NaN with one seed)."""
        values = getattr(self, name)
        if values.shape[1] < 2:
            return np.full(values.shape[::2], np.nan)
        with np.errstate(all="ignore"):
            return np.std(values, axis=1, ddof=1) / math.sqrt(values.shape[1])

    def diverged(self) -> np.ndarray:
        """`(H, S)`: runs whose errors stopped being finite."""
        return ~np.all(np.isfinite(self.train) & np.isfinite(self.test), axis=-1)


def _record_steps(total: int, n_records: int, spacing: str) -> np.ndarray:
    """Distinct step counts from 0 to `total`: `n_records` of them linearly or (after 0)
    logarithmically spaced, fewer where log spacing would repeat a step."""
    if isinstance(total, bool) or not isinstance(total, (int, np.integer)) or total < 1:
        raise ValueError(f"the number of steps must be a positive integer, got {total!r}")
    if isinstance(n_records, bool) or not isinstance(n_records, int) or n_records < 2:
        raise ValueError(f"n_records must be an integer of at least 2, got {n_records!r}")
    if spacing == "linear":
        return np.unique(np.round(np.linspace(0, total, n_records)).astype(int))
    if spacing != "log":
        raise ValueError(f"spacing must be 'log' or 'linear', got {spacing!r}")
    # (geomspace of one point is its start: the last record must be `total` all the same)
    later = np.round(np.geomspace(1, total, n_records - 1)).astype(int) if n_records > 2 else []
    return np.unique(np.concatenate([[0], later, [total]])).astype(int)


def _errors(problem: Problem, train_set: TrainingSet, students):
    """`(test, train)` `(H, S)` of students `(S, H, ...)`."""
    g, gt = problem.activations

    def one(student, teacher, x, y):
        op = problem.data.order_parameters(student, teacher)
        return generalisation_error(op, g, gt), 0.5 * jnp.mean((y - student(x)) ** 2)

    per_run = eqx.filter_vmap(one, in_axes=(0, None, None, None))
    test, train = eqx.filter_vmap(per_run)(students, train_set.teachers, train_set.x, train_set.y)
    return test.T, train.T


def _start(problem: Problem, train_set: TrainingSet):
    """Every seed's student repeated for the `H` hyperparameter runs: `(S, H, ...)`."""
    H = problem.hyperparameters.size
    return jax.tree.map(lambda a: jnp.repeat(a[:, None], H, axis=1), train_set.students)


def _finish(method, problem, train_set, steps, per_epoch, tau_per_step, records, seeds):
    test, train = (np.moveaxis(np.asarray(a), 0, -1) for a in records)  # (H, S, R)
    lr = np.asarray(problem.hyperparameters.lr)
    N = problem.data.input_dim
    run = FiniteDataRun(
        method=method, alpha=train_set.n / N, N=N, n=train_set.n, steps=steps,
        epochs=steps / per_epoch, tau=lr[:, None] * tau_per_step * steps[None, :], test=test,
        train=train, seeds=seed_list(seeds),
    )  # fmt: skip
    if run.diverged().any():
        message = f"{method}: {int(run.diverged().sum())} runs diverged (errors inf or NaN)"
        warnings.warn(message + ": lower lr", RuntimeWarning, stacklevel=3)
    return run


def gradient_descent(
    problem: Problem,
    key,
    *,
    alpha: float,
    steps: int,
    n_records: int = 50,
    spacing: str = "log",
    seeds=1,
) -> FiniteDataRun:
    """Full-batch gradient descent on `n = round(alpha N)` samples per seed for `steps` steps,
    `u <- u + lr (1/n) sum_mu e_mu v g'(lambda_mu) x_mu` (`lr` of each hyperparameter run; the
    second layer too if the problem trains it), recorded at `n_records` step counts from 0 to
    `steps` (`spacing` `"log"` or `"linear"`).

    Example:
    ```python
    problem = jaxgem.Problem(jaxgem.IIDGaussian(N=500), teacher=..., student=..., lr=0.2,
                             noise=0.5)
    run = jaxgem.finite.gradient_descent(problem, jax.random.key(0), alpha=2.0, steps=400,
                                         seeds=8)
    run.tau, run.mean("test"), run.mean("train")
    ```
    """
    train_set = TrainingSet.draw(problem, key, _samples(problem, alpha), seeds)
    steps_at = _record_steps(steps, n_records, spacing)
    n, N = train_set.n, problem.data.input_dim
    # the online step with the whole training set as its batch, at rate lr N: lr per u-step
    hyper = problem.hyperparameters
    hyper = eqx.tree_at(lambda h: (h.lr, h.lr_v, h.noise, h.batch_size), hyper,
                        (hyper.lr * N, hyper.lr_v * N, jnp.zeros_like(hyper.noise),
                         jnp.full_like(hyper.batch_size, n)))  # fmt: skip
    records = _gd(problem, train_set, _start(problem, train_set), hyper, jnp.asarray(steps_at))
    return _finish("gd", problem, train_set, steps_at, 1.0, 1.0, records, seeds)


@eqx.filter_jit
def _gd(problem, train_set, students, hyper, steps_at):
    zeros = jnp.zeros_like(train_set.y[0])
    step = jax.vmap(sgd_step, in_axes=(0, None, None, None, 0, None))  # over H

    def one(i, students, x, y, _):
        return step(students, x, y, zeros, hyper, problem.train_second_layer)

    # one seed after another: its training set stays in cache between the two passes of a step
    return _train(problem, train_set, students, steps_at, one, None, one_seed_at_a_time=True)


def _train(problem, train_set, students, steps_at, one, extra, *, one_seed_at_a_time):
    """Every seed's students stepped by `one(i, students, x, y, extra)` from step to step of
    `steps_at`, and the errors at each: `(test, train)`, each `(R, H, S)`. `extra` carries a
    per-seed leading axis (or is `None`)."""

    def per_seed(students, x, y, extra):
        def block(students, bounds):
            students = jax.lax.fori_loop(
                *bounds, lambda i, s: one(i, s, x, y, extra), students
            )  # fmt: skip
            return students, students

        return jax.lax.scan(block, students, (steps_at[:-1], steps_at[1:]))[1]

    seeds = (students, train_set.x, train_set.y, extra)
    if one_seed_at_a_time:
        later = jax.lax.map(lambda a: per_seed(*a), seeds)
    else:
        later = jax.vmap(per_seed)(*seeds)
    return _record(problem, train_set, students, later)


def _record(problem, train_set, students, later):
    """Errors at the start and after each block: `(test, train)`, each `(R, H, S)`."""
    first = _errors(problem, train_set, students)
    rest = jax.vmap(lambda s: _errors(problem, train_set, s), in_axes=1)(later)
    return tuple(jnp.concatenate([a[None], b]) for a, b in zip(first, rest))


def multipass_sgd(
    problem: Problem,
    key,
    *,
    alpha: float,
    epochs: float,
    n_records: int = 50,
    spacing: str = "log",
    seeds=1,
) -> FiniteDataRun:
    """Online SGD (one sample per step, THEORY.md Sec. 1) that cycles through a fixed training
    set of `n = round(alpha N)` samples in a fresh random order every epoch, for `epochs`
    passes; the same seeds, networks and training sets as `gradient_descent`."""
    train_set = TrainingSet.draw(problem, key, _samples(problem, alpha), seeds)
    n, N = train_set.n, problem.data.input_dim
    if not epochs > 0:
        raise ValueError(f"epochs must be positive, got {epochs!r}")
    steps_at = _record_steps(max(1, round(epochs * n)), n_records, spacing)
    hyper = problem.hyperparameters
    hyper = eqx.tree_at(lambda h: (h.noise, h.batch_size), hyper,
                        (jnp.zeros_like(hyper.noise), jnp.ones_like(hyper.batch_size)))  # fmt: skip
    # every epoch a fresh order of the samples, drawn up front: (S, epochs * n) indices
    order_keys = seed_keys(key, seed_list(seeds))[0][:, 2]
    n_epochs = math.ceil(steps_at[-1] / n)
    orders = jax.vmap(lambda k: jax.vmap(lambda e: jax.random.permutation(
        jax.random.fold_in(k, e), n))(jnp.arange(n_epochs)).reshape(-1))(order_keys)  # fmt: skip
    records = _multipass(problem, train_set, _start(problem, train_set), hyper, orders,
                         jnp.asarray(steps_at))  # fmt: skip
    return _finish("multipass", problem, train_set, steps_at, float(n), 1.0 / N, records, seeds)


@eqx.filter_jit
def _multipass(problem, train_set, students, hyper, orders, steps_at):
    zero = jnp.zeros((1,), train_set.y.dtype)
    step = jax.vmap(sgd_step, in_axes=(0, None, None, None, 0, None))  # over H

    def one(i, students, x, y, order):
        mu = order[i]
        return step(students, x[mu][None], y[mu][None], zero, hyper, problem.train_second_layer)

    # a step touches one sample: the seeds advance together
    return _train(problem, train_set, students, steps_at, one, orders, one_seed_at_a_time=False)


def _samples(problem: Problem, alpha) -> int:
    if problem.is_limit:
        raise ValueError("a finite training set needs a data model to sample, not a limit")
    if not (isinstance(alpha, (int, float)) and not isinstance(alpha, bool) and alpha > 0):
        raise ValueError(f"alpha = n / N must be a positive number, got {alpha!r}")
    return max(1, round(alpha * problem.data.input_dim))
