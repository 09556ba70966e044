"""Bayes-optimal generalised linear models: priors, output channels, state evolution and its
free entropy, thresholds and GAMP (THEORY.md Sec. 8; Barbier et al., PNAS 2019)."""

from .channels import (
    Abs,
    DiscreteChannel,
    Linear,
    Logit,
    NoisyOutput,
    OutputChannel,
    ReLU,
    Sign,
    get_output_channel,
)
from .evolution import (
    BayesOptimal,
    StateEvolution,
    bayes_optimal,
    free_entropy,
    state_evolution,
)
from .gamp import GAMPExperiment, GAMPRun, evolution_per_iteration, gamp, gamp_experiment
from .priors import GaussBernoulli, Gaussian, GridPrior, Prior, Rademacher, get_prior
from .transitions import Branch, PhaseDiagram, Thresholds, branch, phase_diagram, thresholds
from .versus_erm import VersusERM, versus_erm

__all__ = [
    "Prior",
    "Gaussian",
    "Rademacher",
    "GaussBernoulli",
    "GridPrior",
    "get_prior",
    "OutputChannel",
    "Sign",
    "Linear",
    "Abs",
    "ReLU",
    "DiscreteChannel",
    "Logit",
    "NoisyOutput",
    "get_output_channel",
    "StateEvolution",
    "BayesOptimal",
    "state_evolution",
    "bayes_optimal",
    "free_entropy",
    "Branch",
    "Thresholds",
    "branch",
    "thresholds",
    "PhaseDiagram",
    "phase_diagram",
    "GAMPRun",
    "GAMPExperiment",
    "gamp",
    "gamp_experiment",
    "evolution_per_iteration",
    "VersusERM",
    "versus_erm",
]
