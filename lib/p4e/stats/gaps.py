"""Equity-gap arithmetic on subgroup rates (numpy; point estimates and replicates alike).

Arrays hold subgroups on their last axis, in category order. Gaps are oriented so
that a positive gap means the focus subgroup does worse than the reference:
`sign * (p_ref - p_s)` with sign +1 for higher-is-better and -1 for lower-is-better.
"""

from __future__ import annotations

import numpy as np

SIGN = {"higher": 1.0, "lower": -1.0}


def choose_reference(
    rates: np.ndarray, n: np.ndarray, sign: float, rule: str, fixed: int | None, min_scored: float
) -> int | None:
    """Index of the reference subgroup of one (group, measure, year), or None.

    Args:
        rates: point rates per subgroup (NaN where n is 0).
        n: weighted denominators per subgroup.
        sign: +1 when higher is better, -1 when lower is better.
        rule: 'fixed' (the category `fixed`) or 'best' (best-performing scored subgroup;
            the first in category order on ties).
        fixed: index of the fixed reference category (None when the data lack it).
        min_scored: smallest denominator of a scored subgroup.
    """
    if rule == "fixed":
        return fixed
    scored = n >= min_scored
    if not scored.any():
        return None
    oriented = np.where(scored, sign * rates, -np.inf)
    return int(np.argmax(oriented))


def oriented_gaps(rates: np.ndarray, ref: int, sign: float) -> np.ndarray:
    """`sign * (p_ref - p_s)` for every subgroup s (the reference's own gap is 0)."""
    gaps: np.ndarray = sign * (rates[..., ref : ref + 1] - rates)
    return gaps


def summary(
    method: str,
    gaps: np.ndarray,
    rates: np.ndarray,
    n: np.ndarray,
    focus: np.ndarray,
    ref: int,
) -> np.ndarray:
    """The equity gap over the scored focus subgroups, per row of the leading axes.

    Args:
        method: 'weighted_mean' (denominator-weighted mean of the focus gaps), 'max'
            (largest focus gap) or 'variance' (denominator-weighted variance of the rates
            of the focus subgroups and the reference around their weighted mean).
        gaps: oriented gaps, subgroups on the last axis.
        rates: rates, same shape.
        n: weighted denominators, same shape.
        focus: boolean mask over subgroups of the scored focus subgroups (fixed across
            replicates: chosen on the point estimate).
        ref: index of the reference subgroup.

    Returns:
        The summary with the subgroup axis removed (NaN when no focus gap is defined).
    """
    if method == "max":
        masked = np.where(focus & ~np.isnan(gaps), gaps, -np.inf)
        best = masked.max(axis=-1)
        return np.where(np.isinf(best), np.nan, best)
    if method == "weighted_mean":
        members = focus & ~np.isnan(gaps)
        return _weighted_mean(np.where(members, gaps, 0.0), np.where(members, n, 0.0))
    members = focus.copy()
    members[ref] = True
    members = members & ~np.isnan(rates)
    weights = np.where(members, n, 0.0)
    centre = _weighted_mean(np.where(members, rates, 0.0), weights)
    return _weighted_mean(np.where(members, (rates - centre[..., None]) ** 2, 0.0), weights)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    total = weights.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (values * weights).sum(axis=-1) / total, np.nan)
