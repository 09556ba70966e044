"""Online SGD: the compiled engine, record schedules, the recorder and `simulate`."""

from .driver import simulate
from .engine import SimulationState, advance, observe, sgd_step
from .recorder import Checkpoint, Recorder
from .schedule import default_steps_per_block, record_blocks, record_times

__all__ = [
    "simulate",
    "SimulationState",
    "sgd_step",
    "advance",
    "observe",
    "record_blocks",
    "record_times",
    "default_steps_per_block",
    "Recorder",
    "Checkpoint",
]
