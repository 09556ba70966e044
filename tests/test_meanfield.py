"""The wide-network limit (issue 16, item 3): the particle flow of the units' overlaps against
the Saad–Solla drift, its convergence in p, and online SGD of p-unit networks."""

import csv
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem import meanfield
from jaxgem.app.cli import main
from jaxgem.ode.iid import OrderParameterState, RunArgs, iid_vector_field


def test_particle_velocity_is_the_saad_solla_drift_on_the_closure(x64):
    """At order parameters of the closure `Q = m P^-1 m^T + diag(q)` (p = 5 units, k = 2
    correlated teacher units, float64), `dm/dtau` is the Saad–Solla `dR/dt` without the
    variance term (`ode.iid_vector_field`, output 1/p, lr = p) and `dq/dtau` is
    `dQ_ii - 2 dm_i P^-1 m_i`, to 1e-12; the particles' risk is `generalisation_error`'s."""
    p, k = 5, 2
    m = 0.6 * jax.random.normal(jax.random.key(1), (p, k), jnp.float64)
    particles = meanfield.Particles(m, jnp.linspace(0.5, 1.5, p))
    P, A = jnp.array([[1.0, 0.2], [0.2, 0.9]]), jnp.full(k, 1 / k)
    velocity = meanfield._velocity(0.0, particles, (P, A))
    Q, R = particles.order_parameters(P)
    hyper = jax.tree.map(lambda a: a[0], jaxgem.Hyperparameters(lr=float(p), dtype=jnp.float64))
    erf = jaxgem.get_activation("erf")
    args = RunArgs(T=P, A=A, hyper=hyper, activation=erf, teacher_activation=erf,
                   output_scale=1.0, train_second_layer=False, second_order=False)  # fmt: skip
    drift = iid_vector_field(0.0, OrderParameterState(Q=Q, R=R, v=jnp.full(p, 1 / p)),
                             (args, None))  # fmt: skip
    np.testing.assert_allclose(velocity.m, drift.R, atol=1e-12)
    dq = jnp.diagonal(drift.Q) - 2 * jnp.einsum("ik,ik->i", drift.R, jnp.linalg.solve(P, R.T).T)
    np.testing.assert_allclose(velocity.q, dq, atol=1e-12)
    blocked = meanfield._velocity_blocked(0.0, particles, (P, A, 2))  # blocks of 2 rows, padded
    np.testing.assert_allclose(blocked.m, drift.R, atol=1e-12)
    np.testing.assert_allclose(blocked.q, dq, atol=1e-12)
    op = jaxgem.OrderParameters(Q=Q, R=R, T=P, v=jnp.full(p, 1 / p), A=A)
    assert float(meanfield.particle_risk(particles, P, A)) == pytest.approx(
        float(jaxgem.generalisation_error(op, "erf")), abs=1e-12
    )
    back = meanfield.particles_of(Q, R, P)
    np.testing.assert_allclose(back.q, particles.q, atol=1e-12)


def test_network_weights_carry_the_particles():
    """`network_weights` builds weights whose overlaps with the teacher are exactly the
    particles' `m` and whose perpendicular norms are `q` (d = 400)."""
    B = jax.random.normal(jax.random.key(0), (2, 400))
    particles = meanfield.draw_particles(jax.random.key(1), 30, 2, spread=0.4, quantiles=True)
    W = meanfield.network_weights(jax.random.key(2), particles, B)
    back = meanfield.particles_of(W @ W.T / 400, W @ B.T / 400, B @ B.T / 400)
    np.testing.assert_allclose(back.m, particles.m, atol=2e-5)
    np.testing.assert_allclose(back.q, particles.q, rtol=2e-4)
    with pytest.raises(ValueError, match="positive integers"):
        meanfield.draw_particles(jax.random.key(0), 0)


def test_mean_field_command_sgd_follows_the_flow_and_the_flow_converges_in_p(tmp_path):
    """`jaxgem run mean-field` with flows at p = 10, 100, 1000 and SGD of a p = 100 network
    (d = 500, lr = 50, mini-batches of 32, 2 seeds) to tau = 4.

    - The flow's eg converges in p like 1/p (quantile starts): the gap to p = 1000 shrinks at
      least 5x from p = 10 to p = 100.
    - SGD against the flow from its own particles: eg within 3 % at every time (the flow's
      finite-p error, 1.9 % at p = 100, falls to 0.03 % at p = 1000: docs/mean-field.md); the
      histogram of the units' overlaps within a 1-Wasserstein distance of 0.01 at every time,
      while the flow moves it by more than 0.5.
    - The tables, the record and the figure are written; bad input is refused in one line."""
    out = tmp_path / "mf"
    argv = ["run", "mean-field", "--out", str(out), "--seeds", "2", "--set", "meanfield.d=500",
            "--set", "meanfield.flow_p=[10,100,1000]",
            "--set", "meanfield.sgd_p=[100]"]  # fmt: skip
    assert main(argv) == 0
    flows = list(csv.DictReader(open(out / "meanfield_flows.csv")))
    eg = {
        p: np.array([float(r["eg_flow"]) for r in flows if r["p"] == str(p)])
        for p in (10, 100, 1000)
    }
    gap10, gap100 = np.abs(eg[10] - eg[1000]).max(), np.abs(eg[100] - eg[1000]).max()
    assert gap10 > 5 * gap100 > 0, (gap10, gap100)
    rows = list(csv.DictReader(open(out / "meanfield.csv")))
    assert len(rows) == 9
    for r in rows:
        assert float(r["eg_sgd"]) == pytest.approx(float(r["eg_flow"]), rel=0.03), r
        assert float(r["histogram_distance"]) < 0.01, r
    assert float(rows[-1]["flow_moved"]) > 0.5
    record = json.loads((out / "run.json").read_text())
    assert "p = 100" in record["meanfield"]
    assert (out / "meanfield.png").stat().st_size > 10_000
    assert main(argv + ["--set", "meanfield.flow_p=[0]"]) == 2
    assert main(argv + ["--set", "meanfield.lr0=-1"]) == 2
