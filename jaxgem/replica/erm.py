"""Finite-size empirical risk minimisation, to test the replica learning curves: sample `n = alpha
p` points `(x, c)` of the model's data model (Gaussian, or actual non-linear features, or a real
dataset), label them by the teacher vector on `c`, fit the student on `x` by convex optimisation,
and measure the same order parameters and errors, vmapped over seeds.

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
    """Newton's method with backtracking until the gradient norm falls below 1e-6 of its
    starting value (at most `steps` steps)."""

    def objective(w):
        return jnp.sum(jax.nn.softplus(-y * (A @ w))) + lam * w @ w / 2

    def gradient(w):
        return -A.T @ (y * jax.nn.sigmoid(-y * (A @ w))) + lam * w

    def step(carry):
        w, _, count = carry
        s = jax.nn.sigmoid(-y * (A @ w))
        hessian = (A.T * (s * (1 - s))) @ A + lam * jnp.eye(w.shape[0], dtype=w.dtype)
        direction = jnp.linalg.solve(hessian, gradient(w))
        sizes = 0.5 ** jnp.arange(12.0, dtype=w.dtype)
        values = jax.vmap(lambda t: objective(w - t * direction))(sizes)
        w = w - sizes[jnp.argmin(values)] * direction
        return w, jnp.linalg.norm(gradient(w)), count + 1

    w0 = jnp.zeros(A.shape[1], A.dtype)
    tolerance = 1e-6 * jnp.linalg.norm(gradient(w0))
    w, norm, _ = jax.lax.while_loop(
        lambda c: (c[1] > tolerance) & (c[2] < steps), step, (w0, tolerance + 1, 0)
    )
    return w, norm


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
    n_test: int = 10_000,
) -> ERMResult:
    """ERM on `n = round(alpha p)` samples of `model.data` per seed, vmapped over seeds.

    Labels come from the teacher's field `theta c / sqrt k` through the channel; the student is
    fitted on `x`. If the data model is Gaussian (`data.is_gaussian`: iid inputs, a Gaussian
    equivalent) the errors are population errors of the fitted `w` from the covariances
    (`q = w Omega w / p`, `m = w Phi theta / sqrt(p k)`, no test set needed); otherwise (actual
    random features, a generator's data, a dataset) the test error is measured on `n_test`
    fresh samples (for a dataset, rows not used for training), and `q`, `m` use the
    covariances.
    """
    data, theta = model.data, model.theta
    if data is None or theta is None:
        raise ValueError(
            "finite-size ERM needs the data model (its covariances and samples) and teacher: "
            "build the model with "
            "GaussianCovariateModel.of(data, theta), from_covariances, random_features or "
            "isotropic_sample"
        )
    loss = get_loss(loss)
    if teacher is None:
        teacher = "linear" if isinstance(loss, Square) else "sign"
    channel = get_channel(teacher, noise)
    p, k = data.input_dim, data.latent_dim
    n = int(round(alpha * p))
    if n < 1:
        raise ValueError(f"alpha * p = {alpha * p} gives no samples")
    population = data.is_gaussian
    limit = data.max_samples
    if limit is not None:
        n_test = min(n_test, limit - n)
        if n_test < 1:
            raise ValueError(f"the dataset has {limit} rows: too few for n = {n} and a test set")
    rho = model.rho

    def labels(c, key):
        nu = c @ theta / math.sqrt(k)
        return nu, channel.sample(nu, jax.random.normal(key, nu.shape, nu.dtype))

    def one(key):
        kx, kn, kt = jax.random.split(key, 3)
        x, c = data.sample(kx, n if population else n + n_test)
        _, y = labels(c[:n], kn)
        w, gap = fit(loss, x[:n], y, lam)
        q = data.input_overlap(w[None], w[None])[0, 0]
        m = data.input_latent_overlap(w[None], theta[None])[0, 0]
        train = jnp.mean(loss(y, x[:n] @ w / math.sqrt(p)))
        if population:
            test = channel.test_error(rho, q, m)
        else:  # measured on fresh samples
            nu_test, y_test = labels(c[n:], kt)
            prediction = x[n:] @ w / math.sqrt(p)
            if isinstance(channel, LinearChannel):
                test = jnp.mean((nu_test - prediction) ** 2)
            else:
                test = jnp.mean(jnp.where(prediction >= 0, 1.0, -1.0) != y_test)
        return ERMResult(test, train, q, m, gap)

    return eqx.filter_jit(jax.vmap(one))(jax.random.split(key, seeds))
