"""Online SGD: the compiled engine, record schedules, the recorder and `simulate`."""

from .driver import simulate
from .engine import SimulationState, advance, observe, sgd_step
from .recorder import Checkpoint, Recorder
from .schedule import default_steps_per_block, record_blocks

__all__ = [
    "simulate",
    "SimulationState",
    "sgd_step",
    "advance",
    "observe",
    "record_blocks",
    "default_steps_per_block",
    "Recorder",
    "Checkpoint",
]
