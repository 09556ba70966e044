"""Fitting the replica learning curve of full-batch ERM (THEORY.md Sec. 7) to a measured test
error against the sample complexity: the penalty `lam`, the label `noise`, or the spectrum's
`delta` of random features in the proportional limit, by Levenberg–Marquardt through the
saddle point (implicit differentiation of the fixed point, `replica.solve_fixed_point`).

Loureiro, Gerbelot, Cui, Goldt, Krzakala, Mézard, Zdeborová, "Learning curves of generic
features maps for realistic datasets with a teacher-student model" (NeurIPS 2021).
"""

from __future__ import annotations

import time

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..data.manifold_limit import HiddenManifoldLimit
from ..replica.gcm import GaussianCovariateModel
from ..replica.losses import Loss
from ..replica.saddle import learning_curve
from .curve import Curve
from .fit import FitResult
from .least_squares import laplace, levenberg_marquardt
from .parameters import check_starts

__all__ = ["fit_replica", "REPLICA_FITTABLE"]

#: What a replica fit can free, beside `delta` when the model is a `HiddenManifoldLimit`.
REPLICA_FITTABLE = ("lam", "noise")

COLUMNS = ("alpha", "test_error")


def fit_replica(
    model: GaussianCovariateModel | HiddenManifoldLimit,
    loss: Loss | str,
    data: Curve | str,
    free: dict,
    *,
    lam: float | None = None,
    noise: float = 0.0,
    teacher: str | None = None,
    rho: float = 1.0,
    max_steps: int = 100,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    **curve_options,
) -> FitResult:
    """The values of the `free` parameters whose replica learning curve best explains `data`.

    **Arguments:**

    - `model`: a `GaussianCovariateModel`, or a `HiddenManifoldLimit` (random features as
      `p, D -> infinity`, a teacher of norm `rho`; then `delta = D / p` can be fitted).
    - `loss`, `teacher`: as in `replica.learning_curve`.
    - `data`: a `Curve` whose `t` holds the sample complexities `alpha` (`Curve.of_erm`), or a
      CSV with columns `alpha, test_error[, test_error_sem]`.
    - `free`: `{name: initial value}` among `lam`, `noise` (and `delta`); positive, fitted as
      logarithms. The others keep `lam=`, `noise=`.
    - `curve_options`: passed to `replica.learning_curve` (`damping=`, `quadrature=`, ...).

    Returns a `FitResult` (uncertainties from the curvature with the data's standard errors,
    `"laplace"`); its files name the columns `alpha, test_error`.

    Example:
    ```python
    runs = [replica.simulate_erm(sample, "square", a, 0.1, key, noise=0.25) for a in alphas]
    data = jaxgem.Curve.of_erm(alphas, runs)
    jaxgem.fit_replica(GaussianCovariateModel.isotropic(), "square", data,
                       free={"lam": 1.0}, noise=0.25)["lam"]
    ```
    """
    started = time.perf_counter()
    if isinstance(data, str) or hasattr(data, "__fspath__"):
        data = Curve.load_csv(data, columns=COLUMNS)
    if not isinstance(data, Curve):
        raise TypeError(f"data must be a Curve (t = alpha) or a CSV path, got {data!r}")
    if data.t[0] <= 0:
        raise ValueError(f"sample complexities alpha must be positive, got {data.t[0]:g}")
    initial = _check_free(model, free, lam)
    names = tuple(initial)
    fixed = {"lam": lam, "noise": noise}
    dtype = model.omega.dtype if isinstance(model, GaussianCovariateModel) else jnp.float32
    dtype = jnp.result_type(dtype, float)
    alphas, target = jnp.asarray(data.t, dtype), jnp.asarray(data.eg, dtype)
    scale = jnp.asarray(data.scale(), dtype)

    def errors(log_values):
        values = {**fixed, **dict(zip(names, jnp.exp(log_values)))}
        gcm = model
        if isinstance(model, HiddenManifoldLimit):
            limit = model
            if "delta" in values:
                limit = eqx.tree_at(lambda d: d.delta, model, values["delta"])
            gcm = GaussianCovariateModel.of(limit, rho=jnp.asarray(rho, dtype))
        curve = learning_curve(
            gcm, loss, alphas, values["lam"], teacher=teacher, noise=values["noise"],
            **curve_options,
        )  # fmt: skip
        return curve.test_error

    def outputs(log_values):
        predicted = errors(log_values)
        return (predicted - target) / scale, predicted

    u = jnp.log(jnp.asarray([initial[n] for n in names], dtype))
    found = levenberg_marquardt(outputs, u, max_steps=max_steps, rtol=rtol, atol=atol, mode="bwd")
    dof = int(alphas.shape[0] - len(names))
    covariance_u, uncertainty = laplace(found, data.sem is not None, dof)
    fitted = np.asarray(found.aux, np.float64)
    return FitResult.of_logarithms(
        names, found, covariance_u, uncertainty, data, fitted, dof, started, columns=COLUMNS
    )


def _check_free(model, free, lam) -> dict[str, float]:
    if not isinstance(model, (GaussianCovariateModel, HiddenManifoldLimit)):
        raise TypeError(
            f"fit_replica needs a GaussianCovariateModel or a HiddenManifoldLimit, got "
            f"{type(model).__name__}"
        )
    accepted = list(REPLICA_FITTABLE) + (
        ["delta"] if isinstance(model, HiddenManifoldLimit) else []
    )
    out = check_starts(free, accepted, "a replica fit")
    if "lam" not in out and lam is None:
        raise ValueError("give the penalty lam= or fit it (free={'lam': ...})")
    return out
