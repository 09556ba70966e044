"""Finite training sets (issue 16, item 4): least squares by gradient descent against its exact
Marchenko–Pastur theory; multi-pass and one-pass SGD beside it; the `finite-data` preset."""

import csv
import json

import numpy as np
import pytest

from jaxgem.app.cli import main
from jaxgem.finite import linear_gd_theory


def test_linear_theory_limits_and_the_spectrum_of_a_sampled_covariance():
    """After many steps: the least-squares errors sigma^2 / (2 (alpha - 1)) and sigma^2 (1 - 1 /
    alpha) / 2 above alpha = 1, the minimum-norm interpolator's (1 - alpha) + sigma^2 alpha /
    (1 - alpha) (halved) and zero training loss below; at step 0 half the distance and the
    noise. Midway, the Marchenko–Pastur average equals the average over the eigenvalues of
    one sampled X^T X / n with N = 2000 (to 1 %)."""
    noise = 0.5
    for alpha in (0.5, 2.0, 4.0):
        th = linear_gd_theory(alpha, 0.1, [0, 10**6], noise=noise, Q0=0.2, R0=0.1, T=1.0)
        np.testing.assert_allclose([th.test[0], th.train[0]], [0.5, 0.5 + noise**2 / 2])
        if alpha > 1:
            np.testing.assert_allclose(th.test[-1], noise**2 / (2 * (alpha - 1)), rtol=1e-6)
            np.testing.assert_allclose(th.train[-1], noise**2 * (1 - 1 / alpha) / 2, rtol=1e-6)
        else:  # the distance along the null space stays: |a|^2 (1 - alpha) with |a|^2 = 1
            want = 0.5 * ((1 - alpha) * 1.0 + noise**2 * alpha / (1 - alpha))
            np.testing.assert_allclose(th.test[-1], want, rtol=1e-6)
            assert th.train[-1] < 1e-10
    N, alpha, lr, k = 2000, 1.5, 0.3, 7
    X = np.random.default_rng(0).normal(size=(int(alpha * N), N))
    s = np.linalg.eigvalsh(X.T @ X / X.shape[0])
    p = (1 - lr * s) ** k
    sampled = 0.5 * (np.mean(p**2) + noise**2 / alpha * np.mean((1 - p) ** 2 / s))
    theory = linear_gd_theory(alpha, lr, [k], noise=noise, T=1.0).test[0]
    np.testing.assert_allclose(theory, sampled, rtol=0.01)
    with pytest.raises(ValueError, match="diverges"):
        linear_gd_theory(2.0, 1.5, [1])


def test_finite_data_command_matches_the_linear_theory(tmp_path, capsys):
    """`jaxgem run finite-data` (N = 300, alpha = 0.5 and 2, 8 seeds): gradient descent's test
    and training error follow the Marchenko–Pastur theory from each seed's start within 4
    standard errors (plus 2 %) at every record; multi-pass SGD at this small step (lr / N per
    sample) follows gradient flow on the training loss as closely; below alpha = 1 GD
    interpolates (training loss -> 0) and above it overfits the noise (the test error rises
    from its minimum); reusing the data beats one-pass SGD on the same n samples. CSV, JSON,
    PNG; bad input is one line."""
    out = tmp_path / "finite"
    settings = ["data.N=300", "finite.alphas=[0.5,2.0]", "finite.gd_steps=200",
                "finite.multipass_epochs=10", "finite.n_records=11"]  # fmt: skip
    overrides = [part for setting in settings for part in ("--set", setting)]
    assert main(["run", "finite-data", "--out", str(out), "--no-progress", *overrides]) == 0
    rows = list(csv.DictReader((out / "finite.csv").open()))
    value = lambda row, key: float(row[key])  # noqa: E731
    for row in rows:
        if row["method"] == "one-pass":
            continue
        for part in ("test", "train"):
            mean, sem, theory = (value(row, f"{part}_{k}") for k in ("mean", "sem", "theory"))
            assert abs(mean - theory) < 4 * sem + 0.02 * theory + 1e-6, (row["method"], part, row)
    for alpha in ("0.5", "2.0"):
        gd = [r for r in rows if r["method"] == "gd" and r["alpha"] == alpha]
        one_pass = [r for r in rows if r["method"] == "one-pass" and r["alpha"] == alpha]
        best_gd = min(value(r, "test_mean") for r in gd)
        assert best_gd < value(one_pass[-1], "test_mean") - 0.02  # reuse helps at equal n
        if alpha == "0.5":
            assert value(gd[-1], "train_mean") < 1e-5
        else:
            assert value(gd[-1], "test_mean") > best_gd + 4 * value(gd[-1], "test_sem")
    record = json.loads((out / "run.json").read_text())
    assert record["linear_theory"] is True and record["files"]["plot"] == "finite.png"
    assert (out / "finite.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["run", "finite-data", "--out", str(tmp_path / "bad"),
                 "--set", "training.lr=[0.1,0.2]"]) == 2  # fmt: skip
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "training.lr" in line and "one" in line
