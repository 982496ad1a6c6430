"""Which rule settles a measure: the outcome label, for the observed data and every replicate.

docs/methodology.md, "Settlement". In this order of precedence:

1. not eligible at baseline -> 'ineligible' (0). A pair ineligible only for want of a
   significant baseline gap, under a contract with a maintenance share, is a
   maintenance pair instead: 'maintenance_kept' when the guard passes and the change
   CI shows no widening beyond the elimination threshold, else 'maintenance_lost';
2. no performance gap (reference or every focus subgroup unscored) -> 'no_performance_gap';
3. the gap widened significantly (change CI above 0) under a downside -> 'downside';
4. a focus subgroup declined beyond the tolerance -> 'guard_failed' (0);
5. the credited reduction is not significant -> 'reduction_not_significant' (0);
6. eliminated (performance gap <= threshold, no reference decline beyond the
   tolerance) -> 'eliminated';
7. else the tier the closure reaches (`p4e.settlement.tiers`).

Decisions made on the whole bootstrap distribution (eligibility, widening, the
significance of the reduction, maintenance) are the observed data's and hold for every
replicate; the guard, elimination and closure are evaluated replicate by replicate, so
the replicates' labels give the probability of each tier.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from p4e.config.contracts import Contract
from p4e.settlement.tiers import LINEAR, tier_labels, tier_share

INELIGIBLE = "ineligible"
MAINTENANCE_KEPT = "maintenance_kept"
MAINTENANCE_LOST = "maintenance_lost"
NO_PERFORMANCE_GAP = "no_performance_gap"
DOWNSIDE = "downside"
GUARD_FAILED = "guard_failed"
NOT_SIGNIFICANT = "reduction_not_significant"
ELIMINATED = "eliminated"


@dataclass(frozen=True)
class Evidence:
    """What the rules look at for one measure; arrays run over (observed, replicates...).

    Attributes:
        is_eligible: the frozen eligibility.
        is_maintenance: a maintenance pair (see rule 1).
        has_performance_gap: reference and a focus subgroup scored in the year.
        is_widened: the change CI lies above 0.
        is_credit_significant: the credited reduction is positive with the contract's
            `credit_confidence`.
        is_kept: maintenance pairs: the change CI's upper bound is at most the
            elimination threshold.
        is_guard_passed: (R,) no focus subgroup declined beyond the tolerance.
        is_eliminated: (R,) performance gap at most the threshold and no reference
            decline beyond the tolerance.
        closure: (R,) the closure.
    """

    is_eligible: bool
    is_maintenance: bool
    has_performance_gap: bool
    is_widened: bool
    is_credit_significant: bool
    is_kept: bool
    is_guard_passed: np.ndarray
    is_eliminated: np.ndarray
    closure: np.ndarray


def outcome_labels(evidence: Evidence, contract: Contract) -> np.ndarray:
    """The label of the rule that settles the measure, per element of the arrays."""
    size = evidence.closure.shape
    if not evidence.is_eligible:
        if not evidence.is_maintenance:
            return np.full(size, INELIGIBLE, dtype=object)
        kept = evidence.is_guard_passed & evidence.is_kept
        return np.where(kept, MAINTENANCE_KEPT, MAINTENANCE_LOST).astype(object)
    if not evidence.has_performance_gap:
        return np.full(size, NO_PERFORMANCE_GAP, dtype=object)
    if evidence.is_widened and contract.downside_share > 0:
        return np.full(size, DOWNSIDE, dtype=object)
    labels = tier_labels(np.nan_to_num(evidence.closure, nan=0.0), contract.payout)
    labels = np.where(evidence.is_eliminated, ELIMINATED, labels)
    if not evidence.is_credit_significant:
        labels = np.full(size, NOT_SIGNIFICANT, dtype=object)
    return np.where(evidence.is_guard_passed, labels, GUARD_FAILED).astype(object)


def share_of(label: str, closure: float, contract: Contract) -> Decimal:
    """The share of the measure's pool a label earns (negative for a downside)."""
    payout = contract.payout
    if label == ELIMINATED:
        return payout.eliminated_share
    if label == MAINTENANCE_KEPT:
        return payout.maintenance_share
    if label == DOWNSIDE:
        return -contract.downside_share
    if label == LINEAR:
        return tier_share(closure, payout.tiers, linear=True)
    return next((t.share for t in payout.tiers if label == f"closure>={t.threshold}"), Decimal(0))


def shares(labels: np.ndarray, closure: np.ndarray, contract: Contract) -> np.ndarray:
    """`share_of` of every element, as floats (for distributions of the money)."""
    by_label = {label: float(share_of(label, 0.0, contract)) for label in set(labels.tolist())}
    out = np.array([by_label.get(label, 0.0) for label in labels.tolist()], dtype=np.float64)
    if contract.payout.method == "linear":
        linear = labels == LINEAR
        out[linear] = [float(share_of(LINEAR, c, contract)) for c in closure[linear]]
    return out
