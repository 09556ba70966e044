"""Least squares by gradient descent on `n = alpha N` iid Gaussian samples: the test and
training error after every step, from the eigenvalue law of the sample covariance.

Linear teacher `y = nu + sigma xi`, linear student `lambda = u . x` (`u = w / sqrt N`, so
`Q = |u|^2`, `R = u . u*`, `T = |u*|^2`), training loss `(1/2n) |y - X u|^2`, and gradient descent
`u <- u + lr (1/n) X^T (y - X u)`. In the eigenbasis of `S = X^T X / n` (eigenvalues `s`), with
`a = u_0 - u*` and `b = S^+ X^T sigma xi / n` (the noise the least-squares solution fits), after
`k` steps `u_k - u* = p a + (1 - p) b` with `p = (1 - lr s)^k`. Averaged over the noise and over
a teacher direction independent of `X` (`E a_i^2 = |a|^2 / N`, `E b_i^2 = sigma^2 / (alpha N s)`),
and with `s` distributed by the Marchenko–Pastur law of ratio `N / n = 1 / alpha`
(`jaxgem.data.manifold_limit.marchenko_pastur(alpha)`, a mass `1 - alpha` at `s = 0` below
`alpha = 1`):
```
eg(k)    = 1/2 [ |a|^2 < p^2 > + (sigma^2 / alpha) < (1 - p)^2 / s >_{s > 0} ]
e_tr(k)  = 1/2 [ |a|^2 < s p^2 > + sigma^2 + (sigma^2 / alpha) < p^2 - 1 >_{s > 0} ]
```
(`|a|^2 = Q_0 - 2 R_0 + T`). As `k -> infinity` at `alpha > 1`: `eg -> sigma^2 / (2 (alpha - 1))`
and `e_tr -> sigma^2 (1 - 1 / alpha) / 2`, the least-squares values; with `lr -> 0` at fixed
`tau = lr k`, `p -> exp(-s tau)`, gradient flow. Exact as `N, n -> infinity`; a finite `N`
fluctuates around it by `O(1 / sqrt N)`. (Advani & Saxe, "High-dimensional dynamics of
generalization error in neural networks", Neural Networks 2020; Krogh & Hertz 1992.)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..data.manifold_limit import marchenko_pastur_numpy

__all__ = ["LinearGDTheory", "linear_gd_theory"]


class LinearGDTheory(NamedTuple):
    """`steps (R,)`, `tau = lr * steps`, `test (..., R)` the generalisation error `eg` and
    `train (..., R)` the training loss (with the label noise) after each number of steps."""

    steps: np.ndarray
    tau: np.ndarray
    test: np.ndarray
    train: np.ndarray


def linear_gd_theory(
    alpha: float,
    lr: float,
    steps,
    *,
    noise: float = 0.0,
    Q0=0.0,
    R0=0.0,
    T=1.0,
    n_nodes: int = 512,
) -> LinearGDTheory:
    """Test and training error of least squares by gradient descent after each of `steps`
    (module docstring): `n = alpha N` samples, step `lr`, label noise `noise` (its standard
    deviation), from a student of overlaps `Q0`, `R0` with a teacher of norm `T` (numbers, or
    arrays of starts: the errors then have their shape in front). `n_nodes` Marchenko–Pastur
    nodes (more near `alpha = 1`).

    Example: `linear_gd_theory(2.0, 0.2, np.arange(0, 200, 10), noise=0.5, T=1.0).test`.
    """
    if not alpha > 0:
        raise ValueError(f"alpha = n / N must be positive, got {alpha!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    steps = np.asarray(steps, dtype=float)
    if steps.ndim != 1 or np.any(steps < 0):
        raise ValueError("steps must be a 1-d list of non-negative step counts")
    s, weight = marchenko_pastur_numpy(alpha, n_nodes)
    largest = float(s.max())
    if lr * largest >= 2:
        raise ValueError(f"lr = {lr:g} diverges: gradient descent needs lr < 2 / s_max = "
                         f"{2 / largest:.4g} at alpha = {alpha:g}")  # fmt: skip
    a2 = (np.asarray(Q0, float) - 2 * np.asarray(R0, float) + np.asarray(T, float))[..., None]
    p = (1.0 - lr * s[None, :]) ** steps[:, None]  # (R, nodes)
    bulk = s > 0
    inverse = np.where(bulk, 1.0 / np.where(bulk, s, 1.0), 0.0)
    noise2 = float(noise) ** 2
    decay, signal = (p**2) @ weight, (s * p**2) @ weight  # <p^2>, <s p^2>: (R,)
    fitted_noise = ((1 - p) ** 2 * inverse) @ weight  # <(1 - p)^2 / s>_{s > 0}
    test = 0.5 * (a2 * decay + noise2 / alpha * fitted_noise)
    train = 0.5 * (a2 * signal + noise2 + noise2 / alpha * (((p**2 - 1) * bulk) @ weight))
    return LinearGDTheory(steps=steps, tau=lr * steps, test=test, train=train)
