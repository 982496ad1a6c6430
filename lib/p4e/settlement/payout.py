"""The settlement rules on one group's evidence: pure Python, amounts in Decimal.

Per measure, in this order of precedence:

1. not eligible at baseline -> tier 'ineligible', share 0 (its weight is renormalised
   away or forfeited, as the contract says);
2. no performance gap (too few scored subgroups in the year) -> 'no_performance_gap', 0;
3. the gap widened significantly (change-from-baseline CI entirely above 0) and the
   contract has a downside -> 'downside', share = -downside share;
4. no baseline gap (baseline CI lower bound <= 0, i.e. the CI includes 0 or lies below
   it): the gap is *kept* when the guard passes and the performance gap is at most the
   elimination threshold or its CI lower bound is <= 0 (not significantly positive)
   -> 'no_baseline_gap_kept' with `no_baseline_gap_share`, else 'no_baseline_gap_lost', 0;
5. eliminated (performance gap <= elimination threshold, guard passing) -> 'eliminated'
   with `eliminated_share`;
6. guard failed -> 'guard_failed', 0;
7. closure (clipped to [0, 1]) through the tiers: the highest tier reached
   ('closure>=0.5'), 'below_first_tier' (0), or with method 'linear' the piecewise
   linear share through (0, 0) and the tier points ('linear', rounded to 6 decimals);
   see `p4e.settlement.tiers`.

Amounts: the pool is rounded to cents (half up); each component's exact amount is
pool x weight x share; the total is the exact sum rounded to cents (half up); the
components are floored to cents and the cents left are handed out one by one to the
largest remainders (ties: component order), so they add up to the total exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from p4e.config.contracts import Contract
from p4e.settlement.guard import GuardResult
from p4e.settlement.tiers import tier_label, tier_share

CENT = Decimal("0.01")


@dataclass(frozen=True)
class MeasureEvidence:
    """Everything the rules look at for one (group, measure, performance year).

    Gaps are oriented (positive = the focus subgroups do worse); None = not computed.
    """

    measure_id: str
    is_eligible: bool
    reasons: tuple[str, ...]
    baseline_gap: float | None
    baseline_ci_low: float | None
    performance_gap: float | None
    performance_ci_low: float | None
    change_ci_low: float | None
    guard: GuardResult


@dataclass(frozen=True)
class MeasureOutcome:
    """The verdict for one measure: closure (None without a baseline gap), flags, tier, share."""

    closure: float | None
    has_baseline_gap: bool
    is_eliminated: bool
    is_widened: bool
    tier: str
    share: Decimal


def closure(gap_base: float, gap_perf: float) -> float:
    """(gap_base - gap_perf) / gap_base clipped to [0, 1]; gap_base must be positive."""
    return min(1.0, max(0.0, (gap_base - gap_perf) / gap_base))


def measure_outcome(evidence: MeasureEvidence, contract: Contract) -> MeasureOutcome:
    """Apply the rules of the module docstring to one measure's evidence."""
    has_gap = bool(
        evidence.baseline_gap is not None
        and evidence.baseline_ci_low is not None
        and evidence.baseline_gap > 0
        and evidence.baseline_ci_low > 0
    )
    is_widened = evidence.change_ci_low is not None and evidence.change_ci_low > 0
    threshold = contract.elimination_threshold

    def outcome(
        tier: str, share: Decimal, *, value: float | None = None, is_eliminated: bool = False
    ) -> MeasureOutcome:
        return MeasureOutcome(value, has_gap, is_eliminated, is_widened, tier, share)

    if not evidence.is_eligible:
        return outcome("ineligible", Decimal(0))
    if evidence.performance_gap is None:
        return outcome("no_performance_gap", Decimal(0))
    base = evidence.baseline_gap if has_gap else None
    value = None if base is None else closure(base, evidence.performance_gap)
    if is_widened and contract.downside_share > 0:
        return outcome("downside", -contract.downside_share, value=value)
    passed = evidence.guard.is_passed
    if value is None:
        kept = passed and (
            evidence.performance_gap <= threshold
            or (evidence.performance_ci_low is not None and evidence.performance_ci_low <= 0)
        )
        if kept:
            return outcome("no_baseline_gap_kept", contract.payout.no_baseline_gap_share)
        return outcome("no_baseline_gap_lost", Decimal(0))
    if passed and evidence.performance_gap <= threshold:
        return outcome(
            "eliminated", contract.payout.eliminated_share, value=value, is_eliminated=True
        )
    if not passed:
        return outcome("guard_failed", Decimal(0), value=value)
    share = tier_share(value, contract.payout.tiers, linear=contract.payout.method == "linear")
    return outcome(tier_label(value, contract.payout), share, value=value)


def measure_weights(contract: Contract, eligible: Mapping[str, bool]) -> dict[str, Decimal]:
    """Each measure's weight after the `ineligible` rule.

    'renormalise': ineligible measures get 0 and the eligible ones share the measures'
    total weight in proportion to their contract weights (all 0 when none is eligible);
    'forfeit': the contract weights unchanged (an ineligible measure earns share 0).
    """
    weights = {m.measure_id: m.weight for m in contract.measures}
    if contract.ineligible == "forfeit":
        return weights
    kept = {m: w for m, w in weights.items() if eligible.get(m, False)}
    kept_total = sum(kept.values(), Decimal(0))
    if kept_total == 0:
        return {m: Decimal(0) for m in weights}
    scale = sum(weights.values(), Decimal(0)) / kept_total
    return {m: kept.get(m, Decimal(0)) * scale for m in weights}


def pool_amount(contract: Contract, member_months: int) -> Decimal:
    """The pool of one group and year, rounded to cents (half up)."""
    pool = contract.pool.amount
    if contract.pool.kind == "pmpm":
        pool *= member_months
    return pool.quantize(CENT, rounding=ROUND_HALF_UP)


def allocate(exact: Sequence[Decimal]) -> tuple[list[Decimal], Decimal]:
    """Round component amounts to cents so they add up to the rounded total exactly.

    Args:
        exact: the exact component amounts (may be negative).

    Returns:
        The rounded components (same order) and the total (exact sum, half up).
    """
    total = sum(exact, Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)
    floors = [a.quantize(CENT, rounding=ROUND_FLOOR) for a in exact]
    cents = int((total - sum(floors, Decimal(0))) / CENT)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:cents]:
        floors[i] += CENT
    return floors, total
