"""Deterministic equivalents of functions of a sample covariance, by contour integrals.

For `n` samples `x_mu ~ N(0, Omega)` in `R^N`, the sample covariance `S = X^T X / n` has, as
`N, n -> infinity` at fixed `n / N`, the deterministic equivalent of its resolvent
```
lambda (S + lambda)^-1  ~  kappa (Omega + kappa)^-1,
lambda = kappa (1 - tr(Omega (Omega + kappa)^-1) / n)
```
(Silverstein & Bai 1995; Bach, SIAM J. Math. Data Sci. 2024, "High-dimensional analysis of double
descent for linear regression with random projections"). By a leave-one-out argument the product
of two resolvents around `Omega` reduces to single ones,
```
(S + l1)^-1 Omega (S + l2)^-1
    ~  (kappa1 / l1) (kappa2 / l2) (l1 (S + l1)^-1 - l2 (S + l2)^-1) / (l1 - l2)
```
(at `l1 = l2` the familiar `kappa^2 / l^2 (Omega + kappa)^-1 Omega (Omega + kappa)^-1 /
(1 - tr(Omega^2 (Omega + kappa)^-2) / n)`). Any function `f` analytic on the spectrum of `S` is a
contour integral of the resolvent, `f(S) = (1 / 2 pi i) oint f(z) (z - S)^-1 dz`, so
`a^T f(S) a`, `tr(Omega f(S))`, `tr f(S)` and `a^T f(S) Omega g(S) a` follow from these
equivalents on a contour around the spectrum, summed by the trapezoid rule
(`SampleCovarianceContour`).

The contour: an ellipse around the bulk `[s_-, s_+]` of the spectrum (its edges from the
Silverstein–Choi criterion, `support_edges`), kept in `Re z > 0` so that decaying functions
(`(1 - lr z)^k`, `exp(-tau z)`) are never amplified; and, when `S` has a null space (`n` below the
rank of `Omega`), a small circle around `z = 0` on which `f` is read at `0` (exact: the resolvent
has a simple pole there and `f` is analytic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SampleCovarianceContour", "support_edges", "carries_variance"]


def carries_variance(omega) -> np.ndarray:
    """Which population eigenvalues count: those above `1e-10` of the largest (the others are
    directions without variance, where `S` is exactly zero)."""
    omega = np.asarray(omega, float)
    return omega > 1e-10 * omega.max()


def _z_of(x, omega, n):
    """`z(x) = x + (x / n) sum_i omega_i / (x - omega_i)` and its first two derivatives: the
    inverse of the map `z -> x = -kappa(-z)` on the real line (Silverstein & Choi 1995)."""
    d = x[:, None] - omega[None, :]
    z = x + x * np.sum(omega / d, axis=1) / n
    dz = 1 - np.sum(omega**2 / d**2, axis=1) / n
    ddz = 2 * np.sum(omega**2 / d**3, axis=1) / n
    return z, dz, ddz


def _extremum(x, omega, n, lower, upper):
    """Refine the extremum of `z(x)` nearest the best grid point by Newton on `z'(x) = 0`."""
    for _ in range(50):
        _, dz, ddz = _z_of(np.array([x]), omega, n)
        step = dz[0] / ddz[0] if ddz[0] != 0 else 0.0
        x_new = min(max(x - step, lower), upper)
        if abs(x_new - x) <= 1e-15 * max(1.0, abs(x)):
            break
        x = x_new
    return float(_z_of(np.array([x]), omega, n)[0][0])


def support_edges(omega, n: float) -> tuple[float, float, bool]:
    """`(s_-, s_+, null)`: the edges of the bulk of the spectrum of `S` (population eigenvalues
    `omega`, `n` samples) and whether `S` also has eigenvalues at 0 (`n` below the number of
    positive `omega`)."""
    omega = np.asarray(omega, float)
    big, small = omega.max(), omega.min()
    # right edge: the minimum of z(x) over x > omega_max
    x = big * (1 + np.geomspace(1e-8, 1e4, 4000))
    z = _z_of(x, omega, n)[0]
    i = int(np.argmin(z))
    s_plus = _extremum(x[i], omega, n, big * (1 + 1e-12), x[-1])
    null = omega.size > n
    if null:  # left edge: the maximum of z(x) over x < 0
        x = -big * np.geomspace(1e-10, 1e4, 4000)
        lower, upper = x[-1], -big * 1e-14
    else:  # over 0 < x < omega_min
        x = small * (1 - np.geomspace(1e-10, 1, 4000, endpoint=False))
        lower, upper = small * 1e-14, small * (1 - 1e-12)
    z = _z_of(x, omega, n)[0]
    i = int(np.argmax(z))
    s_minus = max(_extremum(x[i], omega, n, lower, upper), 0.0)
    return s_minus, float(s_plus), null


def _kappa(lam, omega, n, kappa, iterations):
    """Newton's method on `kappa (1 - sum omega / (omega + kappa) / n) = lambda`."""
    for _ in range(iterations):
        r = omega[None, :] / (omega[None, :] + kappa[:, None])
        residual = kappa * (1 - r.sum(1) / n) - lam
        kappa = kappa - residual / (1 - (r**2).sum(1) / n)
    return kappa


@dataclass(frozen=True)
class SampleCovarianceContour:
    """Nodes `z` on a contour around the spectrum of `S` with their weights `dz / (2 pi i)`,
    the solution `kappa` at `lambda = -z`, and where to read the integrated function (`at`: `z`
    on the bulk's ellipse, `0` on the circle around the null space).

    Build with `SampleCovarianceContour.around(omega, n)`; then `quadratic`, `trace`,
    `trace_omega` and `sandwich` give `a^T f(S) a`, `tr f(S)`, `tr(Omega f(S))` and
    `a^T f(S) Omega f(S) a` for arrays of function values `f (..., nodes)` at `at`.

    Example (the mean eigenvalue of `S` is that of `Omega`):
    ```python
    c = SampleCovarianceContour.around(omega, n=2 * omega.size)
    c.trace(c.at[None, :]) / omega.size   # = omega.mean()
    ```
    """

    omega: np.ndarray
    n: float
    z: np.ndarray
    weight: np.ndarray
    kappa: np.ndarray
    at: np.ndarray
    shifted: np.ndarray  # omega_i + kappa at each node: (N, nodes)
    edge: float  # s_+, the largest eigenvalue of S

    @classmethod
    def around(cls, omega, n: float, *, n_nodes: int | None = None):
        """The contour for population eigenvalues `omega` (those without variance,
        `carries_variance`, are dropped) and `n` samples. The ellipse has its foci at the bulk's
        edges; with a null space it passes halfway (in its elliptic coordinate) between the bulk
        and `z = 0`, which a circle of radius `s_- / 2` encloses (64 nodes). The trapezoid rule
        then converges like `exp(-rate n_nodes)` with `rate` that elliptic distance;
        `n_nodes=None` takes `40 / rate` nodes (128 to 2048)."""
        omega = np.asarray(omega, float)
        if omega.ndim != 1 or not np.all(np.isfinite(omega)) or omega.max() <= 0:
            raise ValueError("omega must be the eigenvalues of a non-zero covariance")
        omega = omega[carries_variance(omega)]
        s_minus, s_plus, null = support_edges(omega, n)
        centre, half = 0.5 * (s_plus + s_minus), 0.5 * (s_plus - s_minus)
        # the elliptic coordinate of z = 0 (null space) or of z = s_- / 2 (no eigenvalue below)
        far = np.arccosh(1 + max(s_minus, 1e-6 * half) / half / (1 if null else 2))
        eta = far / 2 if null else far
        if n_nodes is None:
            n_nodes = int(np.clip(16 * np.ceil(40 / eta / 16), 128, 2048))
        theta = 2 * np.pi * (np.arange(n_nodes) + 0.5) / n_nodes
        kappa = None  # continuation from a far, easy ellipse to the target one
        for level in np.geomspace(max(2.0, 2 * eta), eta, 12):
            lam = -(centre + half * np.cosh(level + 1j * theta))
            kappa = _kappa(lam, omega, n, lam if kappa is None else kappa,
                           30 if kappa is None else 5)  # fmt: skip
        kappa = _kappa(lam, omega, n, kappa, 10)
        z = -lam
        weight = half * np.sinh(eta + 1j * theta) / n_nodes  # dz / (2 pi i) on the ellipse
        at = z.copy()
        if null:  # a circle of radius s_- / 2 around z = 0, f read at 0
            z0 = 0.5 * s_minus * np.exp(2j * np.pi * (np.arange(64) + 0.5) / 64)
            kappa0 = _kappa(-z0, omega, n, np.full(64, _null_kappa(omega, n), complex), 30)
            z, kappa = np.concatenate([z0, z]), np.concatenate([kappa0, kappa])
            weight = np.concatenate([z0 / 64, weight])  # dz / (2 pi i) on the circle
            at = np.concatenate([np.zeros(64, complex), at])
        contour = cls(omega=omega, n=float(n), z=z, weight=weight, kappa=kappa, at=at,
                      shifted=omega[:, None] + kappa[None, :], edge=s_plus)  # fmt: skip
        contour._check()
        return contour

    def _check(self):
        """The contour must count the eigenvalues of `S`: `tr 1 = N` (a wrong branch of kappa
        or a contour through the spectrum fails this)."""
        lam = -self.z
        residual = self.kappa * (1 - (self.omega[:, None] / self.shifted).sum(0) / self.n) - lam
        count = self.trace(np.ones((1, self.z.size)))[0]
        if not (np.max(np.abs(residual) / np.abs(lam)) < 1e-9
                and abs(count - self.omega.size) < 1e-7 * self.omega.size):  # fmt: skip
            raise ArithmeticError(f"the resolvent contour counts {count:.8g} eigenvalues instead "
                                  f"of {self.omega.size}: give more n_nodes")  # fmt: skip

    @property
    def _ratio(self):
        """`kappa / lambda`: the factor of the deterministic equivalents; `-` it times
        `(Omega + kappa)^-1` is that of `(z - S)^-1`."""
        return self.kappa / -self.z

    def quadratic(self, weights, values):
        """`a^T f(S) a` for `a` with squared components `weights (..., N)` along the eigenvectors
        of `Omega` (the dropped ones excluded) and `values (..., nodes)` of `f`."""
        resolvent = -self._ratio * (np.asarray(weights) @ (1 / self.shifted))
        return np.real(np.sum(values * self.weight * resolvent, axis=-1))

    def trace(self, values):
        """`tr f(S)` over the directions of positive `omega`."""
        return np.real((values * self.weight) @ (-self._ratio * (1 / self.shifted).sum(0)))

    def trace_omega(self, values):
        """`tr(Omega f(S))`."""
        resolvent = -self._ratio * (self.omega[:, None] / self.shifted).sum(0)
        return np.real((values * self.weight) @ resolvent)

    def sandwich(self, weights, values):
        """`a^T f(S) Omega f(S) a` (`weights (S, N)` as in `quadratic`, `values (R, nodes)`):
        `(S, R)`, by the two-resolvent equivalent (module docstring) in the double contour
        integral."""
        weights = np.atleast_2d(weights)
        lam, ratio = -self.z, self._ratio
        # kappa a^T (Omega + kappa)^-1 a and its derivative's form at l1 = l2: (S, nodes)
        h = self.kappa * (weights @ (1 / self.shifted))
        df2 = ((self.omega[:, None] / self.shifted) ** 2).sum(0) / self.n
        dh = ratio**2 * (weights @ (self.omega[:, None] / self.shifted**2)) / (1 - df2)
        with np.errstate(all="ignore"):  # the diagonal, replaced below
            inverse = 1 / (lam[:, None] - lam[None, :])
        np.fill_diagonal(inverse, 0)
        q = values * self.weight * ratio  # (R, nodes)
        fq = (values * self.weight) ** 2  # the diagonal
        # sum_jk q_j q_k (h_j - h_k) / (l_j - l_k) = 2 sum_j q_j h_j (D q)_j, D antisymmetric
        off = 2 * (q * (q @ inverse.T)) @ h.T  # (R, S)
        return np.real(off + fq @ dh.T).T


def _null_kappa(omega, n):
    """`kappa(0) > 0` when `S` has a null space: the root of `sum omega / (omega + kappa) = n`
    (bisection on a decreasing function)."""
    lo, hi = 0.0, omega.max() * omega.size
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.sum(omega / (omega + mid)) > n:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
