"""The wide-network (mean-field) limit of online SGD as a flow of interacting particles.

A student of `p` erf units with output scale `1/p` (`yhat = (1/p) sum_i g(lambda_i)`, readouts
fixed) learns a teacher of `k` units (`A = 1/k`, `T = P`) by online SGD at learning rate
`lr = p lr0`. In the natural time `tau = lr t / p = lr0 t` the drift is of order one and the
variance term of order `lr0 / B` (mini-batches of `B`), which vanishes in the mean-field limit;
what remains is the gradient flow of the population risk (THEORY.md Sec. 3 without the `lr^2`
terms, Sec. 6):
```
dR/dtau = -p [ (G + G^T) R + H P ],   dQ/dtau = -p [ (G + G^T) Q + H R^T + (transpose) ]
```
with `G = d eg / dQ`, `H = d eg / dR` (erf: `eg` in closed form, so both are exact by autodiff).

In high dimension the student weights split as `w_i = (m_i P^-1) B + w_i^perp`, and the
perpendicular parts of different units are orthogonal up to `O(d^-1/2)`, so (Arnaboldi, Stephan,
Krzakala, Loureiro, "From high-dimensional & mean-field dynamics to dimensionless ODEs", 2023;
Loureiro, lecture notes 2023)
```
Q = M P^-1 M^T + diag(q_perp),   R = M.
```
Each unit is then a particle `(m_i, q_i)`: its overlaps with the teacher and its perpendicular
squared norm, and the flow closes on them:
```
dm_i/dtau = -p [ sum_j S_ij m_j + H_i P ],   dq_i/dtau = -2 p S_ii q_i,   S = G + G^T
```
(the second from `dQ_ii` minus `d(m_i P^-1 m_i)`). The particles interact through `S`, a
`p x p` matrix: a step costs `O(p^2 k)` and `O(p^2)` memory, against `(K + M)^4` for the full
`K x K` ODE. As `p -> infinity` the empirical measure of the particles follows the mean-field
PDE; at finite `p` the flow from a network's own particles tracks its SGD to
`O(p^-1/2 + d^-1/2)` (Arnaboldi et al.).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

__all__ = [
    "Particles",
    "ParticleFlow",
    "draw_particles",
    "particle_flow",
    "particle_risk",
    "particles_of",
    "network_weights",
    "wasserstein1",
    "wide_problem",
    "WideComparison",
    "compare_with_sgd",
]


class Particles(eqx.Module):
    """`m (p, k)`: each unit's overlaps with the teacher units; `q (p,)`: its squared norm
    perpendicular to the teacher's span (both per input dimension, like `R` and `Q`)."""

    m: Float[Array, "p k"]
    q: Float[Array, " p"]

    @property
    def p(self) -> int:
        return self.m.shape[-2]

    def order_parameters(self, P: Array) -> tuple[Array, Array]:
        """`(Q, R)` of the high-dimensional closure `Q = m P^-1 m^T + diag(q)`, `R = m`."""
        Q = self.m @ jnp.linalg.solve(P, self.m.T) + jnp.diag(self.q)
        return Q, self.m


def _i2_erf(X: Array, da: Array, db: Array) -> Array:
    """`E[g(a) g(b)]` for erf, every pair: `(2/pi) asin(X / sqrt((1 + C_aa)(1 + C_bb)))`."""
    return (2 / math.pi) * jnp.arcsin(X / jnp.sqrt((1 + da[:, None]) * (1 + db[None, :])))


def _risk(Q: Array, R: Array, P: Array, A: Array) -> Array:
    """`eg` of `yhat = (1/p) sum_i g(lambda_i)` against `y* = A . g(nu)` (erf, THEORY.md Sec. 1)."""
    p = Q.shape[0]
    v = jnp.full((p,), 1.0 / p, Q.dtype)
    dq, dp = jnp.diagonal(Q), jnp.diagonal(P)
    student = v @ _i2_erf(Q, dq, dq) @ v
    teacher = A @ _i2_erf(P, dp, dp) @ A
    cross = v @ _i2_erf(R, dq, dp) @ A
    return 0.5 * (student + teacher - 2 * cross)


def particle_risk(particles: Particles, P: Array, A: Array) -> Array:
    """The population risk `eg` of the particles (closed form, erf)."""
    Q, R = particles.order_parameters(P)
    return _risk(Q, R, P, A)


def _velocity(tau, particles: Particles, args) -> Particles:
    """`(dm/dtau, dq/dtau)` of the particle flow (module docstring), by autodiff of the dense
    risk: the reference `_velocity_blocked` is checked against."""
    P, A = args
    Q, R = particles.order_parameters(P)
    G, H = jax.grad(_risk, argnums=(0, 1))(Q, R, P, A)
    S = G + G.T
    p = particles.p
    dm = -p * (S @ particles.m + H @ P)
    dq = -2 * p * jnp.diagonal(S) * particles.q
    return Particles(dm, dq)


def _velocity_blocked(tau, particles: Particles, args) -> Particles:
    """The same velocity as `_velocity`, from the closed-form derivatives of the erf integral
    `f(c, a, b) = (2/pi) asin(c / sqrt((1 + a)(1 + b)))`, one block of `block` rows of `S` at a
    time: `O(p^2 k)` arithmetic in `O(block p)` memory, so the pair terms stay in cache (the
    dense `_velocity` holds several `p x p` arrays and turns memory-bound beyond p ~ 1000)."""
    P, A, block = args
    m, q = particles.m, particles.q
    p = m.shape[0]
    v = 1.0 / p
    mPinv = jnp.linalg.solve(P, m.T).T  # (p, k)
    a = jnp.einsum("ik,ik->i", m, mPinv) + q  # Q_ii
    dP = jnp.diagonal(P)
    R_den = (1 + a[:, None]) * (1 + dP[None, :]) - m**2
    fc_R = (2 / math.pi) / jnp.sqrt(R_den)  # (p, k): f_c(R_in, a_i, P_nn)
    fa_R = -fc_R * m / (2 * (1 + a[:, None]))
    H = -v * A[None, :] * fc_R  # d eg / d R
    pad = (-p) % block
    index = jnp.arange(p + pad).reshape(-1, block)

    def rows(rows_index):
        i = jnp.minimum(rows_index, p - 1)
        Q_rows = mPinv[i] @ m.T  # (b, p), off-diagonal entries (the diagonal masked below)
        off = i[:, None] != jnp.arange(p)[None, :]
        den = (1 + a[i, None]) * (1 + a[None, :]) - Q_rows**2
        fc = jnp.where(off, (2 / math.pi) / jnp.sqrt(jnp.where(off, den, 1.0)), 0.0)
        fa = -fc * Q_rows / (2 * (1 + a[i, None]))
        return v * v * fc @ m, v * v * fa.sum(-1)  # (b, k), (b,)

    pair_m, pair_a = jax.lax.map(rows, index)
    pair_m, pair_a = pair_m.reshape(-1, m.shape[1])[:p], pair_a.reshape(-1)[:p]
    self_term = 0.5 * v * v * (2 / math.pi) / ((1 + a) * jnp.sqrt(1 + 2 * a))
    G_diag = self_term + pair_a - v * (A[None, :] * fa_R).sum(-1)
    S_diag = 2 * G_diag
    dm = -p * (pair_m + S_diag[:, None] * m + H @ P)
    dq = -2 * p * S_diag * q
    return Particles(dm, dq)


class ParticleFlow(NamedTuple):
    """The particles at times `tau (R,)`: `m (R, p, k)`, `q (R, p)`, and `eg (R,)`."""

    tau: np.ndarray
    m: np.ndarray
    q: np.ndarray
    eg: np.ndarray


def particle_flow(
    particles: Particles,
    taus,
    *,
    P: Array | None = None,
    A: Array | None = None,
    solver: diffrax.AbstractSolver | None = None,
    rtol: float = 1e-5,
    dt0: float = 0.01,
    max_steps: int = 2**16,
    block: int = 64,
) -> ParticleFlow:
    """Integrate the particle flow to the times `taus` (increasing, the first the start) with
    diffrax (`Tsit5` and a PID controller at `rtol`, `atol = rtol / 100`, by default).

    `P` is the teacher's `T` (default the identity) and `A` its readouts (default `1/k` each).
    The pair terms are summed `block` rows at a time (`O(block p)` memory).

    Example:
    ```python
    start = jaxgem.meanfield.draw_particles(jax.random.key(0), p=1000, k=1, spread=0.5)
    flow = jaxgem.meanfield.particle_flow(start, np.linspace(0, 5, 11))
    flow.eg            # the population risk along tau = lr t / p
    ```
    """
    k = particles.m.shape[-1]
    dtype = particles.m.dtype
    P = jnp.eye(k, dtype=dtype) if P is None else jnp.asarray(P, dtype)
    A = jnp.full((k,), 1.0 / k, dtype) if A is None else jnp.asarray(A, dtype)
    taus = np.asarray(taus, float)
    if taus.ndim != 1 or taus.size < 1 or np.any(np.diff(taus) <= 0):
        raise ValueError(f"taus must be increasing times, got {taus}")
    if isinstance(block, bool) or not isinstance(block, int) or block < 1:
        raise ValueError(f"block must be a positive integer, got {block!r}")
    solution = _solve(particles, jnp.asarray(taus, dtype), P, A, min(block, particles.p),
                      solver or diffrax.Tsit5(), rtol, dt0, max_steps)  # fmt: skip
    m, q = np.asarray(solution.m), np.asarray(solution.q)
    eg = np.asarray(jax.vmap(lambda mm, qq: particle_risk(Particles(mm, qq), P, A))(
        solution.m, solution.q))  # fmt: skip
    return ParticleFlow(taus, m, q, eg)


@eqx.filter_jit
def _solve(particles, taus, P, A, block, solver, rtol, dt0, max_steps) -> Particles:
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(_velocity_blocked), solver, t0=taus[0], t1=taus[-1], dt0=dt0,
        y0=particles, args=(P, A, block), saveat=diffrax.SaveAt(ts=taus),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=rtol / 100),
        max_steps=max_steps,
    )  # fmt: skip
    return solution.ys


def draw_particles(
    key: jax.Array,
    p: int,
    k: int = 1,
    *,
    spread: float = 0.5,
    q0: float = 1.0,
    quantiles: bool = False,
    dtype=jnp.float32,
) -> Particles:
    """`p` particles with overlaps `m ~ N(0, spread^2)` (each of `k`) and perpendicular norm
    `q0`: a wide, informed-at-random start whose histogram the flow moves.

    `quantiles=True` puts each coordinate's `p` values on the Gaussian's quantiles
    `spread Phi^-1((i + 1/2) / p)` (paired across coordinates by random permutations), so the
    empirical measure approaches its limit without sampling noise and `eg` converges in `p`
    like `1/p`."""
    if int(p) < 1 or int(k) < 1:
        raise ValueError(f"p and k must be positive integers, got p = {p!r}, k = {k!r}")
    if not spread >= 0 or not q0 > 0:
        raise ValueError(f"spread must be >= 0 and q0 > 0, got {spread!r}, {q0!r}")
    if quantiles:
        levels = jax.scipy.special.ndtri((jnp.arange(int(p), dtype=dtype) + 0.5) / int(p))
        keys = jax.random.split(key, int(k))
        columns = [levels if n == 0 else jax.random.permutation(keys[n], levels)
                   for n in range(int(k))]  # fmt: skip
        m = spread * jnp.stack(columns, axis=-1)
    else:
        m = spread * jax.random.normal(key, (int(p), int(k)), dtype)
    return Particles(m, jnp.full((int(p),), q0, dtype))


def network_weights(key: jax.Array, particles: Particles, B: Array) -> Array:
    """Student weights `(p, d)` with exactly the particles' overlaps with the teacher `B (k, d)`:
    `w_i = (m_i P^-1) B + sqrt(d q_i) u_i`, `u_i` random unit vectors orthogonal to the teacher's
    span (so `w_i . B_n / d = m_in` and `|w_i^perp|^2 / d = q_i`)."""
    B = jnp.asarray(B)
    d = B.shape[-1]
    P = B @ B.T / d
    parallel = jnp.linalg.solve(P, particles.m.T).T @ B
    noise = jax.random.normal(key, (particles.p, d), B.dtype)
    basis, _ = jnp.linalg.qr(B.T)  # (d, k) orthonormal
    noise = noise - (noise @ basis) @ basis.T
    noise = noise / jnp.linalg.norm(noise, axis=-1, keepdims=True)
    return parallel + jnp.sqrt(d * particles.q)[:, None] * noise


def particles_of(Q: Array, R: Array, T: Array) -> Particles:
    """The particles of a network's order parameters: `m = R`, `q = Q_ii - (R T^-1 R^T)_ii`."""
    Q, R, T = jnp.asarray(Q), jnp.asarray(R), jnp.asarray(T)
    parallel = jnp.einsum("...ik,...ki->...i", R, jnp.linalg.solve(T, jnp.swapaxes(R, -1, -2)))
    return Particles(R, jnp.diagonal(Q, axis1=-2, axis2=-1) - parallel)


def _pad(array: np.ndarray, records: int) -> np.ndarray:
    """`array (S, r, ...)` with NaN records appended up to `records`."""
    missing = records - array.shape[1]
    if missing <= 0:
        return array
    shape = (array.shape[0], missing) + array.shape[2:]
    return np.concatenate([array, np.full(shape, np.nan, array.dtype)], axis=1)


def wasserstein1(a, b) -> float:
    """The 1-Wasserstein distance between two one-dimensional samples (their quantile functions
    on a common grid): the mean absolute gap between matched quantiles (NaN if either holds a
    non-finite value, e.g. a diverged run)."""
    a, b = np.sort(np.ravel(a)), np.sort(np.ravel(b))
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.nan
    n = max(a.size, b.size)
    levels = (np.arange(n) + 0.5) / n
    qa = np.interp(levels, (np.arange(a.size) + 0.5) / a.size, a)
    qb = np.interp(levels, (np.arange(b.size) + 0.5) / b.size, b)
    return float(np.mean(np.abs(qa - qb)))


# ------------------------------------------------------------------- against simulated SGD
def wide_problem(
    key: jax.Array,
    p: int,
    d: int,
    *,
    k: int = 1,
    lr0: float = 0.5,
    batch_size: int = 32,
    spread: float = 0.5,
    q0: float = 1.0,
):
    """A `Problem` of online SGD in the mean-field scaling, and its particles: a fixed teacher
    of `k` Gaussian units (`A = 1/k`) in `d` dimensions, a fixed student of `p` units with output
    scale `1/p` whose overlaps are `draw_particles(spread=, q0=)` (`network_weights`),
    `lr = p lr0` (so `tau = lr0 t`), mini-batches of `batch_size` (variance weight
    `lr0 / batch_size`). Returns `(problem, particles)`, the particles measured on the weights."""
    from .data.iid import IIDGaussian
    from .networks import TwoLayerNetwork
    from .problem import Problem

    if not lr0 > 0:
        raise ValueError(f"lr0 must be positive, got {lr0!r}")
    teacher_key, particle_key, weight_key = jax.random.split(key, 3)
    B = jax.random.normal(teacher_key, (int(k), int(d)))
    W = network_weights(weight_key, draw_particles(particle_key, p, k, spread=spread, q0=q0), B)
    problem = Problem(
        IIDGaussian(int(d)),
        teacher=TwoLayerNetwork(B, jnp.full((int(k),), 1.0 / k), "erf"),
        student=TwoLayerNetwork(W, jnp.ones(int(p)), "erf", output_scaling="1/K"),
        lr=p * lr0, batch_size=batch_size,
    )  # fmt: skip
    op = problem.data.order_parameters(problem.student, problem.teacher)
    return problem, particles_of(op.Q, op.R, op.T)


class WideComparison(NamedTuple):
    """Simulated SGD of a `p`-unit network beside the particle flow from its own particles, at
    `tau = lr0 t`: `eg_sim (S, R)` and `eg_flow (R,)`; the first overlap of every unit,
    `m_sim (S, R, p)` and `m_flow (R, p)`; `distance (S, R)`, the 1-Wasserstein distance between
    each seed's histogram and the flow's; `moved (R,)`, the flow's distance from its start."""

    p: int
    d: int
    tau: np.ndarray
    eg_sim: np.ndarray
    eg_flow: np.ndarray
    m_sim: np.ndarray
    m_flow: np.ndarray
    distance: np.ndarray
    moved: np.ndarray

    def rows(self) -> list[dict]:
        S = self.eg_sim.shape[0]
        sem = lambda a: a.std(0, ddof=1) / np.sqrt(S) if S > 1 else np.full(a.shape[1], np.nan)  # noqa: E731
        eg_se, w_se = sem(self.eg_sim), sem(self.distance)
        return [
            dict(p=self.p, d=self.d, tau=float(t), eg_sgd=float(self.eg_sim[:, r].mean()),
                 eg_sgd_se=float(eg_se[r]), eg_flow=float(self.eg_flow[r]),
                 histogram_distance=float(self.distance[:, r].mean()),
                 histogram_distance_se=float(w_se[r]), flow_moved=float(self.moved[r]))
            for r, t in enumerate(self.tau)
        ]  # fmt: skip


def compare_with_sgd(
    key: jax.Array,
    p: int,
    d: int,
    taus,
    *,
    seeds: int = 4,
    progress: bool = False,
    **options,
) -> WideComparison:
    """Online SGD of `wide_problem(key, p, d, **options)` over `seeds` sample streams, recorded at
    `taus`, beside the particle flow from the network's particles."""
    from .online import simulate

    problem, start = wide_problem(key, p, d, **options)
    lr0 = float(problem.hyperparameters.lr[0]) / p
    taus = np.asarray(taus, float)
    trajectory = simulate(problem, jax.random.fold_in(key, 1), seeds=seeds, times=taus / lr0,
                          progress=progress, description=f"SGD, p = {p}")  # fmt: skip
    T = problem.data.latent_overlap(problem.teacher.w, problem.teacher.w)
    flow = particle_flow(start, taus, P=T)
    R = len(taus)  # a run that stops early (diverged) has fewer records: NaN after them
    m_sim = _pad(np.asarray(trajectory.R[0])[..., 0], R)
    eg_sim = _pad(np.asarray(trajectory.eg[0]), R)
    distance = np.array([[wasserstein1(m_sim[s, r], flow.m[r, :, 0]) for r in range(len(taus))]
                         for s in range(m_sim.shape[0])])  # fmt: skip
    moved = np.array([wasserstein1(flow.m[0, :, 0], flow.m[r, :, 0]) for r in range(len(taus))])
    return WideComparison(int(p), int(d), taus, eg_sim, flow.eg,
                          m_sim, flow.m[..., 0], distance, moved)  # fmt: skip
