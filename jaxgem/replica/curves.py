"""Learning-curve experiments: replica theory on a dense grid of sample complexities against
finite-size ERM at a few, written as a CSV, a PNG and a JSON record (`jaxgem curves PRESET`).

Each preset is a list of curves (features, loss, teacher, lambda). The theory of every curve is
one vmapped solve; ERM runs its seeds vmapped, one compiled call per sample size.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..io import atomic_write_bytes, save_csv, save_json
from .erm import simulate_erm
from .features import DataModelFeatures, DatasetFeatures, RandomFeatures
from .gcm import GaussianCovariateModel
from .saddle import learning_curve

__all__ = ["CurveSpec", "CURVE_PRESETS", "run_curves", "plot_curves"]


def _deep_sign(dims):
    def build(key):
        from ..data import GeneratorData
        from ..generators import DeepRandomGenerator, sign_layer_recursion

        kg, kt = jax.random.split(key)
        gen = DeepRandomGenerator.random(kg, list(dims), "sign")
        omega, phi = sign_layer_recursion(gen)
        return DataModelFeatures.random(kt, GeneratorData(gen, mean=0.0, omega=omega, phi=phi))

    return build


@dataclass(frozen=True)
class CurveSpec:
    """One curve: `build(key)` gives a `GaussianCovariateModel` with covariances or a
    `Features` map; loss, teacher, lambda; theory on `alphas`, ERM at `erm_alphas`."""

    label: str
    build: Callable
    loss: str
    teacher: str
    lam: float
    alphas: tuple = tuple(np.round(np.geomspace(0.1, 5.0, 48), 4))
    erm_alphas: tuple = (0.25, 0.5, 1.0, 2.0, 4.0)
    log_y: bool = False


def _rf(gamma, p=200):
    return CurveSpec(
        f"erf random features, D/p = {gamma}, ridge lambda = 1e-4",
        lambda key: RandomFeatures.random(key, p, int(gamma * p), "erf"),
        "square",
        "linear",
        1e-4,
        alphas=tuple(np.round(np.linspace(0.1, 3.0, 59), 4)),
        erm_alphas=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0),
        log_y=True,
    )


def _sign(loss, lam, p=200):
    return CurveSpec(
        f"{loss}, sign teacher, lambda = {lam}",
        lambda key: GaussianCovariateModel.isotropic_sample(key, p),
        loss,
        "sign",
        lam,
    )


def _digits(loss, teacher, lam=0.01):
    return CurveSpec(
        f"digits, {loss} lambda = {lam}",
        DatasetFeatures.digits,
        loss,
        teacher,
        lam,
        alphas=tuple(np.round(np.geomspace(0.2, 20.0, 48), 4)),
        erm_alphas=(0.5, 1.0, 2.0, 5.0, 10.0, 20.0),
        log_y=loss == "square",
    )


@dataclass(frozen=True)
class CurvePreset:
    description: str
    curves: list = field(default_factory=list)


CURVE_PRESETS: dict[str, CurvePreset] = {
    "rf-ridge": CurvePreset(
        "double descent: ridge on actual erf random features (p = 200) of Gaussian inputs, "
        "against the replica curve of their Gaussian equivalent",
        [_rf(0.5), _rf(1.0), _rf(2.0)],
    ),
    "logistic-sign": CurvePreset(
        "logistic regression on the isotropic sign teacher (p = 200)",
        [_sign("logistic", 0.1), _sign("logistic", 0.01)],
    ),
    "hinge-sign": CurvePreset(
        "support vector machine (hinge) on the isotropic sign teacher (p = 200)",
        [_sign("hinge", 0.1), _sign("hinge", 0.01)],
    ),
    "square-sign": CurvePreset(
        "square loss on sign labels (l2 classification), isotropic (p = 200)",
        [_sign("square", 0.1), _sign("square", 0.01)],
    ),
    "deep-sign-features": CurvePreset(
        "logistic regression on inputs of a deep random sign generator (D = 50 -> 200 -> 400), "
        "teacher on the latent, against the curve of the layer recursion's moments",
        [
            CurveSpec(
                "deep sign generator, logistic lambda = 0.01",
                _deep_sign((50, 200, 400)),
                "logistic",
                "sign",
                0.01,
            )
        ],
    ),
    "digits": CurvePreset(
        "real data: scikit-learn's digits (61 standardised pixels), random linear teacher; ERM "
        "on the images against the curve of their empirical covariance",
        [_digits("logistic", "sign"), _digits("square", "linear")],
    ),
}


def run_curves(
    name: str, out_dir, *, seeds: int = 8, seed: int = 0, quick: bool = False, echo=print
) -> list[dict]:
    """Run a preset: write `curves.csv` (one row per curve, kind (theory or erm) and alpha, with
    test error, training loss and their standard errors), `curves.png` and `run.json`."""
    if name not in CURVE_PRESETS:
        raise ValueError(f"unknown curve preset {name!r}; choose from {sorted(CURVE_PRESETS)}")
    preset = CURVE_PRESETS[name]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    key = jax.random.key(seed)
    rows: list[dict] = []
    started = time.perf_counter()
    for c, spec in enumerate(preset.curves):
        source = spec.build(jax.random.fold_in(key, c))
        model = source if isinstance(source, GaussianCovariateModel) else source.model()
        curve = learning_curve(
            model, spec.loss, jnp.asarray(spec.alphas), spec.lam, teacher=spec.teacher
        )
        for row in curve.rows():
            rows.append(
                dict(
                    curve=spec.label,
                    kind="theory",
                    alpha=row["alpha"],
                    test_error=row["test_error"],
                    test_error_sem=0.0,
                    train_loss=row["train_loss"],
                    train_loss_sem=0.0,
                    status=row["status"],
                )
            )
        erm_alphas = spec.erm_alphas[::2] if quick else spec.erm_alphas
        for i, alpha in enumerate(erm_alphas):
            erm = simulate_erm(
                source,
                spec.loss,
                float(alpha),
                spec.lam,
                jax.random.fold_in(key, 1000 * c + i),
                seeds=seeds,
                teacher=spec.teacher,
            )
            rows.append(
                dict(
                    curve=spec.label,
                    kind="erm",
                    alpha=float(alpha),
                    test_error=float(erm.mean()),
                    test_error_sem=float(erm.sem()),
                    train_loss=float(erm.mean("train_loss")),
                    train_loss_sem=float(erm.sem("train_loss")),
                    status=f"{seeds} seeds",
                )
            )
            echo(
                f"{spec.label}: alpha = {alpha:g}, ERM test error {float(erm.mean()):.4f} "
                f"± {float(erm.sem()):.4f}"
            )
        save_csv(out / "curves.csv", rows)
    plot_curves(
        rows,
        out / "curves.png",
        title=preset.description,
        log_y={s.label: s.log_y for s in preset.curves},
    )
    save_json(
        out / "run.json",
        {
            "preset": name,
            "description": preset.description,
            "seeds": seeds,
            "seed": seed,
            "quick": quick,
            "seconds": time.perf_counter() - started,
            "files": {"table": "curves.csv", "plot": "curves.png"},
        },
    )
    echo(f"wrote {out}/curves.csv, curves.png, run.json")
    return rows


def plot_curves(rows: list[dict], path, *, title: str = "", log_y: dict | None = None) -> Path:
    """Test error and training loss against alpha: theory lines, ERM points with error bars."""
    import io
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    labels = list(dict.fromkeys(r["curve"] for r in rows))
    for label in labels:
        theory = [r for r in rows if r["curve"] == label and r["kind"] == "theory"]
        erm = [r for r in rows if r["curve"] == label and r["kind"] == "erm"]
        for ax, name in zip(axes, ("test_error", "train_loss")):
            (line,) = ax.plot([r["alpha"] for r in theory], [r[name] for r in theory], label=label)
            ax.errorbar(
                [r["alpha"] for r in erm],
                [r[name] for r in erm],
                yerr=[r[f"{name}_sem"] for r in erm],
                fmt="o",
                ms=4,
                color=line.get_color(),
            )
            if log_y and log_y.get(label):
                ax.set_yscale("log")
    for ax, name in zip(axes, ("test error", "training loss")):
        ax.set_xlabel("alpha = n / p")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7, title="lines: replica theory, points: ERM", title_fontsize=7)
    if title:
        fig.suptitle(textwrap.fill(title, 110), fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())
