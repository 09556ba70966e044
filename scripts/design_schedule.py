"""Learning-rate schedule design by gradient through the ODEs, measured in theory and simulation.

iid inputs, K = M = 2 erf, label noise 0.5, the error at t = 50. Four schedules, each designed
by BFGS through the ODE (`jaxgem.design_schedule`): the best constant rate (from a 24-point grid),
the 1/t decay `lr / (1 + t / tau)` (lr, tau), the power law (lr, tau, beta) and a free-form
piecewise-constant schedule on 10 intervals of 5. Then one simulation of all four (N = 1000,
common inputs per seed) against the theory. Writes `schedules.csv` and `schedules.png`.

    python scripts/design_schedule.py [--out schedule-design] [--seeds 8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import jaxgem  # noqa: E402
from jaxgem.io import save_csv  # noqa: E402

NOISE, T_FINAL = 0.5, 50.0


def problem(lr, schedule=None):
    hyper = jaxgem.Hyperparameters(
        lr=lr, noise=NOISE, schedule=schedule or jaxgem.schedules.Constant()
    )
    return jaxgem.Problem(
        jaxgem.IIDGaussian(N=1000),
        jaxgem.GaussianInit(2, "erf"),
        jaxgem.GaussianInit(2, "erf", std=0.1),
        hyper,
    )


def rate(hyper, t):
    """`lr * f(t)` of a one-run `Hyperparameters` at the times `t`."""
    schedule = jax.tree.map(lambda leaf: leaf[0], hyper.schedule)  # its one run
    return float(hyper.lr[0]) * np.asarray(jax.vmap(schedule)(jax.numpy.asarray(t)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="schedule-design")
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    key = jax.random.key(0)
    grid = np.geomspace(0.02, 2.0, 24)
    sweep = jaxgem.theory(problem(grid), np.array([0.0, T_FINAL]), key=key)
    best = float(grid[np.nanargmin(np.asarray(sweep.eg)[:, 0, -1])])
    boundaries = np.arange(5.0, T_FINAL, 5.0)
    designs = {
        "constant": jaxgem.design_schedule(problem(best), T_FINAL, {"lr": best}, key=key),
        "1/t": jaxgem.design_schedule(
            problem(4 * best, jaxgem.PowerLaw(3.0, 1.0)), T_FINAL,
            {"lr": 4 * best, "schedule.tau": 3.0}, key=key,
        ),
        "power law": jaxgem.design_schedule(
            problem(4 * best, jaxgem.PowerLaw(3.0, 1.0)), T_FINAL,
            {"lr": 4 * best, "schedule.tau": 3.0, "schedule.beta": 1.0}, key=key,
        ),
        "free-form": jaxgem.design_schedule(
            problem(1.0, jaxgem.Piecewise(boundaries, np.full(10, best))), T_FINAL,
            {"schedule.factors": np.full(10, best)}, key=key,
        ),
    }  # fmt: skip
    for name, design in designs.items():
        print(f"{name}: " + "; ".join(design.summary()), flush=True)
    # two simulations with the same key (the same inputs per seed): the constant rate, 1/t and
    # the power law as power laws (beta = 0 is constant), and the free-form schedule
    names = list(designs)
    laws = [designs[n].problem.hyperparameters for n in names[:3]]
    power_laws = problem(
        [float(h.lr[0]) for h in laws],
        jaxgem.PowerLaw(tau=[float(h.schedule.tau[0]) if n != "constant" else 1.0
                             for n, h in zip(names, laws)],
                        beta=[float(h.schedule.beta[0]) if n != "constant" else 0.0
                              for n, h in zip(names, laws)]),
    )  # fmt: skip
    print("simulating ...", flush=True)
    runs = [
        jaxgem.simulate(p, jax.random.key(1), t_max=T_FINAL, n_records=26, spacing="linear",
                        seeds=args.seeds, progress=True)
        for p in (power_laws, designs["free-form"].problem)
    ]  # fmt: skip
    t = runs[0].t
    eg = np.concatenate([r.eg for r in runs])  # (4, S, R)
    predicted = np.concatenate([np.asarray(jaxgem.theory(r).eg).mean(1) for r in runs])
    fine = np.linspace(0.0, T_FINAL, 501)
    rates = [rate(d.problem.hyperparameters, fine) for d in designs.values()]
    final = eg[:, :, -1]
    sem = final.std(1, ddof=1) / np.sqrt(args.seeds)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    print("ODE: the designed eg at t = 50 (starts from key 0); ODE at sim: from the simulation's")
    print("own starts; vs constant: paired difference with the constant rate in standard errors")
    print(
        f"{'schedule':>10} {'ODE':>9} {'ODE at sim':>11} {'sim':>9} {'sem':>8} {'vs constant':>12}"
    )
    for h, name in enumerate(names):
        paired = final[h] - final[0]
        z = paired.mean() / max(paired.std(ddof=1) / np.sqrt(args.seeds), 1e-30)
        rows.append(
            dict(schedule=name, ode_eg=designs[name].eg_final, sim_eg=final[h].mean(),
                 sim_sem=sem[h], ode_from_sim_start=predicted[h, -1], paired_z=z if h else 0.0,
                 parameters={k: np.round(v, 5).tolist() for k, v in designs[name].values.items()})
        )  # fmt: skip
        print(f"{name:>10} {designs[name].eg_final:9.5f} {predicted[h, -1]:11.5f} "
              f"{final[h].mean():9.5f} {sem[h]:8.5f} {z if h else 0.0:12.1f}")  # fmt: skip
    save_csv(out / "schedules.csv", rows)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for h, name in enumerate(names):
        left.plot(fine, rates[h], label=name)
        right.errorbar(
            t,
            eg[h].mean(0),
            yerr=eg[h].std(0, ddof=1) / np.sqrt(args.seeds),
            fmt="o",
            ms=3,
            color=f"C{h}",
        )
        right.plot(t, predicted[h], "-", color=f"C{h}", label=name)
    # fmt: skip
    left.set(xlabel="t", ylabel="learning rate", yscale="log", title="designed schedules")
    right.set(xlabel="t", ylabel="eg", yscale="log", title="simulation (dots) and ODE (lines)")
    left.legend()
    right.legend()
    fig.tight_layout()
    fig.savefig(out / "schedules.png", dpi=90)
    print(f"wrote {out / 'schedules.csv'} and {out / 'schedules.png'}")


if __name__ == "__main__":
    main()
