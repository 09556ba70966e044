"""Scale-out: runs laid out over every device and process (`RunLayout`)."""

from .layout import RUNS, RunLayout

__all__ = ["RunLayout", "RUNS"]
