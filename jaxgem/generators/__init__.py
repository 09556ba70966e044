"""Generators of structured inputs and their moments (THEORY.md Sec. 4).

Each name is imported on first use: a run on iid inputs does not import the flow's optax."""

from .._lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(
    __name__,
    {
        "base": ["FunctionGenerator", "Generator", "load_generator", "save_generator"],
        "convolutional": ["ConvGenerator"],
        "deep_random": ["DeepRandomGenerator", "sign_layer_recursion"],
        "digits": ["digits", "digits_flow"],
        "flax_adapter": ["FlaxGenerator"],
        "flow": ["RealNVP", "train_flow"],
        "moments": ["Moments", "MomentState", "estimate_moments", "moments_from_state"],
    },
)
