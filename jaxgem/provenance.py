"""Where a result came from: versions, device and precision, stored beside every result."""

from __future__ import annotations

import platform
import sys

import jax
import numpy as np

__all__ = ["run_metadata"]


def run_metadata() -> dict:
    """Versions of jaxgem and the libraries it computes with, the device and the precision."""
    import diffrax
    import equinox
    import optimistix

    from . import __version__

    device = jax.devices()[0]
    return {
        "jaxgem": __version__,
        "jax": jax.__version__,
        "equinox": equinox.__version__,
        "diffrax": diffrax.__version__,
        "optimistix": optimistix.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": f"{device.platform}:{getattr(device, 'device_kind', '')}",
        "x64": bool(jax.config.jax_enable_x64),
    }
