"""Learning-rate and output scalings that put online SGD of a two-layer network in the classical,
high-dimensional or mean-field regime (THEORY.md Sec. 6; Loureiro, lecture notes 2023;
Arnaboldi, Stephan, Krzakala, Loureiro, "From high-dimensional & mean-field dynamics to
dimensionless ODEs", 2023).

With `K` student units, output scale `s` and raw learning rate `eta`, the order parameters move
per unit of `t = steps / N` by a drift `~ eta s` and a variance term `~ eta^2 s^2`. Measured in
the natural time `tau = c t` (drift of order one) the variance term has weight `eta s`:

| regime             | output | natural time | variance weight | ODE `second_order`      |
|--------------------|--------|--------------|-----------------|-------------------------|
| `high-dimensional` | 1      | `t`          | `eta`           | `True` (Saad–Solla)     |
| `mean-field`       | 1 / K  | `eta t / K`  | `eta / K -> 0`  | `False` as `K -> inf`   |
| `classical`        | 1      | `eta t`      | `eta -> 0`      | `False` (gradient flow) |

`regime_scaling` returns the settings for one of them, so a user writes the regime and gets the
network's output scaling, the rates, the ODE flag and the time axis on which curves collapse.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["REGIMES", "RegimeScaling", "regime_scaling"]

REGIMES = ("high-dimensional", "mean-field", "classical")


class RegimeScaling(NamedTuple):
    """Settings of one regime.

    - `output_scaling`: the student's `TwoLayerNetwork(output_scaling=...)`.
    - `lr`, `lr_v`: raw SGD learning rates for `simulate` and `jaxgem.ode.solve`.
    - `second_order`: the ODE's `second_order` flag for the limit the regime defines.
    - `time_factor`: `tau = time_factor * t` is the natural time of the regime.
    """

    output_scaling: str
    lr: float
    lr_v: float
    second_order: bool
    time_factor: float

    def natural_time(self, t):
        """`tau = time_factor * t` for simulation or ODE times `t` (steps / N)."""
        return self.time_factor * np.asarray(t)

    def simulation_time(self, tau):
        """The simulation time `t` that reaches natural time `tau`."""
        return np.asarray(tau) / self.time_factor


def regime_scaling(regime: str, *, K: int, lr: float, lr_v: float | None = None) -> RegimeScaling:
    """The output scaling, learning rates, ODE flag and natural time of `regime` for a student
    with `K` hidden units and base learning rate `lr` (see the module docstring).

    Example:
    ```python
    scaling = jaxgem.regime_scaling("mean-field", K=64, lr=0.5)
    student = jaxgem.TwoLayerNetwork.gaussian(key, 64, N, output_scaling=scaling.output_scaling)
    sol = jaxgem.ode.solve(op, scaling.simulation_time(taus), activation="erf", lr=scaling.lr,
                           second_order=scaling.second_order, output_scale=1 / 64)
    ```
    """
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {REGIMES}, got {regime!r}")
    if int(K) < 1:
        raise ValueError(f"K must be a positive number of hidden units, got {K}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    lr_v = lr if lr_v is None else lr_v
    if regime == "high-dimensional":
        return RegimeScaling("1", lr, lr_v, True, 1.0)
    if regime == "mean-field":
        return RegimeScaling("1/K", lr, lr_v, False, lr / K)
    return RegimeScaling("1", lr, lr_v, False, lr)
