"""The sign committee's specialisation threshold at finite odd K (committee-symmetric Monte Carlo,
`jaxgem.committee.finite_k`) against its K -> infinity limit (`large_k`): alpha_spec / K and the
spinodal for K = 3 ... 129, extrapolated in 1/K by weighted least squares (`a + b/K + c/K^2`
over K >= 9, the intercept with its standard error and the fit's chi^2) beside the limit's
7.680 and the published ~ 7.65 (THEORY.md Sec. 9).

    python scripts/committee_finite_k.py [--samples 8000] [--K 3 5 9 17 33 65 129] [--out DIR]

Writes DIR/finite_k.json (every threshold, the fit, timings, provenance), finite_k.csv and
finite_k.png (default DIR: runs/committee_finite_k). About 5 minutes on two CPU cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from jaxgem import committee  # noqa: E402
from jaxgem.app.plotting import _pyplot  # noqa: E402
from jaxgem.io import save_csv, save_json  # noqa: E402
from jaxgem.provenance import run_metadata  # noqa: E402


def extrapolate(K, ratio, error):
    """Weighted least squares of `ratio = a + b / K + c / K^2`: `(a, SE(a), coefficients,
    chi^2, degrees of freedom)`."""
    x = 1 / np.asarray(K, float)
    design = np.stack([np.ones_like(x), x, x**2], axis=1) / np.asarray(error)[:, None]
    target = np.asarray(ratio) / np.asarray(error)
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    covariance = np.linalg.inv(design.T @ design)
    chi2 = float(np.sum((design @ coefficients - target) ** 2))
    return float(coefficients[0]), float(np.sqrt(covariance[0, 0])), coefficients, chi2, len(x) - 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=8000)
    parser.add_argument("--K", type=int, nargs="+", default=[3, 5, 9, 17, 33, 65, 129])
    parser.add_argument("--out", type=Path, default=Path("runs/committee_finite_k"))
    parser.add_argument("--fit-from", type=int, default=9, help="the smallest K in the fit")
    args = parser.parse_args()
    limit = committee.large_k_transitions()
    rows = []
    for K in args.K:
        start = time.perf_counter()
        t = committee.finite_k_transition(K, samples=args.samples)
        seconds = time.perf_counter() - start
        rows.append(dict(K=K, alpha_spec_over_K=t.alpha_spec / K, error=t.alpha_spec_error / K,
                         spinodal_over_K=t.spinodal / K, spec_q_d=t.spec_q_d,
                         error_non_specialised=t.error_non_specialised,
                         error_specialised=t.error_specialised, seconds=seconds))  # fmt: skip
        print(f"K = {K:4d}: alpha_spec/K = {t.alpha_spec / K:.3f} ± {t.alpha_spec_error / K:.3f}"
              f", spinodal/K = {t.spinodal / K:.3f}, q_d = {t.spec_q_d:.3f}, errors "
              f"{t.error_non_specialised:.4f} -> {t.error_specialised:.4f} ({seconds:.0f} s)",
              flush=True)  # fmt: skip
    K = np.array([r["K"] for r in rows])
    ratio = np.array([r["alpha_spec_over_K"] for r in rows])
    error = np.array([r["error"] for r in rows])
    fitted = K >= args.fit_from
    a, a_error, coefficients, chi2, dof = extrapolate(K[fitted], ratio[fitted], error[fitted])
    print(f"extrapolated to K -> infinity (a + b/K + c/K^2, K >= {args.fit_from}, chi^2 = "
          f"{chi2:.2f} for {dof} degrees of freedom): {a:.3f} ± {a_error:.3f}; the large-K limit "
          f"{limit.alpha_spec:.3f} ({(a - limit.alpha_spec) / a_error:+.1f} SE), published ~ 7.65"
          )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    save_csv(args.out / "finite_k.csv", rows)
    save_json(args.out / "finite_k.json", dict(
        thresholds=rows, samples=args.samples, extrapolated=a, extrapolated_error=a_error,
        fit=f"a + b / K + c / K^2 over K >= {args.fit_from}, weighted by the Monte Carlo errors",
        chi2=chi2, degrees_of_freedom=dof,
        large_k_alpha_spec=limit.alpha_spec, large_k_spinodal=limit.spinodal,
        provenance=run_metadata(),
    ))  # fmt: skip
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=120)
    x = 1 / K
    ax.errorbar(x, ratio, yerr=error, fmt="o", ms=4, label="alpha_spec / K (Monte Carlo)")
    ax.plot(x, [r["spinodal_over_K"] for r in rows], "s", ms=4, label="spinodal / K")
    fine = np.linspace(0, 1 / args.fit_from, 100)
    ax.plot(fine, np.polyval(coefficients[::-1], fine), "C0--", lw=0.8,
            label=f"fit a + b/K + c/K^2 (K >= {args.fit_from}): "
                  f"a = {a:.2f} ± {a_error:.2f}")  # fmt: skip
    ax.plot([0], [limit.alpha_spec], "*C3", ms=10, label=f"K -> infinity: {limit.alpha_spec:.3f}")
    ax.plot(
        [0], [limit.spinodal], "*C1", ms=8, label=f"spinodal, K -> infinity: {limit.spinodal:.3f}"
    )
    ax.set_xlabel("1 / K")
    ax.set_ylabel("alpha / K")
    ax.set_title("sign committee, Gaussian weights: specialisation at finite K", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out / "finite_k.png")
    print(f"wrote {args.out}/finite_k.json, finite_k.csv, finite_k.png")


if __name__ == "__main__":
    main()
