"""Generators of structured inputs and their moments (THEORY.md Sec. 4)."""

from .base import FunctionGenerator, Generator, load_generator, save_generator
from .convolutional import ConvGenerator
from .deep_random import DeepRandomGenerator, sign_layer_recursion
from .digits import digits, digits_flow
from .flax_adapter import FlaxGenerator
from .flow import RealNVP, train_flow
from .moments import Moments, MomentState, estimate_moments, moments_from_state

__all__ = [
    "Generator",
    "FunctionGenerator",
    "DeepRandomGenerator",
    "ConvGenerator",
    "FlaxGenerator",
    "RealNVP",
    "train_flow",
    "digits",
    "digits_flow",
    "sign_layer_recursion",
    "estimate_moments",
    "moments_from_state",
    "Moments",
    "MomentState",
    "save_generator",
    "load_generator",
]
