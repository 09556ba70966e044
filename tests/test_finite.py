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


def test_records_run_to_the_last_step_whatever_their_number():
    """Two records are the start and the end (log spacing once stopped after one step there)."""
    from jaxgem.finite.descent import _record_steps

    for spacing in ("log", "linear"):
        for n_records in (2, 3, 11):
            steps = _record_steps(200, n_records, spacing)
            assert steps[0] == 0 and steps[-1] == 200 and len(steps) == n_records, steps
        assert list(_record_steps(1, 5, spacing)) == [0, 1]


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


def _kappa_form_covariance(N, D, seed=0):
    """A sign hidden manifold's Gaussian-equivalent input covariance and the input-latent
    covariance `(Omega, Phi)` (THEORY.md Sec. 4), in numpy."""
    F = np.random.default_rng(seed).normal(size=(N, D))
    omega = 2 / np.pi * F @ F.T / D + (1 - 2 / np.pi) * np.eye(N)
    return omega, np.sqrt(2 / np.pi) * F / np.sqrt(D)


def test_covariate_theory_against_sampled_covariances_and_its_limits():
    """The deterministic equivalents on the contour against Monte Carlo: for Gaussian inputs of
    a hidden manifold's covariance (N = 600, D = 300; alpha = 0.6 with a null space and 2), the
    test and training error of gradient descent after 3, 30, 300 steps equal the average over 3
    sampled training sets of the exact finite-n formulas (2 %). With Omega = 1 the theory is the
    Marchenko–Pastur one (1e-7); the gradient flow ends at least squares (eg = (sigma_eff^2 /
    (alpha - 1) + r) / 2 for any Omega); doubling the nodes changes nothing (1e-9)."""
    from jaxgem.finite import covariate_gd_theory

    rng = np.random.default_rng(1)
    N, D, noise = 600, 300, 0.5
    omega, phi = _kappa_form_covariance(N, D)
    w, U = np.linalg.eigh(omega)
    b = rng.normal(size=D) / np.sqrt(D)
    beta = np.linalg.solve(omega, phi @ b)
    a = rng.normal(size=N) * 0.3 / np.sqrt(N) - beta
    residual = b @ b - beta @ omega @ beta
    noise_eff = noise**2 + residual
    steps = [3, 30, 300]
    for alpha in (0.6, 2.0):
        n = int(alpha * N)
        lr = 0.9 / (w.max() * (1 + alpha**-0.5) ** 2)
        theory = covariate_gd_theory(w, (U.T @ a) ** 2, alpha, lr, steps, noise=noise,
                                     residual=residual)  # fmt: skip
        sampled = []
        for _ in range(3):
            X = rng.normal(size=(n, N)) * np.sqrt(w) @ U.T
            s, V = np.linalg.eigh(X.T @ X / n)
            s, a_s = np.clip(s, 0, None), V.T @ a
            null = s < 1e-9
            for k in steps:
                P = (1 - lr * s) ** k
                fitted = np.where(null, 0, (1 - P) ** 2 / np.where(null, 1, s))
                moved = V @ (P * a_s)
                test = moved @ omega @ moved + noise_eff / n * np.einsum(
                    "ij,j,ij->", V, fitted, omega @ V
                )
                train = (
                    a_s**2 @ (s * P**2)
                    + noise_eff
                    + noise_eff / n * np.sum(np.where(null, 0, P**2 - 1))
                )
                sampled.append((0.5 * (test + residual), 0.5 * train))  # fmt: skip
        sampled = np.mean(np.reshape(sampled, (3, len(steps), 2)), axis=0)
        np.testing.assert_allclose(theory.test, sampled[:, 0], rtol=0.02)
        np.testing.assert_allclose(theory.train, sampled[:, 1], rtol=0.02)
        finer = covariate_gd_theory(w, (U.T @ a) ** 2, alpha, lr, steps, noise=noise,
                                    residual=residual, n_nodes=2048)  # fmt: skip
        np.testing.assert_allclose(finer.test, theory.test, atol=1e-9)
    flow = covariate_gd_theory(w, (U.T @ a) ** 2, 2.0, 1.0, [1e4], noise=noise,
                               residual=residual, flow=True)  # fmt: skip
    np.testing.assert_allclose(flow.test[0], 0.5 * (noise_eff / (2.0 - 1) + residual), rtol=1e-6)
    np.testing.assert_allclose(flow.train[0], 0.5 * noise_eff * (1 - 1 / 2.0), rtol=1e-6)
    for alpha in (0.5, 1.5, 3.0):
        iid = covariate_gd_theory(np.ones(300), np.full(300, 0.8 / 300), alpha, 0.2,
                                  [0, 10, 100, 1000], noise=noise)  # fmt: skip
        mp = linear_gd_theory(alpha, 0.2, [0, 10, 100, 1000], noise=noise, Q0=0.8, T=0.0)
        np.testing.assert_allclose(iid.test, mp.test, atol=1e-7)
        np.testing.assert_allclose(iid.train, mp.train, atol=1e-7)


def test_gradient_descent_on_hidden_manifold_features_follows_the_covariate_theory():
    """Gradient descent (lr = 0.2) of a linear student on sign hidden-manifold features (N = 400,
    D = 200) of a linear teacher on the latent, alpha = 0.5 and 2, 32 seeds: the test and
    training error follow the Gaussian covariate theory from each seed's own teacher and start
    within 4 standard errors of the seeds' differences (plus 2 %) at every record. Multi-pass
    SGD follows it as closely at lr = 0.05 (at lr = 0.2 its own noise lifts the test error by
    about 3 %, measured). The residual r = T - beta^T Omega beta, the part of the teacher no
    linear function of the features reaches, floors the test error. Each seed's theory is
    paired with its simulation: the theory of a seed carries its own teacher's norm."""
    import jax

    import jaxgem
    from jaxgem import finite

    data = jaxgem.HiddenManifold.random(jax.random.key(1), N=400, D=200, activation="sign")
    networks = dict(teacher=jaxgem.GaussianInit(1, "linear"),
                    student=jaxgem.GaussianInit(1, "linear", std=0.0), noise=0.5)  # fmt: skip
    gd_problem = jaxgem.Problem(data, lr=0.2, **networks)
    sgd_problem = jaxgem.Problem(data, lr=0.05, **networks)
    key = jax.random.key(0)
    for alpha in (0.5, 2.0):
        runs = [(gd_problem, finite.gradient_descent(gd_problem, key, alpha=alpha, steps=300,
                                                     n_records=9, seeds=32)),
                (sgd_problem, finite.multipass_sgd(sgd_problem, key, alpha=alpha, epochs=32,
                                                   n_records=9, seeds=32))]  # fmt: skip
        for problem, run in runs:
            theory = finite.gd_theory(problem, key, run)
            for part in ("test", "train"):
                gap = getattr(run, part)[0] - getattr(theory, part)[0]  # (seeds, records)
                sem = gap.std(axis=0, ddof=1) / np.sqrt(gap.shape[0])
                predicted = getattr(theory, part)[0].mean(0)
                assert np.all(np.abs(gap.mean(0)) < 4 * sem + 0.02 * predicted), (
                    run.method,
                    alpha,
                    part,
                    gap.mean(0) / sem,
                )
        _, gd = runs[0]
        residual = finite.linear_start(gd_problem, key, gd.seeds).residual
        assert np.all(gd.test[0].min(axis=-1) > 0.5 * residual) and residual.min() > 0.1
    with pytest.raises(ValueError, match="linear student"):
        finite.gd_theory(gd_problem.replace(student=jaxgem.GaussianInit(2, "linear")), key, gd)
    decay = jaxgem.Hyperparameters(lr=0.2, noise=0.5, weight_decay=0.1)
    with pytest.raises(ValueError, match="weight decay"):
        finite.gd_theory(gd_problem.replace(hyperparameters=decay), key, gd)
