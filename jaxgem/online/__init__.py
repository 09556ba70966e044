"""Online SGD: the compiled engine, the hyperparameter grid, record schedules and the driver."""

from .driver import run_metadata, simulate
from .engine import TRACE_COUNTS, SimulationState, advance, observe, sgd_step
from .hyperparameters import Hyperparameters
from .schedule import default_steps_per_block, record_blocks

__all__ = [
    "simulate",
    "Hyperparameters",
    "SimulationState",
    "sgd_step",
    "advance",
    "observe",
    "record_blocks",
    "default_steps_per_block",
    "run_metadata",
    "TRACE_COUNTS",
]
