"""JAX's default normal numbers, the same bits drawn faster on a CPU.

On a CPU, JAX lowers its threefry-2x32 hash (Salmon et al., "Parallel random numbers: as easy as
1, 2, 3", SC 2011) as a rolled loop over its five groups of rounds, which passes over the whole
array of counters five times. Written out round by round it draws the same bits about 2x faster.
Left to itself XLA then fuses the hash with the uniform-to-normal transform (`erf_inv`) into one
loop that is no faster than JAX's, so the bits are drawn in a loop of their own (`lax.map` over
two halves), which XLA does not fuse with what follows: normal numbers come about 1.4x faster on
one core (benchmarks/scale_out.py, section 1).

`normal(key, shape, dtype)` returns exactly `jax.random.normal(key, shape, dtype)` (bit for bit;
tests/test_threefry.py) whenever JAX's default random numbers are in use: a threefry key and
`jax_threefry_partitionable` on. Otherwise (another PRNG, the older threefry layout of
`fast_random`), on a GPU or TPU and for 2^32 numbers or more it is `jax.random.normal` itself.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["normal", "random_bits"]

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA  # the key schedule's constant


def _rotate_left(x, distance: int):
    return (x << np.uint32(distance)) | (x >> np.uint32(32 - distance))


def _threefry2x32(k0, k1, x0, x1):
    """The 20-round threefry-2x32 hash of the counters `(x0, x1)` under the key `(k0, k1)`."""
    keys = (k0, k1, k0 ^ k1 ^ np.uint32(_PARITY))
    x0, x1 = x0 + keys[0], x1 + keys[1]
    for group in range(5):
        for distance in _ROTATIONS[group % 2]:
            x0 = x0 + x1
            x1 = x0 ^ _rotate_left(x1, distance)
        x0 = x0 + keys[(group + 1) % 3]
        x1 = x1 + keys[(group + 2) % 3] + np.uint32(group + 1)
    return x0, x1


def _drawn_here(key, size: int) -> bool:
    """Whether this module draws `size` numbers for `key`: JAX's default random numbers (a typed
    threefry key, partitionable) and 1 to 2^32 - 1 numbers (one counter word)."""
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    return (
        0 < size < 2**32
        and typed
        and key.shape == ()
        and str(jax.random.key_impl(key)) == "threefry2x32"
        and bool(getattr(jax.config, "jax_threefry_partitionable", False))
    )


def random_bits(key, shape: tuple[int, ...]):
    """`jax.random.bits(key, shape, jnp.uint32)`. For JAX's default keys and fewer than 2^32
    numbers (`_drawn_here`): the hash of each element's flat index, its two output words combined
    by exclusive or, drawn in a loop of its own."""
    shape = tuple(shape)
    size = math.prod(shape)
    if not _drawn_here(key, size):
        return jax.random.bits(key, shape, jnp.uint32)
    k0, k1 = jax.random.key_data(key)
    halves = 2 if size % 2 == 0 and size > 1 else 1
    length = size // halves

    def draw(half):
        index = half * np.uint32(length) + lax.iota(jnp.uint32, length)
        high, low = _threefry2x32(k0, k1, jnp.zeros_like(index), index)
        return high ^ low

    return lax.map(draw, jnp.arange(halves, dtype=jnp.uint32)).reshape(shape)


def _normal_from_bits(bits, dtype):
    """`jax.random.normal`'s transform: 23 random mantissa bits to a uniform in (-1, 1), then
    `sqrt(2) erf^-1`."""
    one = np.array(1.0, dtype).view(np.uint32)
    mantissa = (bits >> np.uint32(32 - np.finfo(dtype).nmant)) | np.uint32(one)
    floats = lax.bitcast_convert_type(mantissa, dtype) - np.array(1.0, dtype)
    low = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
    uniform = lax.max(low, floats * (np.array(1.0, dtype) - low) + low)
    return lax.mul(np.array(np.sqrt(2), dtype), lax.erf_inv(uniform))


def normal(key, shape: tuple[int, ...], dtype=jnp.float32):
    """Standard normal numbers: `jax.random.normal(key, shape, dtype)`, drawn faster in float32
    with JAX's default random numbers on a CPU (bit for bit the same). On a GPU or TPU, whose
    threefry is not a rolled loop, and for other keys or precisions, `jax.random.normal`."""
    dtype, shape = jnp.dtype(dtype), tuple(shape)
    faster = dtype == jnp.float32 and jax.default_backend() == "cpu"
    if not (faster and _drawn_here(key, math.prod(shape))):
        return jax.random.normal(key, shape, dtype)
    return _normal_from_bits(random_bits(key, shape), dtype)
