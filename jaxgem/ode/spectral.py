"""The order-parameter ODEs of online SGD on generator inputs, over the spectrum of the input
covariance (Goldt et al., MSML 2021; Goldt, Mézard, Krzakala, Zdeborová, PRX 2020), THEORY.md
Sec. 5.

Diagonalise `Omega = sum_tau rho_tau psi_tau psi_tau^T / N` (`|psi_tau|^2 = N`). The densities
`q_kl(tau) = Gw_k Gw_l`, `r_kn(tau) = Gw_k Gb_n`, `t~_nm(tau) = Gb_n Gb_m` with
`Gw = w psi / sqrt N`, `Gb = B Phi^T psi / sqrt N` give `Q = <rho q>`, `R = delta^{-1/2} <r>`,
`T = B B^T / D`. With the projection coefficients `a, b` (student) and `c, d` (teacher) of
Stein's lemma, `alpha_k = -sum_j v_j a_kj + sum_n A_n c_kn`, `beta_kj = -v_j b_kj`,
`gamma_kn = A_n d_kn`:
```
G^r_km = rho (alpha_k r_km + sum_j beta_kj r_jm) + delta^{-1/2} sum_n gamma_kn t~_nm
G^q_kl = rho (alpha_k q_kl + sum_j beta_kj q_jl) + delta^{-1/2} sum_n gamma_kn r_ln
dr/dt = eta v_k G^r_km - kappa r
dq/dt = eta (v_k G^q_kl + v_l G^q_lk) + (eta^2 / B) rho v_k v_l [sum_cd u_c u_d I4 + sigma^2 J2]
        - 2 kappa q
dv/dt = s^2 eta_v sum_c u_c I2(k, c) - kappa v        (u = (-v, A))
```
which is THEORY.md Sec. 5 regrouped; with `Omega = I` it reduces to Sec. 3 (a test checks it).
All spectral sums are batched array operations over the nodes, so they run on a GPU as they are.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..data.spectrum import Spectrum
from .iid import RunArgs
from .integrals import field_covariance, integral_tensors

__all__ = ["SpectralState", "SpectralRunArgs", "spectral_vector_field", "coarse_grain", "overlaps"]


class SpectralState(eqx.Module):
    """Densities `q (P, K, K)`, `r (P, K, M)` and the readout `v (K,)`."""

    q: Array
    r: Array
    v: Array


class SpectralRunArgs(eqx.Module):
    """Fixed along one solution: the run (`RunArgs`) and the teacher's density `t~ (P, M, M)`;
    the spectrum itself is shared by all runs."""

    run: RunArgs
    t_tilde: Array


def coarse_grain(spectrum: Spectrum, q, r, t_tilde, n_bins: int):
    """Average the densities over `n_bins` groups of consecutive eigenvalues (equal counts).

    Exact when the eigenvalues within a bin are equal; the error is controlled by the spread
    of `rho` inside the bins (shrinking with more bins). Returns the coarse spectrum and
    densities, weights being the bins' masses.
    """
    P = spectrum.rho.shape[0]
    if not 1 <= n_bins <= P:
        raise ValueError(
            f"n_bins must lie between 1 and the number of eigenvalues {P}, got {n_bins}"
        )
    edges = np.linspace(0, P, n_bins + 1).round().astype(int)
    labels = np.repeat(np.arange(n_bins), np.diff(edges))
    order = jnp.argsort(spectrum.rho)
    mass = jnp.zeros(n_bins, spectrum.weights.dtype).at[labels].add(spectrum.weights[order])

    def average(x):
        x = x[order]
        weighted = x * spectrum.weights[order].reshape((-1,) + (1,) * (x.ndim - 1))
        summed = jnp.zeros((n_bins,) + x.shape[1:], x.dtype).at[labels].add(weighted)
        return summed / mass.reshape((-1,) + (1,) * (x.ndim - 1))

    coarse = Spectrum(
        rho=average(spectrum.rho), weights=mass, eigenvectors=None, delta=spectrum.delta
    )
    return coarse, average(q), average(r), average(t_tilde)


def overlaps(q, r, spectrum: Spectrum):
    """`Q = <rho q>`, `R = delta^{-1/2} <r>`."""
    Q = jnp.einsum("p,p,pkl->kl", spectrum.weights, spectrum.rho, q)
    R = jnp.einsum("p,pkn->kn", spectrum.weights, r) / jnp.sqrt(spectrum.delta)
    return Q, R


def _solve_2x2(m11, m12, m22, y1, y2):
    """Least-squares `(a, b)` of `[[m11, m12], [m12, m22]] (a, b) = (y1, y2)`, batched.

    A Hermitian pseudo-inverse with a relative cutoff: when two fields become (nearly) collinear
    (two student units on the unspecialised plateau, or a student aligned with a teacher) the
    system is singular and its determinant is rounding noise; the projection onto the span of
    the fields, which is all the ODEs use, stays well defined. Identical to the inverse when
    the system is well conditioned.
    """
    M = jnp.stack([jnp.stack([m11, m12], -1), jnp.stack([m12, m22], -1)], -2)
    rtol = 1e-4 if jnp.finfo(M.dtype).bits <= 32 else 1e-9
    solution = jnp.linalg.pinv(M, rtol=rtol, hermitian=True) @ jnp.stack([y1, y2], -1)[..., None]
    return solution[..., 0, 0], solution[..., 1, 0]


def _projection_coefficients(Q, R, T, I3, K):
    """Stein-lemma coefficients `a, b (K, K)` and `c, d (K, M)` (THEORY.md Sec. 5): for a field
    `z` jointly Gaussian with `(lambda_k, u)`, `E[g'(lambda_k) g(u) z] = Cov(z, lambda_k) a +
    Cov(z, u) b`."""
    k = jnp.arange(K)
    kkj = I3[k, k, :K]  # I3(k, k, j)
    kjj = jnp.diagonal(I3[:, :K, :K], axis1=1, axis2=2)  # I3(k, j, j)
    qd = jnp.diagonal(Q)
    a, b = _solve_2x2(
        jnp.broadcast_to(qd[:, None], Q.shape), Q, jnp.broadcast_to(qd[None, :], Q.shape), kkj, kjj
    )
    eye = jnp.eye(K, dtype=bool)
    a = jnp.where(eye, I3[k, k, k][:, None] / jnp.where(qd > 0, qd, 1.0)[:, None], a)
    b = jnp.where(eye, 0.0, b)
    kkn = I3[k, k, K:]  # I3(k, k, n)
    knn = jnp.diagonal(I3[:, K:, K:], axis1=1, axis2=2)  # I3(k, n, n)
    td = jnp.diagonal(T)
    c, d = _solve_2x2(
        jnp.broadcast_to(qd[:, None], R.shape), R, jnp.broadcast_to(td[None, :], R.shape), kkn, knn
    )
    return a, b, c, d


def spectral_vector_field(t, y: SpectralState, args) -> SpectralState:
    """`d(q, r, v)/dt` (module docstring), signature `(t, y, (run_args, spectrum))` as diffrax
    and `solve_runs` call it."""
    del t
    args, spectrum = args
    p, t_tilde = args.run, args.t_tilde
    K = y.v.shape[-1]
    Q, R = overlaps(y.q, y.r, spectrum)
    tensors = integral_tensors(field_covariance(Q, R, p.T), K, p.activation, p.teacher_activation)
    a, b, c, d = _projection_coefficients(Q, R, p.T, tensors.I3, K)
    alpha = -a @ y.v + c @ p.A
    beta = -b * y.v[None, :]
    gamma = d * p.A[None, :]
    root_delta = jnp.sqrt(spectrum.delta)
    rho = spectrum.rho[:, None, None]
    g_r = rho * (alpha[None, :, None] * y.r + jnp.einsum("kj,pjm->pkm", beta, y.r))
    g_r = g_r + jnp.einsum("kn,pnm->pkm", gamma, t_tilde) / root_delta
    g_q = rho * (alpha[None, :, None] * y.q + jnp.einsum("kj,pjl->pkl", beta, y.q))
    g_q = g_q + jnp.einsum("kn,pln->pkl", gamma, y.r) / root_delta
    lr, decay = p.hyper.lr, p.hyper.weight_decay
    dr = lr * y.v[None, :, None] * g_r - decay * y.r
    first = lr * y.v[None, :, None] * g_q
    dq = first + jnp.swapaxes(first, 1, 2) - 2 * decay * y.q
    dq = dq + p.variance_rate * rho * (jnp.outer(y.v, y.v) * p.variance(tensors, y.v))[None]
    return SpectralState(q=dq, r=dr, v=p.readout_derivative(tensors, y.v))
