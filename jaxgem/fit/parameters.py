"""The free parameters of a fit: which fields of a problem they set, and their domains.

Every fitted parameter here is positive and is optimised as its logarithm (the transform that
keeps it in its domain); the uncertainties are carried back by the delta method.
"""

from __future__ import annotations

import dataclasses
import functools

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..problem import Problem

__all__ = ["FITTABLE", "check_free", "check_starts", "with_parameters"]

#: Hyperparameters a fit can free, beside `schedule.<field>` (e.g. `schedule.tau`) and, for
#: the hidden manifold's `N, D -> infinity` limit, the spectrum's `delta = D / N`.
FITTABLE = ("lr", "lr_v", "noise", "weight_decay")


def check_free(problem: Problem, free) -> dict[str, float]:
    """`free` as `{name: initial value}`, checked: known names, positive finite starts, and a
    problem of one hyperparameter run."""
    if problem.hyperparameters.size != 1:
        raise ValueError(
            f"a fit explains one curve: give a problem of one run, got "
            f"{problem.hyperparameters.size} runs"
        )
    schedule = problem.hyperparameters.schedule
    fields = [f.name for f in dataclasses.fields(schedule)]
    accepted = list(FITTABLE) + [
        f"schedule.{k}" for k in fields if eqx.is_array(getattr(schedule, k))
    ]
    accepted += ["delta"] if problem.is_limit else []
    return check_starts(free, accepted, "this problem")


def check_starts(free, accepted, what: str) -> dict[str, float]:
    """`free` as `{name: initial value}`: a non-empty dict of `accepted` names with positive
    finite starts (each is fitted as its logarithm); `what` can fit them, for the message."""
    if not isinstance(free, dict) or not free:
        raise ValueError(f"free must be a non-empty dict name -> initial value, got {free!r}")
    out = {}
    for name, value in free.items():
        if name not in accepted:
            raise ValueError(f"cannot fit {name!r}; {what} can fit {', '.join(accepted)}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"free[{name!r}] must be a number, got {value!r}") from None
        if not np.isfinite(number) or number <= 0:
            raise ValueError(
                f"free[{name!r}] must be positive and finite (fitted as its logarithm), "
                f"got {value!r}"
            )
        out[name] = number
    return out


def with_parameters(problem: Problem, values: dict) -> Problem:
    """`problem` with the named parameters set (traced values allowed). `lr_v` follows `lr`
    when it did in `problem` and is not fitted itself; the second layer's schedule follows
    the first's likewise."""
    hyper = problem.hyperparameters
    lr_v_follows = "lr_v" not in values and np.array_equal(hyper.lr_v, hyper.lr)
    schedule_v_follows = hyper.schedule.same_as(hyper.schedule_v)
    data = problem.data
    for name, value in values.items():
        if name == "delta":  # the spectrum of HiddenManifoldLimit
            data = eqx.tree_at(lambda d: d.delta, data, jnp.asarray(value, hyper.lr.dtype))
            continue
        value = jnp.asarray(value, hyper.lr.dtype)
        array = jnp.reshape(value, (1,) + value.shape)  # one run
        targets = [name] + (["lr_v"] if name == "lr" and lr_v_follows else [])
        if name.startswith("schedule."):
            field = name.split(".", 1)[1]
            targets = [("schedule", field)] + (
                [("schedule_v", field)] if schedule_v_follows else []
            )
        for target in targets:
            hyper = eqx.tree_at(functools.partial(_field, target=target), hyper, array)
    return problem.replace(data=data, hyperparameters=hyper)


def _field(hyper, target):
    if isinstance(target, tuple):
        return getattr(getattr(hyper, target[0]), target[1])
    return getattr(hyper, target)
