"""The committee machine: K-dimensional priors and channels, Bayes-optimal state evolution with
its free entropy, the specialisation transition and AMP (THEORY.md Sec. 9; Aubin et al.,
NeurIPS 2018)."""

from .amp import CommitteeAMPRun, committee_amp, committee_amp_experiment, evolution_steps
from .channels import CommitteeChannel, SignCommittee, SoftCommittee, get_committee_channel
from .evolution import (
    CommitteeEvolution,
    CommitteeOptimal,
    committee_evolution,
    committee_free_entropy,
    committee_optimal,
    symmetric_parts,
)
from .finite_k import (
    FiniteKBranch,
    FiniteKLandscape,
    FiniteKTransition,
    SymmetricDraws,
    finite_k_branches,
    finite_k_landscape,
    finite_k_transition,
    symmetric_draws,
    symmetric_free_entropy,
    symmetric_output_entropy,
)
from .large_k import (
    LargeKEvolution,
    LargeKTransitions,
    large_k_alpha,
    large_k_evolution,
    large_k_free_entropy,
    large_k_overlap,
    large_k_transitions,
)
from .priors import CommitteePrior, DiscreteWeights, GaussianWeights, get_committee_prior
from .transitions import CommitteeTransitions, committee_transitions, instability

__all__ = [
    "CommitteePrior",
    "GaussianWeights",
    "DiscreteWeights",
    "get_committee_prior",
    "CommitteeChannel",
    "SignCommittee",
    "SoftCommittee",
    "get_committee_channel",
    "CommitteeEvolution",
    "CommitteeOptimal",
    "committee_evolution",
    "committee_optimal",
    "committee_free_entropy",
    "symmetric_parts",
    "CommitteeTransitions",
    "committee_transitions",
    "instability",
    "CommitteeAMPRun",
    "committee_amp",
    "committee_amp_experiment",
    "evolution_steps",
    "LargeKEvolution",
    "LargeKTransitions",
    "large_k_overlap",
    "large_k_free_entropy",
    "large_k_alpha",
    "large_k_evolution",
    "large_k_transitions",
    "SymmetricDraws",
    "FiniteKBranch",
    "FiniteKTransition",
    "symmetric_draws",
    "symmetric_output_entropy",
    "symmetric_free_entropy",
    "FiniteKLandscape",
    "finite_k_landscape",
    "finite_k_branches",
    "finite_k_transition",
]
