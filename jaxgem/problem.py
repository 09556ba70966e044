"""`Problem`: everything that defines an online-learning experiment, in one object that the
simulation runs (`jaxgem.simulate`) and every theory predicts (`jaxgem.theory`).

Goldt, Loureiro, Reeves, Krzakala, Mézard, Zdeborová, "The Gaussian equivalence of generative
models for learning with shallow neural networks" (MSML 2021); THEORY.md Sec. 1, 3, 5.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PRNGKeyArray

from .activations import Activation
from .data.base import DataModel
from .data.manifold_limit import HiddenManifoldLimit
from .hyperparameters import Hyperparameters
from .initialisers import NetworkInit, NetworkSpec, describe, draw
from .networks import TwoLayerNetwork

__all__ = ["Problem", "seed_list", "seed_keys", "on_sphere"]


class Problem(eqx.Module):
    """An online-learning experiment: a data model, a teacher reading its `c`, a student reading
    its `x`, the training hyperparameters and which layers train (THEORY.md Sec. 1).

    **Arguments:**

    - `data`: a `DataModel` (`IIDGaussian`, `HiddenManifold`, `GaussianEquivalent`,
      `GeneratorData`, `Dataset`) or `HiddenManifoldLimit` (theory only: `N, D -> infinity`).
    - `teacher`, `student`: a `TwoLayerNetwork` (the same for every seed), a `NetworkInit`
      (`GaussianInit`, `InformedInit`: drawn per seed once the data fix `N` and `D`) or any
      function `key -> TwoLayerNetwork` (a student function may take its teacher,
      `(key, teacher)`). The student's output scaling is part of it.
    - `hyperparameters`: a `Hyperparameters`; or give its fields as keywords (`lr=...`,
      `lr_v=...`, `noise=...`, `weight_decay=...`, `batch_size=...`, `product=...`).
    - `train_second_layer`: also train the readout `v` (at rate `lr_v`).
    - `spherical`: spherical SGD: every student unit starts on, and after each step is scaled
      back to, the sphere `|w_k|^2 = N` (on iid inputs `Q_kk = 1`), as in the analyses of
      single-index targets (Ben Arous, Gheissari, Jagannath, JMLR 2021; `jaxgem.escape`).

    Validated once, here: the networks must read the data model's `x` and `c`, and every
    hyperparameter is checked (`Hyperparameters`).

    Example:
    ```python
    problem = jaxgem.Problem(
        jaxgem.HiddenManifold.random(jax.random.key(0), N=1000, D=500),
        teacher=jaxgem.GaussianInit(2, "erf"),
        student=jaxgem.GaussianInit.small(2, "erf"),
        lr=[0.1, 0.2], batch_size=1,
    )
    traj = jaxgem.simulate(problem, jax.random.key(1), t_max=20, seeds=8)
    jaxgem.theory(traj)          # the spectral ODEs of every run, from its own initial weights
    ```
    """

    data: DataModel | HiddenManifoldLimit
    teacher: NetworkSpec
    student: NetworkSpec
    hyperparameters: Hyperparameters
    train_second_layer: bool = eqx.field(static=True, default=False)
    spherical: bool = eqx.field(static=True, default=False)

    def __init__(
        self,
        data,
        teacher,
        student,
        hyperparameters: Hyperparameters | None = None,
        *,
        train_second_layer: bool = False,
        spherical: bool = False,
        **hyperparameter_values,
    ):
        if hyperparameters is None:
            if "lr" not in hyperparameter_values:
                raise ValueError("Problem needs hyperparameters=Hyperparameters(...) or lr=...")
            hyperparameters = Hyperparameters(**hyperparameter_values)
        elif hyperparameter_values:
            raise ValueError(
                f"give hyperparameters= or their values {sorted(hyperparameter_values)}, not both"
            )
        if not isinstance(hyperparameters, Hyperparameters):
            raise TypeError(
                f"Problem.hyperparameters must be a Hyperparameters, got {hyperparameters!r}"
            )
        if not isinstance(data, (DataModel, HiddenManifoldLimit)):
            raise TypeError(
                f"Problem.data must be a jaxgem data model (IIDGaussian, HiddenManifold, "
                f"GaussianEquivalent, GeneratorData, Dataset, HiddenManifoldLimit), got "
                f"{type(data).__name__}"
            )
        if not isinstance(train_second_layer, bool):
            raise TypeError(f"train_second_layer must be True or False, got {train_second_layer!r}")
        if not isinstance(spherical, bool):
            raise TypeError(f"spherical must be True or False, got {spherical!r}")
        self.data, self.teacher, self.student = data, teacher, student
        self.hyperparameters, self.train_second_layer = hyperparameters, train_second_layer
        self.spherical = spherical

    def __check_init__(self):
        teacher, student = self.networks_shape()
        if self.is_limit:
            return
        self.data.check_networks(student, teacher)

    # ------------------------------------------------------------------------ what it holds
    @property
    def is_limit(self) -> bool:
        """Whether the data model is an `N, D -> infinity` limit (theory only)."""
        return isinstance(self.data, HiddenManifoldLimit)

    def networks_shape(self) -> tuple:
        """`(teacher, student)` as they would be drawn, with shapes in place of arrays (for a
        limit data model, the initialisers or networks themselves)."""
        if self.is_limit:
            for role, spec in (("teacher", self.teacher), ("student", self.student)):
                if not isinstance(spec, (NetworkInit, TwoLayerNetwork)):
                    raise TypeError(
                        f"the N, D -> infinity limit needs the {role} as a NetworkInit (e.g. "
                        "jaxgem.GaussianInit(2, 'erf')) or a network, not a function"
                    )
            return self.teacher, self.student
        teacher = describe(self.teacher, self.data.latent_dim)
        return teacher, describe(self.student, self.data.input_dim, teacher)

    @property
    def K(self) -> int:
        """Student hidden units."""
        return self.networks_shape()[1].K

    @property
    def M(self) -> int:
        """Teacher hidden units."""
        return self.networks_shape()[0].K

    @property
    def activations(self) -> tuple[Activation, Activation]:
        """`(g, g~)`: the student's and the teacher's activation."""
        teacher, student = self.networks_shape()
        return student.activation, teacher.activation

    @property
    def output_scale(self) -> float:
        """The student's output scale `s` (`1`, `1/K`, `1/sqrt K`); its second-layer rate in
        the order-parameter equations is `s^2 lr_v`."""
        return self.networks_shape()[1].output_scale

    def replace(self, **changes) -> Problem:
        """The same problem with some fields changed (validated again), e.g.
        `problem.replace(data=problem.data.limit())`."""
        fields = dict(
            data=self.data,
            teacher=self.teacher,
            student=self.student,
            hyperparameters=self.hyperparameters,
            train_second_layer=self.train_second_layer,
            spherical=self.spherical,
        )
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"Problem has no fields {sorted(unknown)}; fields: {sorted(fields)}")
        fields.update(changes)
        data, teacher, student = fields.pop("data"), fields.pop("teacher"), fields.pop("student")
        return Problem(data, teacher, student, **fields)

    def summary(self) -> dict:
        """The problem in plain values, for files and provenance."""
        teacher, student = self.networks_shape()
        out = {
            "data_model": type(self.data).__name__,
            "N": None if self.is_limit else self.data.input_dim,
            "D": None if self.is_limit else self.data.latent_dim,
            "delta": self.data.delta,
            "K": student.K,
            "M": teacher.K,
            "student_activation": student.activation.name,
            "teacher_activation": teacher.activation.name,
            "student_output_scaling": student.output_scaling,
            "teacher_output_scaling": teacher.output_scaling,
            "train_second_layer": self.train_second_layer,
            "spherical": self.spherical,
        }
        out.update({k: v.tolist() for k, v in self.hyperparameters.table().items()})
        return out

    # ------------------------------------------------------------------------ drawing networks
    def networks(self, key: PRNGKeyArray, seeds: int | Sequence[int] = 1):
        """The teachers and students of every seed `(S, ...)`, exactly as `simulate(problem, key,
        seeds=seeds)` draws them (seed `s` from `fold_in(key, s)`), so a theory from them starts
        where the simulation does."""
        return self.draw_networks(seed_keys(key, seed_list(seeds))[0])

    def draw_networks(self, keys):
        """The networks of every seed from its keys `(S, 3)` (`seed_keys`)."""
        if self.is_limit:
            raise ValueError(
                "the N, D -> infinity limit has no finite networks to draw: give its theory "
                "start=OrderParameters(...)"
            )
        teachers = _per_seed(self.teacher, keys[:, 0], self.data.latent_dim)
        students = _per_seed(self.student, keys[:, 1], self.data.input_dim, teachers)
        if self.spherical:
            students = eqx.tree_at(lambda s: s.w, students, on_sphere(students.w))
        return teachers, students


def _per_seed(spec, keys, N, teachers=None) -> TwoLayerNetwork:
    if isinstance(spec, TwoLayerNetwork):
        return jax.tree.map(lambda a: jnp.broadcast_to(a, (keys.shape[0],) + a.shape), spec)
    return eqx.filter_vmap(lambda key, teacher: draw(spec, key, N, teacher))(keys, teachers)


def on_sphere(w):
    """Every unit (row) of `w` scaled to `|w_k|^2 = N` (spherical SGD)."""
    norm = jnp.linalg.norm(w, axis=-1, keepdims=True)
    return w * (jnp.sqrt(jnp.asarray(w.shape[-1], w.dtype)) / jnp.maximum(norm, 1e-30))


def seed_list(seeds: int | Sequence[int]) -> np.ndarray:
    """A seed count or list as an array of distinct non-negative seeds."""
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


def seed_keys(key: PRNGKeyArray, seeds: np.ndarray):
    """Per seed, keys `(S, 3)` for its teacher, its student and its input stream, from
    `fold_in(key, s)`; and the key of a shared test set."""
    seeds_key, test_key = jax.random.split(key)
    per_seed = jax.vmap(lambda s: jax.random.fold_in(seeds_key, s))(jnp.asarray(seeds))
    return jax.vmap(lambda k: jax.random.split(k, 3))(per_seed), test_key
