"""Least squares by gradient descent on `n = alpha N` samples of the Gaussian covariate model:
the test and training error after every step, for inputs of any covariance `Omega` (features of
a generator, a dataset's covariance) and a teacher reading other variables.

A linear student `lambda = u . x` (`u = w / sqrt N`) of a linear teacher `nu = b . c`, with
`x` and `c` jointly Gaussian, sees the labels `y = nu + sigma xi = beta . x + eta`: the best
linear predictor `beta = Omega^-1 Phi b` plus a noise `eta` independent of `x`, of variance
`sigma_eff^2 = sigma^2 + r` with the residual `r = T - beta^T Omega beta` that no linear function
of `x` captures (THEORY.md Sec. 4; Loureiro et al., NeurIPS 2021). Gradient descent on the
training loss `(1 / 2n) |y - X u|^2` then gives, with `S = X^T X / n`, `P = (1 - lr S)^k` after
`k` steps (or `exp(-tau S)` for the gradient flow) and `a = u_0 - beta`,
```
eg(k)   = 1/2 [ a^T P Omega P a + (sigma_eff^2 / n) tr(Omega (1 - P)^2 S^-1) + r ]
e_tr(k) = 1/2 [ a^T S P^2 a + sigma_eff^2 + (sigma_eff^2 / n) tr(P^2 - 1) ]
```
exactly over the noise; the deterministic equivalents of the sample covariance
(`resolvent.SampleCovarianceContour`) give each term as `N, n -> infinity`. `a^T P Omega P a`
needs two resolvents at once. With `Omega = 1` it is `finite.linear_gd_theory` (Marchenko–Pastur);
for non-Gaussian features (the hidden manifold) it is their Gaussian equivalent (Goldt et al.
2021). (Advani & Saxe, Neural Networks 2020; Bordelon & Pehlevan, "Learning curves for SGD on
structured features", ICLR 2022.)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ..problem import Problem, seed_keys, seed_list
from .descent import FiniteDataRun
from .linear_theory import LinearGDTheory
from .resolvent import SampleCovarianceContour, carries_variance

__all__ = ["covariate_gd_theory", "gd_theory", "is_linear", "LinearStart", "linear_start"]


class LinearStart(NamedTuple):
    """What the theory needs of a linear problem's seeds (`linear_start`): `omega (N,)` the
    eigenvalues of the input covariance; per seed `start (S, N)`, the squared components of
    `u_0 - beta` along its eigenvectors, and `residual (S,)`, `T - beta^T Omega beta`; and
    `lr_scale`, the student's squared readout (its steps on `u` are `lr` times it)."""

    omega: np.ndarray
    start: np.ndarray
    residual: np.ndarray
    lr_scale: float


def covariate_gd_theory(
    omega,
    start,
    alpha: float,
    lr,
    steps,
    *,
    noise: float = 0.0,
    residual=0.0,
    flow: bool = False,
    n_nodes: int | None = None,
) -> LinearGDTheory:
    """Test and training error of gradient descent (module docstring) after each of `steps`.

    - `omega (N,)`: the eigenvalues of the input covariance; `alpha = n / N`.
    - `start (..., N)`: the squared components of `u_0 - beta` along its eigenvectors (one row
      per start); `residual (...)`: `T - beta^T Omega beta`; `noise`: the label noise `sigma`.
    - `lr`: the step (a number, or `(H,)` rates: `(H, ...)` in front of the errors); `flow`: read
      `steps` as gradient-flow times `tau` instead.

    Example: `covariate_gd_theory(eigenvalues, (U.T @ (u0 - beta))**2, 2.0, 0.2,
    np.arange(0, 300, 10), noise=0.5, residual=r).test`.
    """
    omega = np.asarray(omega, float)
    if omega.ndim != 1 or omega.size == 0:
        raise ValueError("omega must be the 1-d array of the input covariance's eigenvalues")
    if not alpha > 0:
        raise ValueError(f"alpha = n / N must be positive, got {alpha!r}")
    rates = np.atleast_1d(np.asarray(lr, float))
    if rates.ndim != 1 or not np.all(rates > 0):
        raise ValueError(f"lr must be positive, got {lr!r}")
    steps = np.asarray(steps, float)
    if steps.ndim != 1 or np.any(steps < 0):
        raise ValueError("steps must be a 1-d list of non-negative step counts (or times)")
    keep = carries_variance(omega)
    start = np.asarray(start, float)[..., keep]
    residual = np.asarray(residual, float)
    n = alpha * omega.size
    contour = SampleCovarianceContour.around(omega[keep], n, n_nodes=n_nodes)
    at = contour.at
    if not flow and rates.max() * contour.edge >= 2:
        raise ValueError(f"lr = {rates.max():g} diverges: gradient descent needs lr < 2 / s_max "
                         f"= {2 / contour.edge:.4g} at alpha = {alpha:g}")  # fmt: skip
    if flow:
        P = np.exp(-(rates[:, None] * steps[None, :])[..., None] * at)
    else:
        P = (1 - rates[:, None, None] * at) ** steps[None, :, None]  # (H, R, nodes)
    P = P.reshape(-1, at.size)
    with np.errstate(all="ignore"):
        fitted = np.where(at == 0, 0, (1 - P) ** 2 / np.where(at == 0, 1, at))
    noise_eff = noise**2 + residual[..., None]  # (..., 1)
    batch = start.shape[:-1]
    flat = start.reshape(-1, start.shape[-1])
    signal = contour.sandwich(flat, P).reshape(*batch, -1)  # (..., H R)
    decay = contour.quadratic(flat[:, None, :], (at * P**2)[None]).reshape(*batch, -1)
    test = 0.5 * (signal + noise_eff / n * contour.trace_omega(fitted) + residual[..., None])
    train = 0.5 * (decay + noise_eff + noise_eff / n * contour.trace(P**2 - 1))
    H, R = rates.size, steps.size

    def by_rate(errors):  # (..., H R) -> (H, ..., R), or (..., R) for one rate
        errors = np.moveaxis(errors.reshape(*batch, H, R), -2, 0)
        return errors if np.ndim(lr) else errors[0]

    return LinearGDTheory(steps=steps, tau=steps if flow else rates[0] * steps,
                          test=by_rate(test), train=by_rate(train))  # fmt: skip


def gd_theory(
    problem: Problem, key, run: FiniteDataRun, *, n_nodes: int | None = None
) -> LinearGDTheory:
    """The theory of a `gradient_descent` or `multipass_sgd` run of a linear student (one unit,
    fixed readout) and a linear teacher on any data model, from every seed's own teacher and
    start (drawn from `key` as the run drew them): errors `(H, S, R)` beside `run.test` and
    `run.train`. Multi-pass SGD is read as gradient descent with step `lr / N` (its
    small-step limit).

    Example:
    ```python
    run = finite.gradient_descent(problem, key, alpha=2.0, steps=300, seeds=8)
    th = finite.gd_theory(problem, key, run)
    run.mean("test")[0], th.test[0].mean(0)
    ```
    """
    omega, start, residual, scale = linear_start(problem, key, run.seeds)
    lr = np.asarray(problem.hyperparameters.lr, float) * scale
    if run.method == "multipass":
        lr = lr / run.N
    elif run.method != "gd":
        raise ValueError(f"no gradient-descent theory for method {run.method!r}")
    noise = float(problem.hyperparameters.noise[0])
    return covariate_gd_theory(omega, start, run.alpha, lr, run.steps, noise=noise,
                               residual=residual, n_nodes=n_nodes)  # fmt: skip


def is_linear(problem: Problem) -> bool:
    """Whether `gd_theory` applies: linear student of one unit with a fixed readout, linear
    teacher, a data model to sample, plain steps (not spherical, no weight decay)."""
    g, gt = problem.activations
    plain = not problem.spherical and not np.any(np.asarray(problem.hyperparameters.weight_decay))
    return (g.name == gt.name == "linear" and problem.K == 1 and not problem.train_second_layer
            and not problem.is_limit and plain)  # fmt: skip


def linear_start(problem: Problem, key, seeds=1) -> LinearStart:
    """The `LinearStart` of the seeds' teachers and students, drawn from `key` as `simulate`
    and `finite.gradient_descent` draw them."""
    if not is_linear(problem):
        raise ValueError(
            "the gradient-descent theory is for a linear student of one unit with a fixed "
            "readout and a linear teacher, on a data model to sample, without weight decay"
        )
    data = problem.data
    keys, _ = seed_keys(key, seed_list(seeds))
    teachers, students = problem.draw_networks(keys)
    readout = np.asarray(students.readout, float)[:, 0]
    if not np.allclose(readout, readout[0]):
        raise ValueError("the student's readout differs between seeds: one gradient step per run")
    spectrum = data.spectrum()
    omega, U = np.asarray(spectrum.rho, float), np.asarray(spectrum.eigenvectors, float)
    N, D = data.input_dim, data.latent_dim
    u = readout[:, None] * np.asarray(students.w, float)[:, 0] / math.sqrt(N)  # (S, N)
    # the teacher's readouts summed into one vector b sqrt D: (S, D)
    b = jnp.einsum("sm,smd->sd", teachers.readout, teachers.w)
    projected = np.asarray(data.teacher_projections(spectrum, b), float) / math.sqrt(D)  # U^T Phi b
    keep = carries_variance(omega)
    beta = np.where(keep, projected / np.where(keep, omega, 1.0), 0.0)  # U^T beta
    T = np.diagonal(np.asarray(data.latent_overlap(b, b), float))  # |b|^2 in the latent's metric
    residual = T - np.sum(omega * beta**2, axis=-1)
    start = (u @ U - beta) ** 2
    return LinearStart(omega, start, residual, float(readout[0] ** 2))
