"""`job = "meanfield"`: the wide-network limit of the `meanfield` section — the particle flow of
the units' overlaps at several widths `p` (eg converging as `p` grows), and online SGD of
`p`-unit networks beside the flow from their own particles: eg and the histogram of the units'
overlaps with the teacher over time (`jaxgem.meanfield`).

Each flow and each comparison is saved as it finishes (`flow_p{p}.npz`, `sgd_p{p}.npz`), so an
interrupted run resumes where it stopped."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from .. import meanfield
from ..io import save_csv, save_npz
from .plotting import plot_meanfield

__all__ = ["run_meanfield"]


def _options(section: dict) -> dict:
    return dict(k=section["k"], lr0=section["lr0"], batch_size=section["batch_size"],
                spread=section["spread"])  # fmt: skip


def run_meanfield(config, out: Path, *, progress, quick, echo, files, title, save):
    section = config["meanfield"]
    key = jax.random.key(config["seed"])
    taus = np.linspace(0.0, section["tau_max"], section["n_records"])
    flows, rows = {}, []
    for p in section["flow_p"][:-1] if quick and len(section["flow_p"]) > 1 else section["flow_p"]:
        path = out / f"flow_p{p}.npz"
        if path.exists():
            with np.load(path) as f:
                flow = meanfield.ParticleFlow(*(f[k] for k in meanfield.ParticleFlow._fields))
        else:
            start = meanfield.draw_particles(jax.random.fold_in(key, p), p, section["k"],
                                             spread=section["spread"], quantiles=True)  # fmt: skip
            flow = meanfield.particle_flow(start, taus)
            save_npz(path, **flow._asdict())
            files[f"flow p = {p}"] = path.name
            save()
        flows[p] = flow
        echo(f"particle flow, p = {p}: eg {flow.eg[0]:.4f} -> {flow.eg[-1]:.5f} at tau = "
             f"{taus[-1]:g}")  # fmt: skip
        rows += [dict(p=p, tau=float(t), eg_flow=float(e)) for t, e in zip(flow.tau, flow.eg)]
    save_csv(out / "meanfield_flows.csv", rows)
    files["flows"] = "meanfield_flows.csv"
    comparisons = []
    for p in section["sgd_p"][:1] if quick else section["sgd_p"]:
        path = out / f"sgd_p{p}.npz"
        if path.exists():
            with np.load(path) as f:
                comparison = meanfield.WideComparison(
                    *(f[k].item() if f[k].ndim == 0 else f[k]
                      for k in meanfield.WideComparison._fields))  # fmt: skip
        else:
            comparison = meanfield.compare_with_sgd(
                jax.random.fold_in(key, 10_000 + p), p, section["d"], taus,
                seeds=config["seeds"], progress=progress, **_options(section),
            )  # fmt: skip
            save_npz(path, **comparison._asdict())
            files[f"SGD p = {p}"] = path.name
            save()
        comparisons.append(comparison)
        diverged = int((~np.isfinite(comparison.eg_sim[:, -1])).sum())
        if diverged:
            echo(f"SGD, p = {p}: {diverged} of {comparison.eg_sim.shape[0]} seeds diverged "
                 f"(their records end there); the flow is unaffected")  # fmt: skip
        last = comparison.rows()[-1]
        echo(f"SGD, p = {p}, d = {section['d']}: eg {last['eg_sgd']:.5f} ± "
             f"{last['eg_sgd_se']:.1g} against the flow's {last['eg_flow']:.5f}; histogram "
             f"distance {last['histogram_distance']:.4f} ± {last['histogram_distance_se']:.1g} "
             f"(the flow moved {last['flow_moved']:.3f})")  # fmt: skip
    table = [row for c in comparisons for row in c.rows()]
    save_csv(out / "meanfield.csv", table)
    files["table"] = "meanfield.csv"
    plot_meanfield(flows, comparisons, out / "meanfield.png", title=title)
    files["plot"] = "meanfield.png"
    summary = {f"p = {c.p}": c.rows()[-1] for c in comparisons}
    return table, {"meanfield": summary}
