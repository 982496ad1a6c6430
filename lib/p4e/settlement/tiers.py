"""The tier tables: a closure or a self-reported share mapped to the share of a pool it earns.

A contract's tiers are points (threshold, share), increasing in both. Method
'tiers' pays the share of the highest point reached; 'linear' interpolates through
(0, 0) and the points (flat after the last one), rounded to 6 decimals. Closures
arrive rounded to 9 decimals (`p4e.settlement.closure`), so a closure of exactly a
tier point reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from p4e.config.contracts import Contract, Payout, Tier

SHARE_QUANTUM = Decimal("0.000001")
BELOW_FIRST_TIER = "below_first_tier"
LINEAR = "linear"


def reached(value: float, tiers: Sequence[Tier]) -> list[Tier]:
    """The tier points `value` reaches (its exact decimal value compared)."""
    figure = Decimal(repr(float(value)))
    return [tier for tier in tiers if figure >= tier.threshold]


def tier_share(value: float, tiers: Sequence[Tier], *, linear: bool = False) -> Decimal:
    """Share earned by `value` (closure or self-reported share) on increasing tier points.

    Args:
        value: the figure in [0, 1].
        tiers: tier points, increasing in threshold.
        linear: interpolate linearly through (0, 0) and the points (flat after the last)
            instead of taking the share of the highest point reached.
    """
    met = reached(value, tiers)
    if not linear or len(met) == len(tiers):
        return met[-1].share if met else Decimal(0)
    low = met[-1] if met else Tier(Decimal(0), Decimal(0))
    high = tiers[len(met)]
    share = low.share + (high.share - low.share) * (Decimal(repr(float(value))) - low.threshold) / (
        high.threshold - low.threshold
    )
    return share.quantize(SHARE_QUANTUM, rounding=ROUND_HALF_EVEN)


def tier_labels(closure: np.ndarray, payout: Payout) -> np.ndarray:
    """Name of the tier each closure reaches: 'closure>=<threshold>', 'below_first_tier', or
    'linear' for the linear method (vectorised; closures rounded to 9 decimals)."""
    if payout.method == "linear":
        return np.full(closure.shape, LINEAR, dtype=object)
    thresholds = np.array([float(t.threshold) for t in payout.tiers])
    index = np.searchsorted(thresholds, closure, side="right")
    names = np.array([BELOW_FIRST_TIER, *(f"closure>={t.threshold}" for t in payout.tiers)])
    return names[index].astype(object)


def completeness_outcome(
    share_self_reported: float | None, contract: Contract
) -> tuple[str, Decimal]:
    """Tier label and share of the completeness component ('no_data' when unknown)."""
    if share_self_reported is None:
        return "no_data", Decimal(0)
    met = reached(share_self_reported, contract.completeness.tiers)
    if not met:
        return BELOW_FIRST_TIER, Decimal(0)
    return f"self_reported>={met[-1].threshold}", met[-1].share
