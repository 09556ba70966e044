"""The Bayes-optimal perceptron beside optimally regularised ERM: the best error any algorithm can
reach against logistic and ridge regression (l2 penalty tuned at each alpha) from the replica
equations of `jaxgem.replica` (THEORY.md Sec. 7–8; Aubin et al., NeurIPS 2020)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..replica import GaussianCovariateModel, optimal_lambda
from .channels import Sign
from .evolution import state_evolution
from .priors import Gaussian

__all__ = ["VersusERM", "versus_erm"]


class VersusERM(eqx.Module):
    """Classification errors on a grid of `alpha`: `bayes` (Bayes-optimal), `gibbs`, and for
    each ERM loss its error and optimal penalty (`erm[loss] = (error, lam)`)."""

    alpha: jax.Array
    bayes: jax.Array
    gibbs: jax.Array
    erm: dict

    def rows(self) -> list[dict]:
        """One table row per alpha."""
        rows = []
        for i, a in enumerate(self.alpha.tolist()):
            row = dict(alpha=a, bayes_optimal=float(self.bayes[i]), gibbs=float(self.gibbs[i]))
            for loss, (error, lam) in self.erm.items():
                row[f"{loss}_error"] = float(error[i])
                row[f"{loss}_lambda"] = float(lam[i])
            rows.append(row)
        return rows


def versus_erm(alphas, losses=("logistic", "square"), **options) -> VersusERM:
    """For the noiseless sign teacher with Gaussian weights: the Bayes-optimal classification
    error `arccos(sqrt(m/rho))/pi` from the state evolution, and each loss's test error at its
    optimal l2 penalty (`jaxgem.replica.optimal_lambda`, same isotropic data), in one call.
    Optimally regularised logistic regression comes within about a percent of Bayes.

    Example: `bayes.versus_erm(jnp.geomspace(0.5, 10, 16)).rows()`."""
    alphas = jnp.atleast_1d(jnp.asarray(alphas, jnp.result_type(float)))
    se = state_evolution(Gaussian(), Sign(), alphas)
    model = GaussianCovariateModel.isotropic(1.0)
    erm = {}
    for loss in losses:
        curve = optimal_lambda(model, loss, alphas, teacher="sign", **options)
        erm[loss] = (curve.test_error, jnp.broadcast_to(curve.lam, alphas.shape))
    return VersusERM(alpha=alphas, bayes=se.classification_error, gibbs=se.gibbs_error, erm=erm)
