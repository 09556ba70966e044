"""Initialisers of teachers and students: how to draw a `TwoLayerNetwork` once a data model fixes
the input dimension, for every seed of an experiment (THEORY.md Sec. 1).

(No `from __future__ import annotations` here: equinox reads the `AbstractVar` annotations of
`NetworkInit` at class creation.)
"""

import abc
import inspect
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from .activations import Activation, get_activation
from .networks import TwoLayerNetwork, check_size, output_scale

__all__ = [
    "NetworkInit",
    "GaussianInit",
    "InformedInit",
    "SphereInit",
    "NetworkSpec",
    "draw",
    "describe",
]


class NetworkInit(eqx.Module):
    """How to draw a network of `K` units once the input dimension is known: the teacher or
    student of a `jaxgem.Problem` (the data model fixes `N` and `D`). Knowing `K`, the activation
    and the output scaling without drawing weights lets theories that never sample a network (the
    `N, D -> infinity` limits) use it too."""

    K: eqx.AbstractVar[int]
    activation: eqx.AbstractVar[Activation]
    output_scaling: eqx.AbstractVar[str]

    @abc.abstractmethod
    def __call__(
        self, key: PRNGKeyArray, N: int, teacher: "TwoLayerNetwork | None" = None
    ) -> TwoLayerNetwork:
        """A network reading `N` inputs (a student initialiser may use its teacher)."""

    @property
    def output_scale(self) -> float:
        """The factor `s` in front of the readout."""
        return output_scale(self.output_scaling, self.K)


class GaussianInit(NetworkInit):
    """First-layer weights iid `N(0, std^2)`; readout all equal to `readout`, or iid
    `N(0, readout_std^2)` with `readout="gaussian"` (`TwoLayerNetwork.gaussian`). `std = 1e-3`
    (`GaussianInit.small`) starts a student on the plateau.

    Example: `jaxgem.GaussianInit(2, "erf")`, `jaxgem.GaussianInit.small(2, "erf")`.
    """

    K: int = eqx.field(static=True)
    activation: Activation
    std: float = eqx.field(static=True, default=1.0)
    readout: "float | str" = eqx.field(static=True, default=1.0)
    readout_std: float = eqx.field(static=True, default=1.0)
    output_scaling: str = eqx.field(static=True, default="1")
    dtype: type = eqx.field(static=True, default=jnp.float32)

    def __init__(
        self,
        K: int,
        activation: "Activation | str" = "erf",
        *,
        std: float = 1.0,
        readout: "float | str" = 1.0,
        readout_std: float = 1.0,
        output_scaling: str = "1",
        dtype=jnp.float32,
    ):
        self.K = check_size("K", K)
        self.activation = get_activation(activation)
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not std >= 0:
            raise ValueError(f"std must be a non-negative number, got {std!r}")
        if readout != "gaussian" and (
            isinstance(readout, bool) or not isinstance(readout, (int, float))
        ):
            raise ValueError(f"readout must be a number or 'gaussian', got {readout!r}")
        output_scale(output_scaling, K)
        self.std, self.readout, self.readout_std = float(std), readout, float(readout_std)
        self.output_scaling, self.dtype = output_scaling, dtype

    @classmethod
    def small(cls, K: int, activation: Activation | str = "erf", *, std=1e-3, **kwargs):
        """Small random weights (`std = 1e-3`): the start of a plateau."""
        return cls(K, activation, std=std, **kwargs)

    def __call__(self, key, N, teacher=None):
        return TwoLayerNetwork.gaussian(
            key,
            self.K,
            N,
            self.activation,
            std=self.std,
            readout=self.readout,
            readout_std=self.readout_std,
            output_scaling=self.output_scaling,
            dtype=self.dtype,
        )


class InformedInit(NetworkInit):
    """A student whose unit `k` starts at `overlap * B_k + sqrt(1 - overlap^2) * noise` of its
    teacher's weights (`TwoLayerNetwork.informed`); it needs the teacher to read the student's
    input (iid inputs)."""

    K: int = eqx.field(static=True)
    activation: Activation
    overlap: float = eqx.field(static=True, default=0.5)
    readout: float = eqx.field(static=True, default=1.0)
    output_scaling: str = eqx.field(static=True, default="1")

    def __init__(
        self,
        K: int,
        activation: "Activation | str" = "erf",
        *,
        overlap: float = 0.5,
        readout: float = 1.0,
        output_scaling: str = "1",
    ):
        self.K = check_size("K", K)
        self.activation = get_activation(activation)
        if not 0.0 <= overlap <= 1.0:
            raise ValueError(f"overlap must lie in [0, 1], got {overlap!r}")
        if isinstance(readout, bool) or not isinstance(readout, (int, float)):
            raise ValueError(f"an informed student needs a numeric readout, got {readout!r}")
        output_scale(output_scaling, K)
        self.overlap, self.readout, self.output_scaling = float(overlap), readout, output_scaling

    def __call__(self, key, N, teacher=None):
        if teacher is None or teacher.N != N:
            raise ValueError(
                "an informed student needs its teacher to read the student's input (iid inputs)"
            )
        return TwoLayerNetwork.informed(
            key,
            teacher,
            self.K,
            self.activation,
            overlap=self.overlap,
            readout=self.readout,
            output_scaling=self.output_scaling,
        )


class SphereInit(NetworkInit):
    """Units on the sphere `|w_k|^2 = N`: drawn uniformly, or, for a student with `overlap`, unit
    `k < M` at exactly that cosine with its teacher unit `k` (the rest of it uniform on the
    orthogonal complement of the teacher's units). The start of spherical SGD near the equator
    (`Problem(spherical=True)`, `jaxgem.escape`): a uniform start has cosine of order
    `1 / sqrt N`; `overlap = c / sqrt N` puts every seed at the same typical distance from it.
    Readouts all equal to `readout`.

    Example: teacher `jaxgem.SphereInit(1, "h3")`, student
    `jaxgem.SphereInit(1, "h3", overlap=2 / math.sqrt(N))`.
    """

    K: int = eqx.field(static=True)
    activation: Activation
    overlap: "float | None" = eqx.field(static=True, default=None)
    readout: float = eqx.field(static=True, default=1.0)
    output_scaling: str = eqx.field(static=True, default="1")

    def __init__(
        self,
        K: int,
        activation: "Activation | str" = "erf",
        *,
        overlap: "float | None" = None,
        readout: float = 1.0,
        output_scaling: str = "1",
    ):
        self.K = check_size("K", K)
        self.activation = get_activation(activation)
        if overlap is not None and not -1.0 <= overlap <= 1.0:
            raise ValueError(f"overlap must be a cosine in [-1, 1] or None, got {overlap!r}")
        if isinstance(readout, bool) or not isinstance(readout, (int, float)):
            raise ValueError(f"readout must be a number, got {readout!r}")
        output_scale(output_scaling, K)
        self.overlap = None if overlap is None else float(overlap)
        self.readout, self.output_scaling = float(readout), output_scaling

    def __call__(self, key, N, teacher=None):
        w = jax.random.normal(key, (self.K, N))
        if self.overlap is not None:
            if teacher is None or teacher.N != N:
                raise ValueError(
                    "a SphereInit with an overlap needs its teacher to read the student's input "
                    "(iid inputs)"
                )
            basis, _ = jnp.linalg.qr(teacher.w.T.astype(w.dtype))  # (N, M) orthonormal
            m = min(self.K, teacher.K)
            w = w - (w @ basis) @ basis.T  # orthogonal to every teacher unit
            w = w / jnp.linalg.norm(w, axis=-1, keepdims=True)
            direction = teacher.w[:m] / jnp.linalg.norm(teacher.w[:m], axis=-1, keepdims=True)
            aligned = self.overlap * direction + math.sqrt(1 - self.overlap**2) * w[:m]
            w = w.at[:m].set(aligned)
        w = math.sqrt(N) * w / jnp.linalg.norm(w, axis=-1, keepdims=True)
        v = jnp.full((self.K,), self.readout, w.dtype)
        return TwoLayerNetwork(w, v, self.activation, self.output_scaling)


#: A teacher or student of a problem: one network for every seed, an initialiser, or any function
#: `key -> TwoLayerNetwork` (a student function may also take its teacher: `(key, teacher)`).
NetworkSpec = TwoLayerNetwork | NetworkInit | Callable


def _takes_teacher(fn) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) >= 2


def draw(spec: NetworkSpec, key: PRNGKeyArray, N: int, teacher=None) -> TwoLayerNetwork:
    """The network of `spec` for one seed: `spec` itself, `spec(key, N, teacher)` for an
    initialiser, `spec(key)` (or `spec(key, teacher)`) for a function."""
    if isinstance(spec, TwoLayerNetwork):
        return spec
    if isinstance(spec, NetworkInit):
        return spec(key, N, teacher)
    if not callable(spec):
        raise TypeError(
            "a teacher or student must be a TwoLayerNetwork, a NetworkInit (e.g. jaxgem."
            f"GaussianInit(2, 'erf')) or a function key -> network, got {type(spec).__name__}"
        )
    network = spec(key, teacher) if teacher is not None and _takes_teacher(spec) else spec(key)
    if not isinstance(network, TwoLayerNetwork):
        raise TypeError(f"a network function must return a TwoLayerNetwork, got {network!r}")
    return network


def describe(spec: NetworkSpec, N: int, teacher=None) -> TwoLayerNetwork:
    """The network `spec` would draw, with shapes in place of arrays (no computation): its `K`,
    `N`, activation and output scaling."""
    return eqx.filter_eval_shape(
        lambda key, teacher: draw(spec, key, N, teacher), jax.random.key(0), teacher
    )
