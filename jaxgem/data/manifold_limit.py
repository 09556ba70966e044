"""The hidden manifold model `x = f(F c / sqrt D)` in the limit `N, D -> infinity` at fixed
`delta = D / N`: no matrix, only the law of its spectrum (Goldt, Mézard, Krzakala, Zdeborová, PRX
2020; THEORY.md Sec. 4, 5, 7).

Its Gaussian-equivalent covariance is `Omega = kappa1^2 F F^T / D + kappa*^2 I`. The eigenvalues
`s` of `F F^T / D` (an `N x N` Wishart matrix with ratio `y = N / D = 1 / delta`) follow the
Marchenko–Pastur law
```
p(s) = sqrt((b - s)(s - a)) / (2 pi y s)  on  [a, b] = [(1 - sqrt y)^2, (1 + sqrt y)^2]
```
plus a point mass `1 - delta` at `s = 0` when `D < N`; so `rho = kappa1^2 s + kappa*^2`, and a
teacher of overlaps `T` reaches each eigen-direction with density `t~(s) = kappa1^2 s T`
(`Phi^T psi` along an eigenvector has squared norm `kappa1^2 s N`, in a direction independent of
the teacher). The same law is the proportional limit of random features in full-batch ERM
(`D / p = gamma` there).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..activations import Activation, get_activation
from ..checks import is_traced
from .hidden_manifold import kappa_form
from .spectrum import Spectrum

__all__ = ["HiddenManifoldLimit", "marchenko_pastur"]


def marchenko_pastur(delta: float, n_nodes: int, dtype=jnp.float32):
    """Nodes `s` and weights of the eigenvalue law of `F F^T / D` (`F` is `N x D` with iid unit
    entries, `N / D = 1 / delta`); plus a node at `0` with mass `1 - delta` when `delta < 1`. The
    weights sum to one.

    The bulk is parametrised by an angle, `s = 1 + y + 2 sqrt(y) cos(theta) = |1 + sqrt(y)
    e^(i theta)|^2`, in which the law is `2 sin(theta)^2 / (pi s) dtheta` on `[0, pi]`: an even,
    periodic, analytic function of `theta` that absorbs both square-root edges and, at `delta =
    1`, the `1 / sqrt(s)` pole at `s = 0` (`sin(theta)^2 / s` is smooth there). The midpoint rule
    in `theta` (nodes `(j + 1/2) pi / n_nodes`) is then exponentially accurate for every `delta`
    (Trefethen & Weideman, SIAM Review 2014): with the default 128 nodes, integrals of smooth
    functions of `s` (moments, resolvents `1 / (s + lambda)` with `lambda >= 0.1`) are exact to
    1e-12 at `delta` in {0.5, 1, 2} and to about 1e-6 at `delta` = 0.9 or 1.1, where the pole
    of `1 / s` comes within `|log delta| / 2` of the real `theta` axis (use more nodes
    there). A traced `delta` (fitted by gradient) is allowed."""
    if int(n_nodes) < 2:
        raise ValueError(f"n_nodes must be at least 2, got {n_nodes}")
    theta = (np.arange(n_nodes) + 0.5) * np.pi / n_nodes
    if is_traced(delta):  # a fitted delta: the same nodes in jnp, the point mass always present
        return _marchenko_pastur_traced(jnp.asarray(delta, dtype), jnp.asarray(theta, dtype))
    s, weights = marchenko_pastur_numpy(delta, n_nodes)
    return jnp.asarray(s, dtype), jnp.asarray(weights, dtype)


def marchenko_pastur_numpy(delta: float, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """`marchenko_pastur` in float64 NumPy, for a concrete `delta`."""
    if not delta > 0:
        raise ValueError(f"delta = D / N must be positive, got {delta}")
    theta = (np.arange(n_nodes) + 0.5) * np.pi / n_nodes
    y = 1.0 / float(delta)
    s = 1 + y + 2 * np.sqrt(y) * np.cos(theta)
    weights = 2 / n_nodes * np.sin(theta) ** 2 / s
    bulk = min(1.0, float(delta))
    weights = weights * bulk / weights.sum()  # exact mass; the correction is O(quadrature error)
    if delta < 1:
        s = np.concatenate([[0.0], s])
        weights = np.concatenate([[1.0 - bulk], weights])
    return s, weights


def _marchenko_pastur_traced(delta, theta):
    """`marchenko_pastur` for a traced `delta` (differentiable): a node at `s = 0` always, with
    mass `max(1 - delta, 0)`, so the shape does not depend on the value."""
    y = 1.0 / delta
    s = 1 + y + 2 * jnp.sqrt(y) * jnp.cos(theta)
    weights = jnp.sin(theta) ** 2 / s
    bulk = jnp.minimum(1.0, delta)
    weights = weights * bulk / weights.sum()
    zero = jnp.zeros((1,), s.dtype)
    return jnp.concatenate([zero, s]), jnp.concatenate([(1.0 - bulk)[None], weights])


class HiddenManifoldLimit(eqx.Module):
    """The hidden manifold model as `N, D -> infinity` with `D / N = delta`: a theory-only data
    model (nothing to sample), its spectrum on `n_nodes` Marchenko–Pastur quadrature nodes.

    **Arguments:**

    - `delta`: `D / N` (for random features in ERM, `gamma = D / p`).
    - `activation`: the generator's non-linearity `f` (its kappas enter).
    - `n_nodes`: quadrature nodes on the bulk of the spectrum.

    Example: `jaxgem.HiddenManifoldLimit(0.5, "sign")`, or `HiddenManifold.limit()`.
    """

    delta: float | Array
    activation: Activation
    n_nodes: int = eqx.field(static=True, default=128)

    def __init__(self, delta, activation: Activation | str = "sign", *, n_nodes=128):
        if is_traced(delta):  # a fitted delta, set by jaxgem.fit
            self.delta = delta
        elif isinstance(delta, bool) or not isinstance(delta, (int, float)) or not delta > 0:
            raise ValueError(f"delta = D / N must be a positive number, got {delta!r}")
        else:
            self.delta = float(delta)
        if isinstance(n_nodes, bool) or not isinstance(n_nodes, int) or n_nodes < 2:
            raise ValueError(f"n_nodes must be an integer of at least 2, got {n_nodes!r}")
        self.n_nodes = n_nodes
        self.activation = get_activation(activation)

    @property
    def kappa1(self) -> Array:
        return self.activation.kappa()[1]

    def nodes(self, dtype=None) -> tuple[Array, Array]:
        """Eigenvalues `s` of `F F^T / D` and their weights (`marchenko_pastur`), in `dtype`
        (default: JAX's default float)."""
        return marchenko_pastur(self.delta, self.n_nodes, dtype or jnp.result_type(float))

    def spectrum(self, dtype=None) -> Spectrum:
        """`rho = kappa1^2 s + kappa*^2` on the nodes (no eigenvectors)."""
        s, weights = self.nodes(dtype)
        return Spectrum(
            rho=kappa_form(self.activation, s), weights=weights, eigenvectors=None, delta=self.delta
        )

    def teacher_density(self, T: Array) -> Array:
        """`t~(s) = kappa1^2 s T` per node, `(P, M, M)` for teacher overlaps `T (M, M)`."""
        T = jnp.asarray(T)
        s, _ = self.nodes(T.dtype)
        return self.kappa1.astype(T.dtype) ** 2 * s[:, None, None] * T[None]
