"""Replica saddle point of full-batch ERM on the Gaussian covariate model, and learning curves
(Loureiro et al., NeurIPS 2021; Aubin et al., NeurIPS 2020 for logistic and hinge; THEORY.md
Sec. 7).

The order parameters `V, q, m` of the student's field and its conjugates `Vh, qh, mh` satisfy
```
penalty side (l2):  V = <omega / (lambda + Vh omega)>
                    q = <(qh omega^2 + mh^2 omega t) / (lambda + Vh omega)^2>
                    m = (mh / sqrt gamma) <t / (lambda + Vh omega)>
loss side:          Vh = -alpha E sum_y Z0 d_w f,  qh = alpha E sum_y Z0 f^2,
                    mh = (alpha / sqrt gamma) E sum_y d_w* Z0 f,   f = (prox_{V loss}(w) - w) / V
```
with `w = sqrt(q) xi`, `w* = (m / sqrt q) xi`, `V* = rho - m^2 / q`, `xi ~ N(0, 1)`. The square
loss has closed forms; logistic and hinge integrate over `xi` by Gauss–Legendre rules on pieces
split where the integrand turns sharply (the teacher's sign boundary, the hinge's kinks).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..checks import is_traced
from ..gaussian import piecewise_gaussian_rule
from ..io import save_csv
from ..sweep.layout import RunLayout
from .fixed_point import STATUS_NAMES, solve_fixed_point
from .gcm import GaussianCovariateModel
from .losses import Loss, Square, get_loss
from .teachers import Channel, LinearChannel, SignChannel, get_channel

__all__ = ["LearningCurve", "learning_curve", "optimal_lambda", "SaddlePointEquations"]


class SaddlePointEquations(eqx.Module):
    """One iteration `(V, q, m) -> (V, q, m)` of the saddle-point equations of a model, loss and
    teacher; arguments `(alpha, lambda)`. Also evaluates the errors at a solution."""

    model: GaussianCovariateModel
    loss: Loss
    channel: Channel

    order: int = eqx.field(static=True, default=24)

    @classmethod
    def build(cls, model, loss, channel, quadrature: int | None = None):
        """`quadrature`: Gauss–Legendre nodes per piece of the field's range (default 24)."""
        loss = get_loss(loss)
        if isinstance(channel, LinearChannel) and not isinstance(loss, Square):
            raise ValueError(
                f"a linear (real-valued) teacher needs the square loss, not {loss.name}"
            )
        return cls(model, loss, channel, quadrature or 24)

    def _rule(self, y, V, q, m, v_star):
        """The `xi` grid for label `y`, split where the integrand turns sharply: at the teacher's
        sign boundary `xi = 0` and a few of its widths `sqrt((V* + noise) q) / |m|` around it
        (a near-step once the student aligns, V* -> 0), and at the kinks of the loss's prox."""
        width = jnp.sqrt((v_star + self.channel.noise) * q) / jnp.maximum(jnp.abs(m), 1e-12)
        breaks = [jnp.zeros_like(q)] + [s * width for s in (-6.0, -2.0, 2.0, 6.0)]
        breaks += [k / jnp.sqrt(q) for k in self.loss.kinks(y, V)]
        return piecewise_gaussian_rule(breaks, self.order)

    # ------------------------------------------------------------------------------ the sides
    def penalty_side(self, lam, Vh, qh, mh):
        m_ = self.model
        denominator = lam + Vh * m_.omega
        V = jnp.sum(m_.weights * m_.omega / denominator)
        q = jnp.sum(m_.weights * (qh * m_.omega**2 + mh**2 * m_.omega * m_.t) / denominator**2)
        m = mh / jnp.sqrt(m_.gamma) * jnp.sum(m_.weights * m_.t / denominator)
        return V, q, m

    def loss_side(self, alpha, V, q, m):
        """`(Vh, qh, mh, train_loss)`."""
        rho, gamma = self.model.rho, self.model.gamma
        if isinstance(self.loss, Square):  # closed forms
            second, c = self.channel.label_moments(rho)
            residual = second + q - 2 * m * c
            return (
                alpha / (1 + V),
                alpha * residual / (1 + V) ** 2,
                alpha / jnp.sqrt(gamma) * c / (1 + V),
                residual / (2 * (1 + V) ** 2),
            )
        q_safe = jnp.maximum(q, jnp.finfo(q.dtype).tiny)
        v_star = jnp.maximum(rho - m**2 / q_safe, 1e-12)
        Vh = qh = mh = train = 0.0
        for y in SignChannel.labels:
            xi, weights = self._rule(y, V, q_safe, m, v_star)
            w, w_star = jnp.sqrt(q_safe) * xi, m / jnp.sqrt(q_safe) * xi
            z0, dz0 = self.channel.z0(y, w_star, v_star)
            prox, dprox = self.loss.prox(y, w, V)
            f, df = (prox - w) / V, (dprox - 1) / V
            Vh = Vh - jnp.sum(weights * z0 * df)
            qh = qh + jnp.sum(weights * z0 * f**2)
            mh = mh + jnp.sum(weights * dz0 * f)
            train = train + jnp.sum(weights * z0 * self.loss(y, prox))
        return alpha * Vh, alpha * qh, alpha / jnp.sqrt(gamma) * mh, train

    def valid(self, x):
        """The physical domain: `V > 0`, `q > 0`, `m^2 <= rho q` (Cauchy-Schwarz)."""
        V, q, m = x
        return (V > 0) & (q > 0) & (m**2 <= self.model.rho * q * (1 + 1e-6))

    def __call__(self, x, args):
        alpha, lam = args
        Vh, qh, mh, _ = self.loss_side(alpha, *x)
        return jnp.stack(self.penalty_side(lam, Vh, qh, mh))

    def test_error(self, q, m):
        """The channel's test error at the model's `rho` (`Channel.test_error`)."""
        return self.channel.test_error(self.model.rho, q, m)


class LearningCurve(eqx.Module):
    """Order parameters and errors per point `(alpha, lambda)` of a grid (all arrays `(B,)`):
    `V, q, m` and `Vh, qh, mh`; `test_error` (excess MSE for regression, classification error
    for sign labels); `train_loss`, the mean loss on the training set at the minimiser (without
    the penalty; square loss is `(y - x)^2 / 2`); `status` (0 converged, 1 max steps, 2
    non-finite) and the damping that got there."""

    alpha: Array
    lam: Array
    V: Array
    q: Array
    m: Array
    Vh: Array
    qh: Array
    mh: Array
    test_error: Array
    train_loss: Array
    status: Array
    damping: Array
    steps: Array

    @property
    def converged(self) -> Array:
        return self.status == 0

    def rows(self, **extra) -> list[dict]:
        names = ("alpha", "lam", "test_error", "train_loss", "V", "q", "m", "Vh", "qh", "mh")
        columns = {n: np.asarray(getattr(self, n)).tolist() for n in names}
        status = np.asarray(self.status).tolist()
        return [
            {**extra, **{n: columns[n][i] for n in names}, "status": STATUS_NAMES[status[i]]}
            for i in range(len(status))
        ]

    def to_csv(self, path, **extra):
        return save_csv(path, self.rows(**extra))


def learning_curve(
    model: GaussianCovariateModel,
    loss: Loss | str,
    alphas,
    lam,
    *,
    teacher: Channel | str | None = None,
    noise: float = 0.0,
    damping: float = 0.5,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int = 5_000,
    quadrature: int | None = None,
    anderson: int = 5,
    layout: RunLayout | None = None,
) -> LearningCurve:
    """The replica learning curve of ERM with `loss` and l2 penalty `lam` on `model`, at sample
    complexities `alphas = n / p` (`alphas` and `lam` broadcast together: a curve, a lambda
    sweep, or a grid, solved in one vmapped call).

    `teacher`: `"linear"` (regression; default for the square loss) or `"sign"` (default for
    logistic and hinge), with label `noise` (variance of Gaussian noise added to the teacher's
    field before the sign, or to the label for regression). The iteration stops at a relative
    change `rtol` (default 1e-5 in float32, whose rounding noise a tighter one would chase, and
    1e-10 in float64). `anderson`: memory of the Anderson acceleration (0: plain damping).
    `layout`: a `RunLayout` dealing the points out over devices (default: this process's).

    Example:
    ```python
    model = GaussianCovariateModel.isotropic()
    curve = learning_curve(model, "logistic", jnp.linspace(0.5, 5, 32), 0.1)
    curve.test_error, curve.train_loss, curve.V, curve.q, curve.m
    ```
    """
    loss = get_loss(loss)
    if teacher is None:
        teacher = "linear" if isinstance(loss, Square) else "sign"
    channel = get_channel(teacher, noise)
    dtype = model.omega.dtype
    alphas, lam = jnp.broadcast_arrays(jnp.asarray(alphas, dtype), jnp.asarray(lam, dtype))
    shape = alphas.shape
    alphas, lam = alphas.ravel(), lam.ravel()
    if alphas.size == 0:
        raise ValueError("alphas is empty")
    if not is_traced(alphas, lam) and not (bool(jnp.all(alphas > 0)) and bool(jnp.all(lam >= 0))):
        raise ValueError("sample complexities alpha must be positive and lambda non-negative")
    single = jnp.finfo(dtype).bits <= 32
    rtol = (1e-5 if single else 1e-10) if rtol is None else rtol
    atol = (1e-7 if single else 1e-12) if atol is None else atol
    equations = SaddlePointEquations.build(model, loss, channel, quadrature)
    rho = model.rho
    x0 = jnp.broadcast_to(jnp.stack([jnp.ones_like(rho), rho / 2, rho / 4]), (alphas.size, 3))
    solution = solve_fixed_point(
        equations,
        x0,
        (alphas, lam),
        damping=damping,
        rtol=rtol,
        atol=atol,
        max_steps=max_steps,
        anderson=anderson,
        layout=layout,
    )
    return _curve(equations, alphas, lam, solution, shape)


@eqx.filter_jit
def _errors(equations, alphas, lam, value):
    def one(alpha, lam, x):
        Vh, qh, mh, train = equations.loss_side(alpha, *x)
        return Vh, qh, mh, train, equations.test_error(x[1], x[2])

    return jax.vmap(one)(alphas, lam, value)


def _curve(equations, alphas, lam, solution, shape) -> LearningCurve:
    Vh, qh, mh, train, test = _errors(equations, alphas, lam, solution.value)
    fields = dict(
        alpha=alphas,
        lam=lam,
        V=solution.value[:, 0],
        q=solution.value[:, 1],
        m=solution.value[:, 2],
        Vh=Vh,
        qh=qh,
        mh=mh,
        test_error=test,
        train_loss=train,
        status=solution.status,
        damping=solution.damping,
        steps=solution.steps,
    )
    return LearningCurve(**{k: v.reshape(shape) for k, v in fields.items()})


def optimal_lambda(
    model: GaussianCovariateModel,
    loss: Loss | str,
    alphas,
    *,
    lam_range: tuple[float, float] = (1e-4, 1e2),
    points: int = 33,
    rounds: int = 3,
    **options,
) -> LearningCurve:
    """The l2 penalty minimising the test error at each `alpha`: a log-spaced grid of `points`
    values over `lam_range`, zoomed `rounds` times around each minimum (every round one vmapped
    solve of the whole `alpha x lambda` grid). Returns the learning curve at the optimum."""
    alphas = jnp.atleast_1d(jnp.asarray(alphas, model.omega.dtype))
    low = jnp.full(alphas.shape, np.log10(lam_range[0]), alphas.dtype)
    high = jnp.full(alphas.shape, np.log10(lam_range[1]), alphas.dtype)
    fraction = jnp.linspace(0.0, 1.0, points, dtype=alphas.dtype)
    for _ in range(rounds):
        logs = low[:, None] + (high - low)[:, None] * fraction
        grid = learning_curve(model, loss, alphas[:, None], 10.0**logs, **options)
        error = jnp.where(grid.converged, grid.test_error, jnp.inf)
        best = jnp.argmin(error, axis=1)
        step = (high - low) / (points - 1)
        centre = jnp.take_along_axis(logs, best[:, None], axis=1)[:, 0]
        low, high = centre - step, centre + step
    return learning_curve(model, loss, alphas, 10.0**centre, **options)
