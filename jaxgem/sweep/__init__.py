"""Scale-out: runs laid out over every device and process (`RunLayout`).

`RunLayout` is imported on first use: the command line starts JAX (`sweep.runtime`) and reads
sweep grids (`sweep.grid`) before equinox or JAX are imported."""

from .._lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__, {"layout": ["RunLayout", "RUNS"]})
