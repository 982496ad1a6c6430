"""Bias-corrected subgroup rates: BIRDiE's complete-pooling model, fitted by EM.

The weighted estimator counts member i in subgroup r with its imputation probability
p_ir. It is unbiased only when the outcome is independent of the subgroup given the
names and geography behind p, so it shrinks gaps toward zero whenever the outcome
depends on the subgroup itself (McCartan, Fisher, Goldin, Ho & Imai, "Estimating
racial disparities when race is not observed", JASA 2024, the BIRDiE method). BIRDiE
treats the subgroup as missing: when the outcome is independent of surname, first
name and geography given the subgroup, the subgroup rates θ_r = P(Y = 1 | R = r)
maximise the likelihood, at the fixed point of the EM map

    M(θ)_r = Σ_i c_i q_ir(θ) y_i / Σ_i c_i q_ir(θ),   q_ir(θ) ∝ p_ir θ_r^y_i (1 - θ_r)^(1 - y_i),

q being the posterior of the subgroup once the outcome is known. This is BIRDiE's
complete-pooling model (`Y ~ 1` in the authors' `birdie` R package) without its
prior, fitted by maximum likelihood per (provider group, year, measure) over the
members of the rate population (y = in the numerator); members with a reported
category have one-hot p and stay where they are. EM steps are accelerated with Newton
steps on θ - M(θ); the fit stops when no rate moves by more than `TOLERANCE`.

Bootstrap (`corrected_totals`): one EM step from θ̂ is linear in the resampled member
counts (the weights q(θ̂) are fixed), so a replicate costs one weighted sum, like the
weighted estimator's; its fixed point is, to first order, θ̂ + (I - ∂M/∂θ)⁻¹ (M_b(θ̂) - θ̂)
(the one-step linearised bootstrap; `gain` holds the inverse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from p4e.stats.resample import Totals, resample_with_posterior
from p4e.tables.vocabulary import CORRECTED, WEIGHTED

TOLERANCE = 1e-10
MAX_STEPS = 200
_STEP = 1e-6  # finite-difference step of the EM map's Jacobian


@dataclass(frozen=True)
class PosteriorFit:
    """The corrected rates of one (group, year) and what its bootstrap needs.

    Attributes:
        rates: (M, S) θ̂ per measure and subgroup (NaN where the subgroup has no weight).
        weights: (J, M, S) posterior q_ir(θ̂) of each profile per measure (0 outside the
            measure's rate population).
        gain: (M, S, S) (I - ∂M/∂θ)⁻¹ at θ̂ (identity on subgroups without weight).
    """

    rates: np.ndarray
    weights: np.ndarray
    gain: np.ndarray


def fit(probs: np.ndarray, outcomes: np.ndarray, counts: np.ndarray) -> PosteriorFit:
    """Fit the corrected rates of every measure of one (group, year).

    Args:
        probs: (J, S) subgroup probabilities of the J profiles.
        outcomes: (J, M) outcome codes (0 not in the population, 1 population, 2 numerator).
        counts: (J,) members per profile.
    """
    n_profiles, n_subgroups = probs.shape
    n_measures = outcomes.shape[1]
    rates = np.full((n_measures, n_subgroups), np.nan)
    weights = np.zeros((n_profiles, n_measures, n_subgroups))
    gain = np.tile(np.eye(n_subgroups), (n_measures, 1, 1))
    counts = counts.astype(np.float64)
    for m in range(n_measures):
        active = outcomes[:, m] >= 1
        present = counts[active] @ probs[active] > 0
        if not present.any():
            continue
        model = _Model(probs[active][:, present], outcomes[active, m] == 2, counts[active])
        theta = model.solve()
        rates[m, present] = theta
        weights[np.ix_(active, np.array([m]), present)] = model.posterior(theta)[:, None, :]
        gain[m][np.ix_(present, present)] = _inverse(np.eye(len(theta)) - model.jacobian(theta))
    return PosteriorFit(rates, weights, gain)


def estimator_totals(
    probs: np.ndarray,
    outcomes: np.ndarray,
    counts: np.ndarray,
    replicates: int,
    rng: np.random.Generator,
) -> dict[str, Totals]:
    """The weighted and the corrected totals of profiles in `sort_profiles` order, from
    the same bootstrap replicates (shapes of `resample_totals`, ALL last)."""
    fitted = fit(probs, outcomes, counts)
    weighted, posterior = resample_with_posterior(
        probs, outcomes, counts, replicates, rng, fitted.weights
    )
    return {WEIGHTED: weighted, CORRECTED: corrected_totals(weighted, posterior, fitted)}


def corrected_totals(weighted: Totals, posterior: Totals, fit: PosteriorFit) -> Totals:
    """The corrected estimator's totals, shaped like the weighted ones (ALL last).

    Args:
        weighted: `resample_totals`' weighted totals (its ALL column is kept).
        posterior: its totals under `fit.weights`, from the same replicates.
        fit: the fit whose weights they are.

    Returns:
        Denominators: the posterior member counts; numerators: the corrected rate
        (linearised per replicate, clipped to [0, 1]) times them.
    """
    theta = np.nan_to_num(fit.rates)
    with np.errstate(invalid="ignore", divide="ignore"):
        one_step = np.where(posterior.n_rep > 0, posterior.k_rep / posterior.n_rep, theta)
    replicate = theta + np.einsum("bms,mts->bmt", one_step - theta, fit.gain)
    replicate = np.clip(replicate, 0.0, 1.0)
    return Totals(
        np.concatenate([posterior.n, weighted.n[:, -1:]], axis=1),
        np.concatenate([theta * posterior.n, weighted.k[:, -1:]], axis=1),
        np.concatenate([posterior.n_rep, weighted.n_rep[..., -1:]], axis=2),
        np.concatenate([replicate * posterior.n_rep, weighted.k_rep[..., -1:]], axis=2),
    )


class _Model:
    """One measure's rate population: profiles' probabilities, outcomes and counts."""

    def __init__(self, probs: np.ndarray, numerator: np.ndarray, counts: np.ndarray):
        self.probs, self.numerator, self.counts = probs, numerator, counts
        self.in_numerator = counts * numerator

    def posterior(self, theta: np.ndarray) -> np.ndarray:
        """(J, S) q_ir(θ): the subgroup probabilities once the outcome is known."""
        likelihood = np.where(self.numerator[:, None], theta[None], 1.0 - theta[None])
        joint = self.probs * likelihood
        total = joint.sum(axis=1, keepdims=True)
        out: np.ndarray = np.divide(joint, total, out=np.zeros_like(joint), where=total > 0)
        return out

    def step(self, theta: np.ndarray) -> np.ndarray:
        """M(θ): one EM step."""
        q = self.posterior(theta)
        n, k = self.counts @ q, self.in_numerator @ q
        out: np.ndarray = np.divide(k, n, out=theta.copy(), where=n > 0)
        return out

    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """∂M/∂θ by central differences, kept inside [0, 1]."""
        columns = []
        for r in range(len(theta)):
            up, down = theta.copy(), theta.copy()
            up[r], down[r] = min(theta[r] + _STEP, 1.0), max(theta[r] - _STEP, 0.0)
            columns.append((self.step(up) - self.step(down)) / (up[r] - down[r]))
        return np.column_stack(columns)

    def solve(self) -> np.ndarray:
        """θ̂ from the weighted rates: Newton steps where they stay in [0, 1], else EM."""
        theta = self.step(np.full(self.probs.shape[1], 0.5))  # the weighted rates
        for _ in range(MAX_STEPS):
            mapped = self.step(theta)
            residual = mapped - theta
            if np.abs(residual).max() <= TOLERANCE:
                return mapped
            newton = theta + _inverse(np.eye(len(theta)) - self.jacobian(theta)) @ residual
            theta = newton if ((newton >= 0) & (newton <= 1)).all() else mapped
        return theta


def _inverse(matrix: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(matrix)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(matrix)
