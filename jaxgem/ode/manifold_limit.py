"""The spectral ODEs of the hidden manifold model in the limit `N, D -> infinity` at fixed
`delta = D / N`, on quadrature nodes of the Marchenko–Pastur law: a theory curve without
sampling any matrix (Goldt, Mézard, Krzakala, Zdeborová, PRX 2020; THEORY.md Sec. 4, 5).

For `x = f(F c / sqrt D)` with iid `F`, the Gaussian equivalent covariance is
`Omega = kappa1^2 F F^T / D + kappa*^2 I`. The eigenvalues `s` of `F F^T / D` (an `N x N` Wishart
matrix with ratio `y = N / D = 1 / delta`) follow the Marchenko–Pastur law
```
p(s) = sqrt((b - s)(s - a)) / (2 pi y s)  on  [a, b] = [(1 - sqrt y)^2, (1 + sqrt y)^2]
```
plus a point mass `1 - delta` at `s = 0` when `D < N`; so `rho = kappa1^2 s + kappa*^2`. The
teacher's density is `t~_nm(s) = kappa1^2 s T_nm` (`Phi^T psi` along an eigenvector has squared
norm `kappa1^2 s N`, in a direction independent of the teacher).

Initial conditions from order parameters `(Q, R, T, v, A)`: the student is taken as an isotropic
part (overlaps `W`) plus a part along the teacher's directions in input space, `w_k = sum_n c_kn
(Phi B^T)_n + noise`. That gives
```
r(s) = sqrt(delta) s R        q(s) = W + delta s R T^+ R^T / kappa1^2
```
with `W` fixed by `Q = <rho q>`. Random initial weights have `R -> 0` and `q(s) = W` in this
limit; `r(s) ∝ s` is also the conditional mean of a random initial `r` given its `R`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..activations import Activation, get_activation
from ..order_parameters import OrderParameters
from .solve import SOLVERS, ODESolution, check_hyperparameters, check_times, flatten_runs
from .spectral import SpectralState, Spectrum
from .spectral_solve import solve_densities

__all__ = ["marchenko_pastur", "manifold_limit_spectrum", "solve_manifold_limit"]


def marchenko_pastur(delta: float, n_nodes: int, dtype=jnp.float32):
    """Nodes `s` and weights of the eigenvalue law of `F F^T / D` (`F` is `N x D` with iid unit
    entries, `N / D = 1 / delta`): Gauss–Chebyshev nodes of the second kind on the bulk `[a, b]`,
    which absorb the square-root edges, with the smooth factor `1 / s` in the weights; plus a node
    at `0` with mass `1 - delta` when `delta < 1`. The weights sum to one.

    Converges exponentially for `delta != 1` (32 nodes give the moments to 1e-9); at `delta = 1`
    the bulk touches `s = 0`, the factor `1 / s` is singular and convergence is algebraic (use
    more nodes)."""
    if not delta > 0:
        raise ValueError(f"delta = D / N must be positive, got {delta}")
    if int(n_nodes) < 2:
        raise ValueError(f"n_nodes must be at least 2, got {n_nodes}")
    y = 1.0 / float(delta)
    a, b = (1 - np.sqrt(y)) ** 2, (1 + np.sqrt(y)) ** 2
    i = np.arange(1, n_nodes + 1)
    theta = i * np.pi / (n_nodes + 1)
    centre, half = (a + b) / 2, (b - a) / 2
    s = centre + half * np.cos(theta)
    weights = np.pi / (n_nodes + 1) * np.sin(theta) ** 2 * half**2 / (2 * np.pi * y * s)
    bulk = min(1.0, float(delta))
    weights = weights * bulk / weights.sum()  # exact mass; the correction is O(quadrature error)
    if delta < 1:
        s = np.concatenate([[0.0], s])
        weights = np.concatenate([[1.0 - bulk], weights])
    return jnp.asarray(s, dtype), jnp.asarray(weights, dtype)


def manifold_limit_spectrum(
    delta: float, generator: Activation | str = "sign", n_nodes: int = 128, dtype=jnp.float32
):
    """The spectrum of `Omega = kappa1^2 F F^T / D + kappa*^2 I` in the limit, and the nodes `s`
    of `F F^T / D` it was built from."""
    g = get_activation(generator)
    _, k1, kstar = g.kappa()
    s, weights = marchenko_pastur(delta, n_nodes, dtype)
    rho = k1**2 * s + kstar**2
    return Spectrum(rho=rho, weights=weights, eigenvectors=None, delta=float(delta)), s


def _initial_densities(op: OrderParameters, s, rho, weights, delta, kappa1):
    """`(q, r, t~)` per node for one set of order parameters (module docstring)."""
    T_plus = jnp.linalg.pinv(op.T, hermitian=True)
    aligned = delta * op.R @ T_plus @ op.R.T / kappa1**2  # (K, K)
    mean_rho = jnp.sum(weights * rho)
    mean_rho_s = jnp.sum(weights * rho * s)
    W = (op.Q - mean_rho_s * aligned) / mean_rho
    q = W[None] + s[:, None, None] * aligned[None]
    r = jnp.sqrt(delta) * s[:, None, None] * op.R[None]
    t_tilde = kappa1**2 * s[:, None, None] * op.T[None]
    return q, r, t_tilde, W


def solve_manifold_limit(
    order_parameters: OrderParameters,
    times,
    *,
    delta: float,
    generator: Activation | str = "sign",
    activation: Activation | str,
    teacher_activation: Activation | str | None = None,
    lr,
    lr_v=None,
    noise=0.0,
    weight_decay=0.0,
    train_second_layer: bool = False,
    output_scale: float = 1.0,
    n_nodes: int = 128,
    solver: str = "adaptive",
    dt: float = 0.01,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    max_steps: int = 1_000_000,
) -> ODESolution:
    """The spectral ODEs (THEORY.md Sec. 5) of the hidden manifold model `x = f(F c / sqrt D)` as
    `N, D -> infinity` with `D / N = delta`, on Marchenko–Pastur quadrature nodes.

    **Arguments:**

    - `order_parameters`: initial `(Q, R, T, v, A)` (optionally batched, e.g. one per seed); `Q`
      and `R` are overlaps of the input-space fields, as the simulation measures them; see the
      module docstring for how they are spread over the spectrum.
    - `delta`: `D / N`; `generator`: the generator's non-linearity `f` (its kappas enter).
    - `n_nodes`: quadrature nodes on the bulk of the spectrum.
    - everything else as in `jaxgem.ode.solve`.

    **Returns:** an `ODESolution` with the batch shape of `order_parameters` and hyperparameters.

    Example:
    ```python
    op = jaxgem.OrderParameters(Q=0.01 * jnp.eye(2), R=jnp.zeros((2, 2)), T=jnp.eye(2),
                                v=jnp.ones(2), A=jnp.ones(2))
    sol = jaxgem.ode.solve_manifold_limit(op, jnp.linspace(0, 50, 11), delta=0.5,
                                          activation="erf", lr=0.2)
    ```
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    g = get_activation(activation)
    gt = g if teacher_activation is None else get_activation(teacher_activation)
    op = order_parameters
    dtype = op.Q.dtype
    times = check_times(times, dtype)
    spectrum, s = manifold_limit_spectrum(delta, generator, n_nodes, dtype)
    kappa1 = get_activation(generator).kappa()[1]
    if abs(kappa1) < 1e-12 and bool(jnp.any(op.R != 0)):
        raise ValueError("the generator has kappa1 = 0: no student can overlap the teacher (R = 0)")
    kappa1 = kappa1 if abs(kappa1) >= 1e-12 else 1.0
    lr_v = lr if lr_v is None else lr_v
    hyper = check_hyperparameters(lr, lr_v, noise, weight_decay, dtype, output_scale)
    batch, flat_op, flat_hyper = flatten_runs(op, hyper)
    q, r, t_tilde, W = jax.vmap(_initial_densities, in_axes=(0, None, None, None, None, None))(
        flat_op, s, spectrum.rho, spectrum.weights, spectrum.delta, kappa1
    )
    smallest = float(jnp.min(jnp.linalg.eigvalsh(W))) if W.shape[0] else 0.0
    if smallest < -1e-6 * float(jnp.max(jnp.abs(flat_op.Q))):
        raise ValueError(
            "Q is too small for R in the Marchenko–Pastur limit: the isotropic part of the "
            f"student W = (Q - ...) / <rho> has a negative eigenvalue {smallest:.3g}"
        )
    y0 = SpectralState(q=q, r=r, v=flat_op.v)
    solution = solve_densities(
        y0,
        t_tilde,
        flat_op.T,
        flat_op.A,
        flat_hyper,
        spectrum,
        times,
        (g, gt),
        train_second_layer,
        (solver, dt, rtol, atol, max_steps),
    )
    unflat = lambda a: a.reshape(batch + a.shape[1:])  # noqa: E731
    return ODESolution(
        t=solution.t,
        Q=unflat(solution.Q),
        R=unflat(solution.R),
        v=unflat(solution.v),
        T=unflat(flat_op.T),
        A=unflat(flat_op.A),
        eg=unflat(solution.eg),
    )
