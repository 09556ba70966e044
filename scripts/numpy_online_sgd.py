"""Online SGD of a soft committee machine in plain NumPy (no jaxgem inside): an independent
experiment to fit jaxgem's theory to.

K = M erf units (`g(x) = erf(x / sqrt 2)`), iid Gaussian inputs, the teacher's and the student's
first layers drawn N(0, 1) once (the same networks for every seed; their overlaps are written
beside the CSV as `*.start.json`), second layers fixed to 1, squared loss, step `lr / sqrt N` on the
first layer, output noise `noise`. The generalisation error is computed from the order
parameters with the arcsine formula of Saad & Solla (1995), and written with its standard
error over the seeds as a CSV `t, eg, eg_sem` (t = steps / N).

    python scripts/numpy_online_sgd.py --lr 0.6 --out curve.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import math

import numpy as np

erf = np.vectorize(math.erf)


def generalisation_error(Q, R, T):
    """eg = (1/2) E (teacher - student)^2 for erf units with unit readouts."""

    def pair(a, b, c):  # E g(u) g(v), Var u = a, Var v = b, Cov = c
        return (2 / math.pi) * np.arcsin(c / np.sqrt((1 + a) * (1 + b)))

    K, M = R.shape
    student = sum(pair(Q[i, i], Q[j, j], Q[i, j]) for i in range(K) for j in range(K))
    teacher = sum(pair(T[n, n], T[m, m], T[n, m]) for n in range(M) for m in range(M))
    cross = sum(pair(Q[i, i], T[n, n], R[i, n]) for i in range(K) for n in range(M))
    return 0.5 * (student + teacher - 2 * cross)


def run(seed: int, N: int, K: int, lr: float, noise: float, t_max: float, records: int):
    """One seed: the networks are the same for every seed (drawn from seed 0), the inputs and
    the noise are the seed's own."""
    weights = np.random.default_rng(0)
    B = weights.normal(size=(K, N))
    w = weights.normal(size=(K, N))
    rng = np.random.default_rng(1000 + seed)
    T = B @ B.T / N
    record_steps = np.round(np.linspace(0, t_max, records) * N).astype(int)
    curve = []
    for step in range(record_steps[-1] + 1):
        if step in record_steps:
            curve.append(generalisation_error(w @ w.T / N, w @ B.T / N, T))
        x = rng.normal(size=N)
        target = erf(B @ x / math.sqrt(2 * N)).sum() + noise * rng.normal()
        fields = w @ x / math.sqrt(N)
        error = target - erf(fields / math.sqrt(2)).sum()
        slope = math.sqrt(2 / math.pi) * np.exp(-(fields**2) / 2)
        w += (lr / math.sqrt(N)) * error * slope[:, None] * x[None, :]
    return record_steps / N, np.array(curve)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=500)
    parser.add_argument("--K", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.6)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--t-max", type=float, default=10.0)
    parser.add_argument("--records", type=int, default=11)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--out", default="curve.csv")
    args = parser.parse_args()
    curves = []
    for seed in range(args.seeds):
        t, curve = run(seed, args.N, args.K, args.lr, args.noise, args.t_max, args.records)
        curves.append(curve)
    curves = np.array(curves)
    mean, sem = curves.mean(0), curves.std(0, ddof=1) / math.sqrt(args.seeds)
    weights = np.random.default_rng(0)
    B, w = weights.normal(size=(args.K, args.N)), weights.normal(size=(args.K, args.N))
    start = dict(Q=(w @ w.T / args.N).tolist(), R=(w @ B.T / args.N).tolist(),
                 T=(B @ B.T / args.N).tolist())  # fmt: skip
    with open(args.out.removesuffix(".csv") + ".start.json", "w") as handle:
        json.dump(start, handle, indent=1)
    with open(args.out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["t", "eg", "eg_sem"])
        for row in zip(t, mean, sem):
            writer.writerow([f"{value:.8g}" for value in row])
    print(f"wrote {args.out}: eg from {mean[0]:.4f} to {mean[-1]:.4f} over t = 0..{args.t_max}")


if __name__ == "__main__":
    main()
