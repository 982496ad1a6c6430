"""The money of a settlement in Decimal: weights, the pool, amounts rounded to cents.

docs/methodology.md, "Settlement". A measure's exact amount is pool x weight x share.
The `ineligible` rule renormalises the upside: 'renormalise' shares the measures' total
weight among the eligible ones (and maintenance pairs) in proportion to their contract
weights; 'forfeit' keeps the contract weights. A downside is capped at the measure's
contract weight: it is pool x contract weight x (-downside share), never renormalised.
The pool is rounded to cents (half up); the total is the exact sum rounded to cents
(half up); the components are floored to cents and the cents left are handed out one
by one to the largest remainders (ties: component order), so they add up to the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from p4e.config.contracts import Contract

CENT = Decimal("0.01")


def measure_weights(contract: Contract, counted: Mapping[str, bool]) -> dict[str, Decimal]:
    """Each measure's upside weight after the `ineligible` rule.

    Args:
        contract: the contract.
        counted: measure id -> eligible (or a maintenance pair).
    """
    weights = {m.measure_id: m.weight for m in contract.measures}
    if contract.ineligible == "forfeit":
        return weights
    kept = {m: w for m, w in weights.items() if counted.get(m, False)}
    kept_total = sum(kept.values(), Decimal(0))
    if kept_total == 0:
        return {m: Decimal(0) for m in weights}
    scale = sum(weights.values(), Decimal(0)) / kept_total
    return {m: kept.get(m, Decimal(0)) * scale for m in weights}


def exact_amount(
    pool: Decimal, weight: Decimal, contract_weight: Decimal, share: Decimal
) -> Decimal:
    """pool x weight x share; a downside (negative share) at the contract weight."""
    return pool * (contract_weight if share < 0 else weight) * share


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
