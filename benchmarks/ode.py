"""Solve time of the spectral order-parameter ODEs (THEORY.md Sec. 5) against the number of
spectral nodes, a vmapped grid of 64 learning rates, and a NumPy fixed-step Euler baseline.

K = M = 2 erf networks, eta = 0.2, to t = 50, on a synthetic spectrum of P nodes shaped like a sign
hidden manifold's (`rho = kappa1^2 s + kappa*^2`, `s` from the Marchenko-Pastur law of ratio 2,
densities of a small random student and a Gaussian teacher); P = 500, 3072, 10^4. Measured:

- jaxgem, adaptive (Tsit5 + PID, rtol 1e-6): compile time apart from solve time;
- jaxgem, fixed-step Euler (dt = 0.01): solve time;
- a vmapped grid of 64 learning rates in [0.05, 2] (P = 500): time per point and how many
  solves finished;
- NumPy: the same equations with fixed-step Euler (dt = 0.01), the Gaussian integrals evaluated
  per index tuple in Python loops as research scripts do; timed over 200 steps and projected to
  the 5000 steps to t = 50 (stated as projected);
- the N, D -> infinity hidden manifold limit on Marchenko-Pastur nodes: solve time and
  quadrature error against the number of nodes.

    python benchmarks/ode.py [--quick] [--out benchmarks/results/ode.json]
"""

from __future__ import annotations

import argparse
import math
import time

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxgem
from jaxgem.data import Spectrum
from jaxgem.io import save_json
from jaxgem.ode import (
    Integration,
    RunArgs,
    SpectralRunArgs,
    SpectralState,
    integrate,
    spectral_vector_field,
)
from jaxgem.provenance import run_metadata

K = M = 2
T_MAX, LR, DT = 50.0, 0.2, 0.01


def synthetic_problem(P: int, seed: int = 0):
    """A spectrum and initial densities shaped like a sign hidden manifold's (delta = 1/2)."""
    rng = np.random.default_rng(seed)
    k1sq, kstar2 = 2 / math.pi, 1 - 2 / math.pi
    # Marchenko-Pastur of F F^T / D, N = 2 D: half the eigenvalues are 0, the rest MP(ratio 2)
    X = rng.normal(size=(P, P // 2)) if P <= 3072 else None
    if X is not None:
        s = np.concatenate([np.linalg.eigvalsh(X.T @ X / (P // 2)) * 2, np.zeros(P - P // 2)])
    else:  # sample the MP law by its quantiles for large P
        grid = np.linspace((1 - math.sqrt(0.5)) ** 2, (1 + math.sqrt(0.5)) ** 2, 20001)
        density = np.sqrt(np.maximum((grid[-1] - grid) * (grid - grid[0]), 0))
        cdf = np.cumsum(density) / density.sum()
        s = np.concatenate(
            [2 * np.interp(rng.uniform(size=P // 2), cdf, grid), np.zeros(P - P // 2)]
        )
    rho = k1sq * s + kstar2
    Gw = 1e-3 * rng.normal(size=(K, P))
    Gb = np.sqrt(k1sq * s) * rng.normal(size=(M, P))
    q = np.einsum("kp,lp->pkl", Gw, Gw)
    r = np.einsum("kp,np->pkn", Gw, Gb)
    t_tilde = np.einsum("np,mp->pnm", Gb, Gb)
    return rho, q, r, t_tilde


def jax_parameters(rho, t_tilde, lr):
    """The vector field's arguments: one run (`SpectralRunArgs`) and the shared spectrum."""
    P = rho.shape[0]
    erf = jaxgem.Erf()
    run = RunArgs(
        T=jnp.eye(M),
        A=jnp.ones(M),
        hyper=jax.tree.map(lambda a: a[0], jaxgem.Hyperparameters(lr, dtype=jnp.float32)),
        activation=erf,
        teacher_activation=erf,
        output_scale=1.0,
        train_second_layer=False,
    )
    spectrum = Spectrum(
        jnp.asarray(rho, jnp.float32), jnp.full((P,), 1.0 / P, jnp.float32), None, 0.5
    )
    return SpectralRunArgs(run=run, t_tilde=jnp.asarray(t_tilde, jnp.float32)), spectrum


ADAPTIVE = Integration(max_steps=100_000)  # Tsit5, PID rtol 1e-6 atol 1e-8, as jaxgem.theory
EULER = Integration(diffrax.Euler(), diffrax.ConstantStepSize(), dt0=DT, max_steps=100_000)


@eqx.filter_jit
def _adaptive(y0, params, times):
    return integrate(spectral_vector_field, y0, params, times, ADAPTIVE)


@eqx.filter_jit
def _euler(y0, params, times):
    return integrate(spectral_vector_field, y0, params, times, EULER)


@eqx.filter_jit
def _grid(y0, params, times, lrs):
    def one(lr):
        args, spectrum = params
        args = eqx.tree_at(lambda a: (a.run.hyper.lr, a.run.hyper.lr_v), args, (lr, lr))
        return integrate(spectral_vector_field, y0, (args, spectrum), times, ADAPTIVE)

    return jax.vmap(one)(lrs)


def _timed(fn, *args):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


# ------------------------------------------------------------------ the NumPy research-script way
def _erf_stein(c11, c12, c22):
    """`(E[g''(x) g(y)], E[g'(x) g'(y)])` for erf, the projections of the spectral ODEs."""
    b = 2 / math.pi / math.sqrt((1 + c11) * (1 + c22) - c12**2)
    return -c12 * b / (1 + c11), b


def _erf_i4(C):
    c = lambda a, b: C[a - 1, b - 1]  # noqa: E731
    l4 = (1 + c(1, 1)) * (1 + c(2, 2)) - c(1, 2) ** 2
    l0 = (
        l4 * c(3, 4)
        - c(2, 3) * c(2, 4) * (1 + c(1, 1))
        - c(1, 3) * c(1, 4) * (1 + c(2, 2))
        + c(1, 2) * c(1, 3) * c(2, 4)
        + c(1, 2) * c(1, 4) * c(2, 3)
    )
    l1 = (
        l4 * (1 + c(3, 3))
        - c(2, 3) ** 2 * (1 + c(1, 1))
        - c(1, 3) ** 2 * (1 + c(2, 2))
        + 2 * c(1, 2) * c(1, 3) * c(2, 3)
    )
    l2 = (
        l4 * (1 + c(4, 4))
        - c(2, 4) ** 2 * (1 + c(1, 1))
        - c(1, 4) ** 2 * (1 + c(2, 2))
        + 2 * c(1, 2) * c(1, 4) * c(2, 4)
    )
    return 4 / math.pi**2 * math.asin(np.clip(l0 / math.sqrt(l1 * l2), -1, 1)) / math.sqrt(l4)


def numpy_euler_step_time(rho, q, r, t_tilde, steps: int) -> float:
    """Seconds per Euler step of the spectral ODEs in plain NumPy with Python loops."""
    P = rho.shape[0]
    v, A, T, delta = np.ones(K), np.ones(M), np.eye(M), 0.5
    q, r = q.copy(), r.copy()
    start = time.perf_counter()
    for _ in range(steps):
        Q = np.einsum("p,pkl->kl", rho, q) / P
        R = r.sum(0) / P / math.sqrt(delta)
        C = np.block([[Q, R], [R.T, T]])
        L = K + M
        I4 = np.empty((K, K, L, L))
        for i in range(K):
            for k in range(K):
                for c in range(L):
                    for d in range(L):
                        idx = [i, k, c, d]
                        I4[i, k, c, d] = _erf_i4(C[np.ix_(idx, idx)])
        a, b = np.empty((K, K)), np.empty((K, K))
        for k in range(K):
            for j in range(K):
                a[k, j], b[k, j] = _erf_stein(Q[k, k], Q[k, j], Q[j, j])
        c_, d_ = np.empty((K, M)), np.empty((K, M))
        for k in range(K):
            for n in range(M):
                c_[k, n], d_[k, n] = _erf_stein(Q[k, k], R[k, n], T[n, n])
        alpha = -a @ v + c_ @ A
        beta = -b * v[None, :]
        gamma = d_ * A[None, :]
        u = np.concatenate([-v, A])
        variance = np.einsum("klcd,c,d->kl", I4, u, u)
        g_r = rho[:, None, None] * (alpha[None, :, None] * r + np.einsum("kj,pjm->pkm", beta, r))
        g_r += np.einsum("kn,pnm->pkm", gamma, t_tilde) / math.sqrt(delta)
        g_q = rho[:, None, None] * (alpha[None, :, None] * q + np.einsum("kj,pjl->pkl", beta, q))
        g_q += np.einsum("kn,pln->pkl", gamma, r) / math.sqrt(delta)
        first = LR * v[None, :, None] * g_q
        dq = (
            first
            + first.transpose(0, 2, 1)
            + LR**2 * rho[:, None, None] * np.outer(v, v) * variance
        )
        r = r + DT * LR * v[None, :, None] * g_r
        q = q + DT * dq
    return (time.perf_counter() - start) / steps


def manifold_limit_timing(times, node_counts):
    """`solve_manifold_limit` (sign HMM, delta = 1/2, N, D -> infinity) against the number of
    Marchenko-Pastur nodes: solve time after compilation and the change of eg(t) against the
    finest rule (its quadrature error)."""
    start = jaxgem.OrderParameters(
        Q=1e-2 * jnp.eye(K), R=jnp.zeros((K, M)), T=jnp.eye(M), v=jnp.ones(K), A=jnp.ones(M)
    )
    problem = lambda n: jaxgem.Problem(  # noqa: E731
        jaxgem.HiddenManifoldLimit(0.5, "sign", n_nodes=n),
        jaxgem.GaussianInit(M, "erf"),
        jaxgem.GaussianInit(K, "erf"),
        lr=LR,
    )
    solve = lambda n: jaxgem.theory(problem(n), times, start=start).eg.block_until_ready()  # noqa: E731
    rows, curves = [], {}
    for n in node_counts:
        first = _timed(solve, n)
        seconds = _timed(solve, n)
        curves[n] = np.asarray(solve(n))
        rows.append(dict(nodes=n, solve_s=seconds, compile_s=first - seconds))
    finest = curves[node_counts[-1]]
    print("Marchenko-Pastur limit (sign HMM, delta = 1/2), to t = 50:")
    for row in rows:
        row["max_eg_change_vs_finest"] = float(np.max(np.abs(curves[row["nodes"]] - finest)))
        print(
            f"  {row['nodes']:>4} nodes: {row['solve_s']:.3f} s (compile {row['compile_s']:.1f} s)"
            f", max |eg - eg_finest| = {row['max_eg_change_vs_finest']:.1e}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/ode.json")
    args = parser.parse_args()
    sizes = [200] if args.quick else [500, 3072, 10_000]
    times = jnp.linspace(0.0, T_MAX, 51)
    rows = []
    header = (
        f"{'nodes':>7}{'compile s':>11}{'adaptive s':>12}{'euler s':>10}"
        f"{'numpy euler s (proj.)':>23}{'speed-up':>10}"
    )
    print(header)
    print("-" * len(header))
    for P in sizes:
        rho, q, r, t_tilde = synthetic_problem(P)
        y0 = SpectralState(jnp.asarray(q, jnp.float32), jnp.asarray(r, jnp.float32), jnp.ones(K))
        params = jax_parameters(rho, t_tilde, LR)
        first = _timed(_adaptive, y0, params, times)
        adaptive = min(_timed(_adaptive, y0, params, times) for _ in range(2))
        _timed(_euler, y0, params, times)
        euler = _timed(_euler, y0, params, times)
        steps = 20 if args.quick else 200
        numpy_total = numpy_euler_step_time(rho, q, r, t_tilde, steps) * T_MAX / DT
        row = dict(
            nodes=P,
            compile_s=first - adaptive,
            adaptive_s=adaptive,
            euler_s=euler,
            numpy_euler_projected_s=numpy_total,
            speedup_vs_numpy=numpy_total / adaptive,
        )
        rows.append(row)
        print(
            f"{P:>7}{row['compile_s']:>11.2f}{adaptive:>12.3f}{euler:>10.3f}"
            f"{numpy_total:>23.1f}{numpy_total / adaptive:>10.0f}"
        )
    P = sizes[0]
    rho, q, r, t_tilde = synthetic_problem(P)
    y0 = SpectralState(jnp.asarray(q, jnp.float32), jnp.asarray(r, jnp.float32), jnp.ones(K))
    params = jax_parameters(rho, t_tilde, LR)
    lrs = jnp.linspace(0.05, 2.0, 64)
    first = _timed(_grid, y0, params, times, lrs)
    grid = _timed(_grid, y0, params, times, lrs)
    solved = int(np.sum(np.asarray(_grid(y0, params, times, lrs)[1]) == 0))
    print(
        f"vmapped grid of 64 learning rates in [0.05, 2], {P} nodes: {grid:.2f} s after "
        f"compilation ({grid / 64 * 1e3:.1f} ms per point; compile {first - grid:.1f} s); "
        f"{solved} of 64 solved"
    )
    limit = manifold_limit_timing(times, [16, 32, 64] if args.quick else [16, 32, 64, 128, 512])
    if not args.quick:
        target = rows[0]["adaptive_s"]
        print(f"target: 500 nodes to t = 50 in under 1 s after compilation: {target:.3f} s")
    result = dict(
        benchmark="ode",
        **run_metadata(),
        rows=rows,
        grid=dict(
            nodes=P, points=64, lr=[0.05, 2.0], seconds=grid, compile_s=first - grid, solved=solved
        ),
        manifold_limit=limit,
    )
    out = save_json(args.out, result)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
