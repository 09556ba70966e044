"""Generators of structured inputs and their moments (THEORY.md Sec. 4)."""

from .base import FunctionGenerator, Generator, load_generator, save_generator
from .deep_random import DeepRandomGenerator, sign_layer_recursion
from .moments import Moments, MomentState, estimate_moments, moments_from_state

__all__ = [
    "Generator",
    "FunctionGenerator",
    "DeepRandomGenerator",
    "sign_layer_recursion",
    "estimate_moments",
    "moments_from_state",
    "Moments",
    "MomentState",
    "save_generator",
    "load_generator",
]
