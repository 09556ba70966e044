"""A generator trained on real data: a real NVP flow fitted to scikit-learn's bundled 8 x 8 digits
(1797 images, N = 64; shipped with scikit-learn, no download). Its latent is D = 64 and the
teacher reads it, so the same teacher-student experiment runs on real-data structure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from jaxtyping import PRNGKeyArray

from .base import load_generator, save_generator
from .flow import RealNVP, train_flow

__all__ = ["digits", "digits_flow"]


def digits() -> np.ndarray:
    """The 1797 digit images as a `(1797, 64)` float32 array of grey levels 0..16."""
    from sklearn.datasets import load_digits

    return load_digits().data.astype(np.float32)


def digits_flow(
    key: PRNGKeyArray,
    *,
    steps: int = 3000,
    n_layers: int = 6,
    width: int = 64,
    path: str | Path | None = None,
) -> tuple[RealNVP, np.ndarray]:
    """A `RealNVP` trained on the digits (dequantised with unit-width uniform noise) and its loss
    history (negative log-likelihood per dimension every 100 steps). With `path`, weights stored
    there are loaded instead of training (and written after training)."""
    data = digits()
    if path is not None and Path(path).exists():
        like = RealNVP(key, data.shape[1], n_layers, width)
        return load_generator(path, like), np.array([])
    flow, history = train_flow(
        data, key, n_layers=n_layers, width=width, steps=steps, dequantise=1.0
    )
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_generator(path, flow)
    return flow, history
