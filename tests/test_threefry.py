"""jaxgem.threefry draws exactly JAX's default normal numbers (bit for bit), by its own path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgem
from jaxgem import threefry

SHAPES = [(1,), (5,), (7, 3), (2, 3, 4), (128, 1000)]


@pytest.mark.parametrize("shape", SHAPES)
def test_normal_is_jax_random_normal_bit_for_bit(shape):
    key = jax.random.fold_in(jax.random.key(11), 3)
    ours = np.asarray(jax.jit(threefry.normal, static_argnums=1)(key, shape))
    theirs = np.asarray(jax.random.normal(key, shape))
    np.testing.assert_array_equal(ours.view(np.uint32), theirs.view(np.uint32))


@pytest.mark.parametrize("shape", [(1,), (6,), (9, 5)])
def test_random_bits_are_jax_random_bits(shape):
    key = jax.random.key(2)
    np.testing.assert_array_equal(
        np.asarray(threefry.random_bits(key, shape)),
        np.asarray(jax.random.bits(key, shape, jnp.uint32)),
    )


def test_normal_under_vmap_over_keys():
    keys = jax.random.split(jax.random.key(5), 8)
    ours = jax.vmap(lambda k: threefry.normal(k, (10, 300)))(keys)
    theirs = jax.vmap(lambda k: jax.random.normal(k, (10, 300)))(keys)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_the_faster_path_is_taken_on_a_cpu():
    """Not a silent fallback: the bits come from a loop of their own (`lax.map`)."""
    if jax.default_backend() != "cpu":
        pytest.skip("the faster path is for a CPU")

    def jaxpr(draw):
        return str(jax.make_jaxpr(lambda k: draw(k, (4, 100)))(jax.random.key(0)))

    assert "random_bits" in jaxpr(jax.random.normal)
    ours = jaxpr(threefry.normal)
    assert "scan" in ours and "erf_inv" in ours and "random_bits" not in ours


def test_other_random_numbers_fall_back_to_jax():
    key = jax.random.key(4)
    with jax.threefry_partitionable(False):  # fast_random's older layout
        older = np.asarray(threefry.normal(key, (6, 50)))
        np.testing.assert_array_equal(older, np.asarray(jax.random.normal(key, (6, 50))))
    assert not np.array_equal(older, np.asarray(threefry.normal(key, (6, 50))))
    rbg = jax.random.key(4, impl="rbg")
    np.testing.assert_array_equal(
        np.asarray(threefry.normal(rbg, (5, 7))), np.asarray(jax.random.normal(rbg, (5, 7)))
    )
    raw = jax.random.PRNGKey(4)
    np.testing.assert_array_equal(
        np.asarray(threefry.normal(raw, (5, 7))), np.asarray(jax.random.normal(raw, (5, 7)))
    )
    half = threefry.normal(key, (3, 3), jnp.bfloat16)
    assert half.dtype == jnp.bfloat16
    np.testing.assert_array_equal(
        np.asarray(half, np.float32),
        np.asarray(jax.random.normal(key, (3, 3), jnp.bfloat16), np.float32),
    )


def test_the_data_models_draw_jax_default_numbers():
    """The simulation's inputs are what `jax.random.normal` gives: its numbers do not change."""
    key = jax.random.key(9)
    x, c = jaxgem.IIDGaussian(N=40).sample(key, 6)
    np.testing.assert_array_equal(np.asarray(x), np.asarray(jax.random.normal(key, (6, 40))))
    model = jaxgem.HiddenManifold.random(jax.random.key(1), N=30, D=20)
    x, c = model.sample(key, 5)
    np.testing.assert_array_equal(np.asarray(c), np.asarray(jax.random.normal(key, (5, 20))))


def test_a_draw_of_2_to_the_32_numbers_or_more_is_jax_own():
    """Past 2^32 numbers the counters need their high word: JAX draws them (traced, not run)."""
    key = jax.random.key(0)
    for draw in (threefry.normal, threefry.random_bits):
        jaxpr = str(jax.make_jaxpr(lambda k, draw=draw: draw(k, (2**16, 2**16)))(key))
        assert "random_bits" in jaxpr and "scan" not in jaxpr
