"""Two-layer networks: conventions of THEORY.md Sec. 1, scalings, initialisers, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem


def test_output_follows_the_convention():
    net = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(0), 3, 50, "erf", readout="gaussian")
    x = jax.random.normal(jax.random.key(1), (4, 50))
    fields = x @ net.w.T / math.sqrt(50)
    np.testing.assert_allclose(net.fields(x), fields, rtol=1e-5)
    expected = jax.scipy.special.erf(fields / math.sqrt(2)) @ net.v
    np.testing.assert_allclose(net(x), expected, rtol=1e-5)


@pytest.mark.parametrize("scaling, factor", [("1", 1.0), ("1/K", 1 / 4), ("1/sqrt(K)", 0.5)])
def test_output_scalings(scaling, factor):
    net = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(0), 4, 10, output_scaling=scaling)
    assert net.output_scale == pytest.approx(factor)
    np.testing.assert_allclose(net.readout, factor * net.v)


def test_small_and_informed_initialisations():
    teacher = jaxgem.TwoLayerNetwork.gaussian(jax.random.key(0), 2, 4000, "erf")
    small = jaxgem.TwoLayerNetwork.small(jax.random.key(1), 2, 4000)
    assert float(jnp.std(small.w)) == pytest.approx(1e-3, rel=0.05)
    informed = jaxgem.TwoLayerNetwork.informed(jax.random.key(2), teacher, 3, overlap=0.8)
    R = informed.w @ teacher.w.T / 4000
    Q = informed.w @ informed.w.T / 4000
    assert float(R[0, 0]) == pytest.approx(0.8, abs=0.05)
    assert float(R[1, 1]) == pytest.approx(0.8, abs=0.05)
    assert float(Q[2, 2]) == pytest.approx(1.0, abs=0.05)  # the unit beyond the teacher's M
    assert abs(float(R[2, 0])) < 0.05


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: jaxgem.TwoLayerNetwork(np.ones((2, 5)), np.ones(3), "erf"), "v has shape"),
        (lambda: jaxgem.TwoLayerNetwork(np.ones(5), np.ones(5), "erf"), "w must have shape"),
        (
            lambda: jaxgem.TwoLayerNetwork(np.ones((2, 5)), np.ones(2), "erf", "1/N"),
            "output_scaling",
        ),
        (lambda: jaxgem.TwoLayerNetwork.gaussian(jax.random.key(0), 0, 5), "K must be a positive"),
        (lambda: jaxgem.TwoLayerNetwork.gaussian(jax.random.key(0), 2, 5, "foo"), "unknown activ"),
        (lambda: jaxgem.TwoLayerNetwork.gaussian(jax.random.key(0), 2, 5, readout="x"), "readout"),
    ],
)
def test_bad_networks_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()
