"""Finite-size empirical risk minimisation, to test the replica learning curves: sample `n = alpha
p` points of a Gaussian covariate model (or of actual non-linear features), fit the student by
convex optimisation, and measure the same order parameters and errors, vmapped over seeds.

Ridge is closed form; logistic is Newton's method with backtracking (a p x p solve per step);
hinge is the SVM dual `max_a sum a - a^T G a / (2 lambda p)`, `0 <= a <= 1`, by accelerated
projected gradient (FISTA) with its duality gap reported.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .gcm import GaussianCovariateModel
from .losses import Hinge, Logistic, Loss, Square, get_loss
from .teachers import Channel, LinearChannel, get_channel

__all__ = ["ERMResult", "simulate_erm", "fit"]


class ERMResult(eqx.Module):
    """Per seed `(S,)`: `test_error` (population, from the covariances), `train_loss` (mean loss
    on the training set, no penalty), `q`, `m`; `gap`, the optimiser's duality gap or gradient
    norm (how exactly the minimiser was found)."""

    test_error: Array
    train_loss: Array
    q: Array
    m: Array
    gap: Array

    def mean(self, name: str = "test_error") -> Array:
        return jnp.mean(getattr(self, name))

    def sem(self, name: str = "test_error") -> Array:
        values = getattr(self, name)
        return jnp.std(values, ddof=1) / math.sqrt(values.shape[0])


def fit(loss: Loss, X: Array, y: Array, lam, *, steps: int = 50, hinge_steps: int = 4000):
    """The minimiser of `sum_mu loss(y_mu, X_mu w / sqrt p) + lam |w|^2 / 2` and a measure of
    how well it was found (gradient norm, or the hinge's duality gap per sample)."""
    n, p = X.shape
    A = X / math.sqrt(p)
    if isinstance(loss, Square):
        w = jnp.linalg.solve(A.T @ A + lam * jnp.eye(p), A.T @ y)
        return w, jnp.linalg.norm(A.T @ (A @ w - y) + lam * w)
    if isinstance(loss, Logistic):
        return _logistic(A, y, lam, steps)
    if isinstance(loss, Hinge):
        return _hinge_dual(A, y, lam, hinge_steps)
    raise ValueError(f"no ERM solver for loss {loss.name!r}")


def _logistic(A, y, lam, steps):
    def objective(w):
        return jnp.sum(jax.nn.softplus(-y * (A @ w))) + lam * w @ w / 2

    def step(w, _):
        z = A @ w
        s = jax.nn.sigmoid(-y * z)
        gradient = -A.T @ (y * s) + lam * w
        hessian = (A.T * (s * (1 - s))) @ A + lam * jnp.eye(w.shape[0])
        direction = jnp.linalg.solve(hessian, gradient)
        sizes = 0.5 ** jnp.arange(12.0)
        values = jax.vmap(lambda t: objective(w - t * direction))(sizes)
        return w - sizes[jnp.argmin(values)] * direction, None

    w, _ = jax.lax.scan(step, jnp.zeros(A.shape[1], A.dtype), None, length=steps)
    s = jax.nn.sigmoid(-y * (A @ w))
    return w, jnp.linalg.norm(-A.T @ (y * s) + lam * w)


def _hinge_dual(A, y, lam, steps):
    G = (A * y[:, None]) @ (A * y[:, None]).T / lam
    lipschitz = jnp.linalg.eigvalsh(G)[-1]

    def step(carry, _):
        a, b, t = carry
        a_new = jnp.clip(b + (1 - G @ b) / lipschitz, 0.0, 1.0)
        t_new = (1 + jnp.sqrt(1 + 4 * t**2)) / 2
        return (a_new, a_new + (t - 1) / t_new * (a_new - a), t_new), None

    n = A.shape[0]
    start = jnp.zeros(n, A.dtype)
    (a, _, _), _ = jax.lax.scan(step, (start, start, jnp.ones((), A.dtype)), None, length=steps)
    w = A.T @ (a * y) / lam
    primal = jnp.sum(jnp.maximum(0.0, 1 - y * (A @ w))) + lam * w @ w / 2
    dual = jnp.sum(a) - lam * w @ w / 2
    return w, (primal - dual) / n


def simulate_erm(
    model: GaussianCovariateModel,
    loss: Loss | str,
    alpha: float,
    lam: float,
    key,
    *,
    seeds: int = 8,
    teacher: Channel | str | None = None,
    noise: float = 0.0,
) -> ERMResult:
    """ERM on `n = round(alpha p)` samples of `model` (which must carry its covariances) per seed.

    Inputs `(u, v)` are drawn jointly Gaussian with covariance `[[Psi, Phi], [Phi^T, Omega]]`,
    labels from the teacher's field `theta u / sqrt k`. Errors are population errors of the
    fitted `w` (`q = w Omega w / p`, `m = theta Phi w / sqrt(k p)`), so no test set is needed.
    """
    if model.covariances is None:
        raise ValueError(
            "finite-size ERM needs the covariances: build the model with from_covariances, "
            "random_features, from_data_model or from_dataset"
        )
    loss = get_loss(loss)
    if teacher is None:
        teacher = "linear" if isinstance(loss, Square) else "sign"
    channel = get_channel(teacher, noise)
    Psi, Phi, Omega, theta = model.covariances
    k, p = Phi.shape
    n = int(round(alpha * p))
    if n < 1:
        raise ValueError(f"alpha * p = {alpha * p} gives no samples")
    joint = jnp.block([[Psi, Phi], [Phi.T, Omega]])
    root = _psd_root(joint)
    rho = theta @ Psi @ theta / k

    def one(key):
        kx, kn = jax.random.split(key)
        uv = jax.random.normal(kx, (n, k + p), joint.dtype) @ root.T
        u, v = uv[:, :k], uv[:, k:]
        nu = u @ theta / math.sqrt(k)
        xi = jax.random.normal(kn, (n,), joint.dtype)
        if isinstance(channel, LinearChannel):
            y = nu + math.sqrt(channel.noise) * xi
        else:
            y = jnp.where(nu + math.sqrt(channel.noise) * xi >= 0, 1.0, -1.0).astype(nu.dtype)
        w, gap = fit(loss, v, y, lam)
        q = w @ Omega @ w / p
        m = theta @ Phi @ w / math.sqrt(k * p)
        train = jnp.mean(loss(y, v @ w / math.sqrt(p)))
        if isinstance(channel, LinearChannel):
            test = rho + q - 2 * m
        else:
            cosine = m / jnp.sqrt(q * (rho + channel.noise))
            test = jnp.arccos(jnp.clip(cosine, -1.0, 1.0)) / jnp.pi
        return ERMResult(test, train, q, m, gap)

    return eqx.filter_jit(jax.vmap(one))(jax.random.split(key, seeds))


def _psd_root(C):
    """A square root `L L^T = C` of a positive semi-definite matrix (eigenvalues clipped at 0)."""
    values, vectors = jnp.linalg.eigh(C)
    return vectors * jnp.sqrt(jnp.maximum(values, 0.0))
