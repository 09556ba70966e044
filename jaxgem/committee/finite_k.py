"""The sign committee with Gaussian weights at finite odd K in the committee-symmetric ansatz
`q = q_d I + (q_a / K) 1 1^T`, by Monte Carlo with common random numbers (THEORY.md Sec. 9).

In the eigenbasis of `q` (`lam_perp = q_d` on the K - 1 specialising directions, `lam_sum =
q_d + q_a` on the units' sum) the student's and the teacher's fields split into the sum and the
deviations from it. The label `Y = sign(median_k z_k)` is `sign(zbar + M)` with `M` the median of
the deviations, which for a committee-symmetric `q` is

    M = median_k [sqrt(lam_perp) (w_k - wbar) + sqrt(1 - lam_perp) (e_k - ebar)],

`w` (the student's fields) and `e` (the teacher's unknown part) standard normal, and the sum
`zbar` is Gaussian given the student's `omega_bar = sqrt(lam_sum / K) h` with variance
`(1 - lam_sum) / K`. So `P(Y = 1 | omega) = E_e Phi((omega_bar + M) / sqrt((1 - lam_sum)/K))`:
an inner average over `e`, inside the logarithm of

    Psi_out(lam_perp, lam_sum) = E_{w, h} sum_Y P(Y | omega) ln P(Y | omega),

estimated with a jackknife over the inner draws (no O(1/inner) bias) and strata of `h`. The same
draws serve every `(lam_perp, lam_sum)` (common random numbers), so the estimate is a smooth
function of the overlaps. With the Gaussian prior's term
the free entropy is

    f = [(K - 1)(lam_perp + ln(1 - lam_perp)) + lam_sum + ln(1 - lam_sum)] / 2 + alpha Psi_out,

whose local maxima are the state evolution's stable fixed points. `Psi_out` is computed once on
a grid of `(lam_perp, lam_sum)` (the landscape: one compiled call); the free entropy at any
alpha is then a sum of two arrays, and its maxima on the line `lam_perp = 0` (non-specialised)
and inside (specialised) are refined by quadratics through their neighbours. Only values are
used, never the Monte Carlo's derivatives: the pathwise slopes are noisy where
`(1 - lam_sum)/K` is small (their spikes have that width), while a maximum's value is
insensitive to the noise in its location (stationarity). The thresholds follow: the spinodal
(the smallest alpha with a specialised maximum) and `alpha_spec`, where the free entropies
cross, with its Monte Carlo standard error. As K grows `alpha_spec / K` approaches the large-K
value (`large_k.py`).

Aubin, Maillard, Barbier, Krzakala, Macris, Zdeborová, NeurIPS 2018.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf, ndtri
from scipy.optimize import brentq

__all__ = [
    "SymmetricDraws",
    "FiniteKBranch",
    "FiniteKTransition",
    "symmetric_draws",
    "symmetric_output_entropy",
    "symmetric_free_entropy",
    "FiniteKLandscape",
    "finite_k_landscape",
    "finite_k_branches",
    "finite_k_transition",
]

#: The overlaps stay in `[0, 1 - GAP]`.
GAP = 1e-12


class SymmetricDraws(eqx.Module):
    """Common random numbers of the Monte Carlo: `w (n, K)` the student's fields and
    `e (n, inner, K)` the teacher's unknown part, both centred over the K units, and `h
    (n, strata)` stratified normal quantiles of the sum direction."""

    w: jax.Array
    e: jax.Array
    h: jax.Array

    @property
    def K(self) -> int:
        return self.w.shape[-1]


def symmetric_draws(K: int, key, samples: int = 8000, inner: int = 16, strata: int = 8):
    """Draws for `K` (odd, >= 3) units: `samples` outer draws, each with `inner` draws of the
    teacher's unknown fields (averaged inside the logarithm, jackknifed) and `strata` values of
    the sum direction (one per stratum of the normal law, randomly placed within it)."""
    if K < 3 or K % 2 == 0:
        raise ValueError(f"K must be odd and at least 3 (ties need even K's labels), got {K}")
    for name, value, least in (("samples", samples, 2), ("inner", inner, 2), ("strata", strata, 1)):
        if int(value) < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    dtype = jnp.result_type(float)
    kw, ke, kh = jax.random.split(key, 3)
    w = jax.random.normal(kw, (samples, K), dtype)
    e = jax.random.normal(ke, (samples, inner, K), dtype)
    u = (jnp.arange(strata, dtype=dtype) + jax.random.uniform(kh, (samples, 1), dtype)) / strata
    return SymmetricDraws(
        w=w - w.mean(-1, keepdims=True), e=e - e.mean(-1, keepdims=True), h=ndtri(u)
    )


def _median(draws: SymmetricDraws, lam_perp):
    """`M (n, inner)`: the median of the teacher's deviations from the units' mean."""
    dev = jnp.sqrt(lam_perp) * draws.w[:, None, :] + jnp.sqrt(1 - lam_perp) * draws.e
    return jnp.sort(dev, axis=-1)[..., draws.K // 2]


def _xlogx(p):
    safe = jnp.where(p > 0, p, 1.0)
    return jnp.where(p > 0, p * jnp.log(safe), 0.0)


def _probabilities(draws: SymmetricDraws, M, lam_sum):
    """`P(Y = +1)` and `P(Y = -1)` per outer draw, stratum and inner draw `(n, strata, inner)`."""
    lam_sum = jnp.clip(lam_sum, 0.0, 1 - GAP)
    scale = jnp.sqrt(lam_sum / draws.K)
    spread = jnp.sqrt((1 - lam_sum) / draws.K)
    # Phi by erf: several times cheaper than ndtr; the lost tails (below 1e-16) add nothing to
    # the entropy or the error
    plus = (1 + erf((scale * draws.h[:, :, None] + M[:, None, :]) / (spread * np.sqrt(2)))) / 2
    return plus, 1 - plus


def _jackknife(statistic, plus, minus):
    """Per outer draw `(n,)`: the stratum mean of `statistic(mean P+, mean P-)` over the inner
    draws, jackknifed (the O(1/inner) bias of a nonlinear function of a mean cancels)."""
    m = plus.shape[-1]
    full = statistic(plus.mean(-1), minus.mean(-1))
    leave_plus = (plus.sum(-1, keepdims=True) - plus) / (m - 1)
    leave_minus = (minus.sum(-1, keepdims=True) - minus) / (m - 1)
    left_out = statistic(leave_plus, leave_minus).mean(-1)
    return (m * full - (m - 1) * left_out).mean(-1)


def _entropy_terms(draws, M, lam_sum):
    """`sum_Y P ln P` per outer draw `(n,)`."""
    plus, minus = _probabilities(draws, M, lam_sum)
    return _jackknife(lambda a, b: _xlogx(a) + _xlogx(b), plus, minus)


def _error_terms(draws, M, lam_sum):
    """`(1 - (P+ - P-)^2) / 2` per outer draw `(n,)`: half the squared error of the
    posterior-mean output (the square of the mean by its unbiased pairwise estimate)."""
    plus, minus = _probabilities(draws, M, lam_sum)
    m = plus.shape[-1]
    mean = (plus - minus).sum(-1)
    square = (mean**2 - ((plus - minus) ** 2).sum(-1)) / (m * (m - 1))
    return ((1 - square) / 2).mean(-1)


def _mean_and_error(terms):
    n = terms.shape[0]
    return terms.mean(), terms.std() / np.sqrt(n)


@eqx.filter_jit
def symmetric_output_entropy(draws: SymmetricDraws, lam_perp, lam_sum):
    """`(Psi_out, standard error)` at `q = lam_perp I + (lam_sum - lam_perp) 1 1^T / K`
    (`Psi_out = E ln Z_out = -H(Y | omega)`, THEORY.md Sec. 9)."""
    return _mean_and_error(_entropy_terms(draws, _median(draws, lam_perp), lam_sum))


def _prior_term(K, lam_perp, lam_sum):
    return ((K - 1) * (lam_perp + jnp.log1p(-lam_perp)) + lam_sum + jnp.log1p(-lam_sum)) / 2


def symmetric_free_entropy(draws: SymmetricDraws, alpha, lam_perp, lam_sum):
    """`f = [(K-1)(lam_perp + ln(1 - lam_perp)) + lam_sum + ln(1 - lam_sum)]/2 + alpha Psi_out`
    (the Gaussian prior's term at its stationary conjugate; per K units, not per unit)."""
    psi, _ = symmetric_output_entropy(draws, lam_perp, lam_sum)
    return _prior_term(draws.K, lam_perp, lam_sum) + alpha * psi


@eqx.filter_jit
def _grid_values(draws, lam_perp, lam_sum):
    """`Psi_out (P, T)` on the product of `lam_perp (P,)` and `lam_sum (T,)`: one sort per
    `lam_perp`, the `lam_sum` in batches."""

    def row(lp):
        M = _median(draws, lp)
        return jax.lax.map(lambda ls: _entropy_terms(draws, M, ls).mean(), lam_sum, batch_size=8)

    return jax.lax.map(row, lam_perp)


@eqx.filter_jit
def _points(draws, lam_perp, lam_sum):
    """`(psi, psi_error, generalisation_error)` at each point `(lam_perp[i], lam_sum[i])`."""

    def one(point):
        M = _median(draws, point[0])
        psi, error = _mean_and_error(_entropy_terms(draws, M, point[1]))
        return psi, error, _error_terms(draws, M, point[1]).mean()

    return jax.lax.map(one, jnp.stack([lam_perp, lam_sum], axis=1))


@eqx.filter_jit
def _paired_error(draws, spec, non):
    """Standard error of `Psi_spec - Psi_non` from the per-draw differences (common draws)."""
    terms = _entropy_terms(draws, _median(draws, spec[0]), spec[1]) - _entropy_terms(
        draws, _median(draws, non[0]), non[1]
    )
    return terms.std() / np.sqrt(terms.shape[0])


#: The landscape's grids: `u = -ln(1 - lam_perp)` (0.39 ... 0.9933, and the row `lam_perp = 0`)
#: and `t = -ln(1 - lam_sum)` (0.39 ... 0.99995).
PERP_GRID = np.linspace(0.5, 5.0, 28)
SUM_GRID = np.linspace(0.5, 10.0, 39)
#: `alpha / K` where `finite_k_transition` reports both branches.
BRANCH_GRID = np.linspace(2.0, 12.0, 21)


class FiniteKLandscape(eqx.Module):
    """`Psi_out` on a grid: rows `lam_perp = 0` (the non-specialised line) and
    `u = -ln(1 - lam_perp)` on `perp`, columns `t = -ln(1 - lam_sum)` on `sums`. The free
    entropy at any alpha is then a sum of two arrays, and its maxima (the fixed points, refined
    by a quadratic through the neighbours) need no derivative of the Monte Carlo: their values
    are insensitive to the noise in their location (stationarity)."""

    K: int = eqx.field(static=True)
    perp: np.ndarray
    sums: np.ndarray
    psi: np.ndarray

    @property
    def lam_perp(self):
        return np.concatenate([[0.0], -np.expm1(-self.perp)])

    @property
    def lam_sum(self):
        return -np.expm1(-self.sums)

    def free_entropy(self, alpha):
        """`f (P + 1, T)` at one alpha (per K units)."""
        prior = _prior_term(self.K, self.lam_perp[:, None], self.lam_sum[None, :])
        return np.asarray(prior) + alpha * self.psi

    def nonspecialised(self, alpha):
        """`(f, lam_sum)` of the non-specialised maximum (`lam_perp = 0`), or NaN."""
        row = self.free_entropy(alpha)[0]
        j = int(np.argmax(row))
        if not 0 < j < len(row) - 1:
            return np.nan, np.nan
        value, t = _parabola(self.sums[j - 1 : j + 2], row[j - 1 : j + 2])
        return value, -np.expm1(-t)

    def specialised(self, alpha):
        """`(f, lam_perp, lam_sum)` of the specialised local maximum (interior in `lam_perp`:
        the largest of the profile's local maxima), or NaNs where there is none."""
        f = self.free_entropy(alpha)[1:]
        best = np.argmax(f, axis=1)
        profile = f[np.arange(len(f)), best]
        inner = np.arange(1, len(profile) - 1)
        peaks = inner[(profile[inner] > profile[inner - 1]) & (profile[inner] > profile[inner + 1])]
        peaks = [i for i in peaks if 0 < best[i] < f.shape[1] - 1]
        if not peaks:
            return np.nan, np.nan, np.nan
        i = max(peaks, key=lambda k: profile[k])
        j = best[i]
        value, u, t = _quadratic_peak(self.perp[i - 1 : i + 2], self.sums[j - 1 : j + 2],
                                      f[i - 1 : i + 2, j - 1 : j + 2])  # fmt: skip
        return value, -np.expm1(-u), -np.expm1(-t)


def _parabola(x, y):
    """Vertex `(value, position)` of the parabola through three points (the middle one the
    largest), kept within them."""
    a, b, c = np.polyfit(x, y, 2)
    if a >= 0:
        return float(y[1]), float(x[1])
    at = float(np.clip(-b / (2 * a), x[0], x[2]))
    return float(np.polyval([a, b, c], at)), at


def _quadratic_peak(x, y, f):
    """The maximum of the quadratic fitted (least squares) to `f (3, 3)` on `x (3,)`, `y (3,)`,
    kept within the 3 x 3 box; the grid's centre if the fit is not concave."""
    X, Y = np.meshgrid(x - x[1], y - y[1], indexing="ij")
    design = np.stack([np.ones(9), X.ravel(), Y.ravel(), X.ravel() ** 2, X.ravel() * Y.ravel(),
                       Y.ravel() ** 2], axis=1)  # fmt: skip
    c = np.linalg.lstsq(design, f.ravel(), rcond=None)[0]
    H = np.array([[2 * c[3], c[4]], [c[4], 2 * c[5]]])
    if np.any(np.linalg.eigvalsh(H) >= 0):
        return float(f[1, 1]), float(x[1]), float(y[1])
    dx, dy = np.clip(np.linalg.solve(H, -c[1:3]), [x[0] - x[1], y[0] - y[1]],
                     [x[2] - x[1], y[2] - y[1]])  # fmt: skip
    value = c[0] + c[1] * dx + c[2] * dy + c[3] * dx**2 + c[4] * dx * dy + c[5] * dy**2
    return float(value), float(x[1] + dx), float(y[1] + dy)


def finite_k_landscape(draws: SymmetricDraws, perp=PERP_GRID, sums=SUM_GRID) -> FiniteKLandscape:
    """`Psi_out` of `draws` on the grid (`perp`: `-ln(1 - q_d)`, `sums`: `-ln(1 - q_d - q_a)`),
    one compiled call."""
    perp, sums = np.asarray(perp, float), np.asarray(sums, float)
    if perp.ndim != 1 or sums.ndim != 1 or len(perp) < 3 or len(sums) < 3:
        raise ValueError("perp and sums must be 1-d grids of at least 3 values")
    if np.any(np.diff(perp) <= 0) or np.any(np.diff(sums) <= 0) or perp[0] <= 0 or sums[0] <= 0:
        raise ValueError("perp and sums must be positive and increasing")
    dtype = draws.w.dtype
    lam_perp = jnp.asarray(np.concatenate([[0.0], -np.expm1(-perp)]), dtype)
    psi = _grid_values(draws, lam_perp, jnp.asarray(-np.expm1(-sums), dtype))
    return FiniteKLandscape(K=draws.K, perp=perp, sums=sums, psi=np.asarray(psi))


class FiniteKBranch(eqx.Module):
    """One branch of fixed points at each `alpha`: `lam_perp` (`q_d`), `lam_sum` (`q_d + q_a`),
    `free_entropy` (per K units), `psi` with `psi_error` (its Monte Carlo standard error) and
    `generalisation_error`; NaN where the branch does not exist."""

    alpha: np.ndarray
    lam_perp: np.ndarray
    lam_sum: np.ndarray
    free_entropy: np.ndarray
    psi: np.ndarray
    psi_error: np.ndarray
    generalisation_error: np.ndarray

    @property
    def q_d(self):
        return self.lam_perp

    @property
    def q_a(self):
        return self.lam_sum - self.lam_perp


def _branch(draws, alpha, value, lam_perp, lam_sum) -> FiniteKBranch:
    found = np.isfinite(value)
    psi, error, eps = (np.full(len(alpha), np.nan) for _ in range(3))
    if found.any():
        dtype = draws.w.dtype
        measured = _points(draws, jnp.asarray(lam_perp[found], dtype),
                           jnp.asarray(lam_sum[found], dtype))  # fmt: skip
        psi[found], error[found], eps[found] = (np.asarray(m) for m in measured)
    return FiniteKBranch(alpha=alpha, lam_perp=lam_perp, lam_sum=lam_sum, free_entropy=value,
                         psi=psi, psi_error=error, generalisation_error=eps)  # fmt: skip


def finite_k_branches(draws: SymmetricDraws, alpha, landscape: FiniteKLandscape | None = None):
    """`(non_specialised, specialised)` fixed points at each `alpha` (samples per dimension, not
    per unit): the maxima of the free entropy on the landscape (computed if not given)."""
    alpha = np.atleast_1d(np.asarray(alpha, float))
    if np.any(~(alpha > 0)):
        raise ValueError(f"alpha must be positive, got {alpha!r}")
    landscape = finite_k_landscape(draws) if landscape is None else landscape
    non = np.array([landscape.nonspecialised(a) for a in alpha]).reshape(-1, 2)
    spec = np.array([landscape.specialised(a) for a in alpha]).reshape(-1, 3)
    zeros = np.where(np.isfinite(non[:, 0]), 0.0, np.nan)
    return (
        _branch(draws, alpha, non[:, 0], zeros, non[:, 1]),
        _branch(draws, alpha, spec[:, 0], spec[:, 1], spec[:, 2]),
    )


class FiniteKTransition(eqx.Module):
    """The thresholds at finite K (in samples per dimension, `alpha`): `spinodal` (the smallest
    alpha with a specialised local maximum, to the landscape's resolution), `alpha_spec` (its
    free entropy overtakes the non-specialised one, `q_d = spec_q_d`) with `alpha_spec_error`
    (the Monte Carlo standard error, from the gap's), the errors of both branches there, and
    both branches on the grid `alpha / K = branch_grid` (`non_specialised`, `specialised`)."""

    K: int
    spinodal: float
    alpha_spec: float
    alpha_spec_error: float
    spec_q_d: float
    error_non_specialised: float
    error_specialised: float
    non_specialised: FiniteKBranch
    specialised: FiniteKBranch


def finite_k_transition(
    K: int, *, key=None, samples: int = 8000, inner: int = 16, strata: int = 8,
    perp=PERP_GRID, sums=SUM_GRID, branch_grid=BRANCH_GRID,
) -> FiniteKTransition:  # fmt: skip
    """The specialisation thresholds of the sign committee with Gaussian weights at odd `K`:
    the landscape of `Psi_out` (one compiled call), the spinodal by bisection on the existence
    of the specialised maximum, and `alpha_spec` by Brent's method on the free-entropy gap, with
    its standard error `alpha SE(Psi_spec - Psi_non) / |Psi_spec - Psi_non|` (paired per draw).

    Example: `finite_k_transition(3).alpha_spec / 3` (about 3.8: between K = 2's 1.03 and the
    large-K limit 7.68; 20 s on two CPU cores)."""
    key = jax.random.key(0) if key is None else key
    draws = symmetric_draws(K, key, samples, inner, strata)
    landscape = finite_k_landscape(draws, perp, sums)

    def exists(alpha):
        return np.isfinite(landscape.specialised(alpha)[0])

    def gap(alpha):
        return landscape.specialised(alpha)[0] - landscape.nonspecialised(alpha)[0]

    scan = K * np.arange(0.5, 20.0, 0.25)
    present = np.array([exists(a) for a in scan])
    if not present.any():
        raise ValueError(f"K = {K}: no specialised fixed point for alpha/K up to 20 on the grid")
    first = int(np.argmax(present))
    spinodal = float(scan[first])
    if first > 0:
        spinodal = _bisect_existence(exists, scan[first - 1], scan[first])
    crossings = [a for a in scan[first:] if exists(a) and gap(a) > 0]
    if not crossings:
        raise ValueError(f"K = {K}: the free entropies do not cross for alpha/K up to 20")
    hi = crossings[0]
    fine = np.linspace(spinodal, hi, 41)[1:-1]  # between the branch's appearance and the crossing
    below = [a for a in (*fine, *scan[first:]) if a < hi and exists(a) and gap(a) < 0]
    if not below:
        raise ValueError(f"K = {K}: the specialised branch appears with the larger free entropy "
                         "(Monte Carlo noise: more samples)")  # fmt: skip
    lo = max(below)
    alpha_spec = float(brentq(gap, lo, hi, xtol=1e-6 * K))
    non, spec = finite_k_branches(draws, [alpha_spec], landscape)
    paired = float(_paired_error(draws, (spec.lam_perp[0], spec.lam_sum[0]),
                                 (0.0, non.lam_sum[0])))  # fmt: skip
    slope = float(spec.psi[0] - non.psi[0])  # d gap / d alpha (envelope)
    branches = finite_k_branches(draws, K * np.asarray(branch_grid, float), landscape)
    return FiniteKTransition(
        K=K,
        spinodal=spinodal,
        alpha_spec=alpha_spec,
        alpha_spec_error=abs(alpha_spec * paired / slope),
        spec_q_d=float(spec.lam_perp[0]),
        error_non_specialised=float(non.generalisation_error[0]),
        error_specialised=float(spec.generalisation_error[0]),
        non_specialised=branches[0],
        specialised=branches[1],
    )


def _bisect_existence(exists, lo, hi, steps=20):
    """The smallest alpha in `[lo, hi]` where `exists` turns true (bisection)."""
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if exists(mid) else (mid, hi)
    return float(hi)
