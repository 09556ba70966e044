"""The order-parameter ODEs of online SGD on generator inputs, over the spectrum of the input
covariance (Goldt et al., MSML 2021; Goldt, Mézard, Krzakala, Zdeborová, PRX 2020), THEORY.md
Sec. 5.

Diagonalise `Omega = sum_tau rho_tau psi_tau psi_tau^T / N` (`|psi_tau|^2 = N`). The densities
`q_kl(tau) = Gw_k Gw_l`, `r_kn(tau) = Gw_k Gb_n`, `t~_nm(tau) = Gb_n Gb_m` with
`Gw = w psi / sqrt N`, `Gb = B Phi^T psi / sqrt N` give `Q = <rho q>`, `R = delta^{-1/2} <r>`,
`T = B B^T / D`. With Stein's coefficients `a = E[g''(lambda_k) g(lambda_j)]`,
`b = E[g'(lambda_k) g'(lambda_j)]` of the student pairs and `c, d` of the student-teacher pairs
(`Activation.stein`), `alpha_k = -sum_j v_j a_kj + sum_n A_n c_kn`, `beta_kj = -v_j b_kj`,
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
from .integrals import field_covariance, integral_tensors, sub_covariance

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


def _projection_coefficients(C, K, activation, teacher_activation):
    """Stein's coefficients `a, b (K, K)` of the student pairs and `c, d (K, M)` of the
    student-teacher pairs (THEORY.md Sec. 5, `Activation.stein`): for a field `z` jointly
    Gaussian with `(lambda_k, u)`, `E[g'(lambda_k) g(u) z] = Cov(z, lambda_k) a + Cov(z, u) b`.

    Taken directly as `a = E[g''(lambda_k) g(u)]`, `b = E[g'(lambda_k) g'(u)]` where the
    activation has them in closed form: smooth where two fields become collinear (student units
    on the unspecialised plateau, a student aligned with a teacher), where solving for them
    from `I3` is ill-conditioned and defeats an adaptive step-size controller.
    """
    k, fields = jnp.arange(K), jnp.arange(C.shape[-1])
    pairs = sub_covariance(C, k[:, None], fields[None, :])  # (K, L, 2, 2)
    a, b = activation.stein(pairs[:, :K], activation)
    c, d = activation.stein(pairs[:, K:], teacher_activation)
    return a, b, c, d


def spectral_vector_field(t, y: SpectralState, args) -> SpectralState:
    """`d(q, r, v)/dt` (module docstring), signature `(t, y, (run_args, spectrum))` as diffrax
    and `solve_runs` call it."""
    args, spectrum = args  # the rates are the schedule's at t
    p, t_tilde = args.run, args.t_tilde
    K = y.v.shape[-1]
    Q, R = overlaps(y.q, y.r, spectrum)
    C = field_covariance(Q, R, p.T)
    tensors = integral_tensors(C, K, p.activation, p.teacher_activation)
    a, b, c, d = _projection_coefficients(C, K, p.activation, p.teacher_activation)
    alpha = -a @ y.v + c @ p.A
    beta = -b * y.v[None, :]
    gamma = d * p.A[None, :]
    root_delta = jnp.sqrt(spectrum.delta)
    rho = spectrum.rho[:, None, None]
    g_r = rho * (alpha[None, :, None] * y.r + jnp.einsum("kj,pjm->pkm", beta, y.r))
    g_r = g_r + jnp.einsum("kn,pnm->pkm", gamma, t_tilde) / root_delta
    g_q = rho * (alpha[None, :, None] * y.q + jnp.einsum("kj,pjl->pkl", beta, y.q))
    g_q = g_q + jnp.einsum("kn,pln->pkl", gamma, y.r) / root_delta
    (lr, lr_v), decay = p.hyper.rates(t), p.hyper.weight_decay
    dr = lr * y.v[None, :, None] * g_r - decay * y.r
    first = lr * y.v[None, :, None] * g_q
    dq = first + jnp.swapaxes(first, 1, 2) - 2 * decay * y.q
    variance = jnp.outer(y.v, y.v) * p.variance(tensors, y.v)
    dq = dq + p.variance_rate(lr) * rho * variance[None]
    return SpectralState(q=dq, r=dr, v=p.readout_derivative(tensors, y.v, lr_v))
