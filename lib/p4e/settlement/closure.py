"""The contract's equity gap and the reduction a contract credits (numpy, vectorised).

docs/methodology.md, "Settlement". The reference and the focus subgroups and their
weights are frozen at baseline (`Focus`). The contract gap of a period is
sum_s w_s max(0, g_s): each focus subgroup's oriented gap to the reference counts no
lower than 0, so a subgroup doing better than the reference cannot offset one doing
worse. The credited reduction is (baseline gap - performance gap) minus any decline of
the reference, floored at 0, so a gap that closes because the reference got worse
earns nothing for that part; closure = credited / baseline gap in [0, 1].

Arrays hold categories on their last axis; leading axes are anything (observed
figures, replicates), so one call computes the point estimate and every replicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Closure is compared with the tier points after rounding, so 0.4999999999999 is 0.5.
CLOSURE_DIGITS = 9


@dataclass(frozen=True)
class Focus:
    """A measure's reference and focus subgroups (category indices) and focus weights."""

    reference: int
    subgroups: tuple[int, ...]
    weights: tuple[float, ...]


def freeze_focus(
    n_base: np.ndarray,
    rates_base: np.ndarray,
    *,
    sign: float,
    rule: str,
    fixed: int | None,
    min_scored: float,
) -> Focus | None:
    """The focus set of a baseline: subgroups scored in every baseline year.

    Args:
        n_base: (K, S) weighted sizes per baseline year and category.
        rates_base: (S,) mean baseline rates.
        sign: +1 higher is better, -1 lower is better.
        rule: 'fixed' (the category `fixed`) or 'best' (best scored subgroup at baseline).
        fixed: index of the fixed reference.
        min_scored: smallest scored size.

    Returns:
        The focus (weights: the subgroups' mean baseline sizes, normalised), or None
        when the reference is not scored.
    """
    scored = np.asarray((n_base >= min_scored).all(axis=0))
    if rule == "best":
        candidates = np.where(scored, sign * np.nan_to_num(rates_base, nan=-np.inf), -np.inf)
        reference = int(np.argmax(candidates)) if scored.any() else None
    else:
        reference = fixed
    if reference is None or not scored[reference]:
        return None
    focus = [s for s in np.flatnonzero(scored) if s != reference]
    sizes = n_base.mean(axis=0)[focus]
    weights = sizes / sizes.sum() if focus else sizes
    return Focus(reference, tuple(int(s) for s in focus), tuple(float(w) for w in weights))


def focus_gaps(rates: np.ndarray, focus: Focus, sign: float) -> np.ndarray:
    """Oriented gaps sign * (p_ref - p_s) of the focus subgroups, (..., F)."""
    reference = rates[..., focus.reference : focus.reference + 1]
    return np.asarray(sign * (reference - rates[..., list(focus.subgroups)]))


def contract_gap(
    rates: np.ndarray, focus: Focus, sign: float, present: np.ndarray | None = None
) -> np.ndarray:
    """sum_s w_s max(0, g_s) over the focus subgroups `present` (weights renormalised).

    Args:
        rates: (..., S) rates.
        focus: the frozen focus.
        sign: +1 higher is better, -1 lower is better.
        present: (F,) focus subgroups that count (scored in the period); all when None.

    Returns:
        (...) the gap; NaN when no focus subgroup counts.
    """
    weights = np.asarray(focus.weights, dtype=np.float64)
    if present is not None:
        weights = np.where(present, weights, 0.0)
    total = weights.sum()
    if total <= 0:
        return np.full(rates.shape[:-1], np.nan)
    floored = np.maximum(focus_gaps(rates, focus, sign), 0.0)
    return np.asarray((floored * (weights / total)).sum(axis=-1))


def reference_decline(base: np.ndarray, perf: np.ndarray, focus: Focus, sign: float) -> np.ndarray:
    """The reference's oriented decline from baseline to performance (positive = worse)."""
    return np.asarray(sign * (base[..., focus.reference] - perf[..., focus.reference]))


def subgroup_declines(base: np.ndarray, perf: np.ndarray, focus: Focus, sign: float) -> np.ndarray:
    """Each focus subgroup's oriented decline (positive = worse), (..., F)."""
    idx = list(focus.subgroups)
    return np.asarray(sign * (base[..., idx] - perf[..., idx]))


def credited_reduction(
    gap_base: np.ndarray, gap_perf: np.ndarray, decline: np.ndarray
) -> np.ndarray:
    """(baseline gap - performance gap) - max(0, reference decline), floored at 0."""
    return np.asarray(np.maximum((gap_base - gap_perf) - np.maximum(decline, 0.0), 0.0))


def closure(credited: np.ndarray, gap_base: np.ndarray) -> np.ndarray:
    """credited / baseline gap, clipped to [0, 1] and rounded to CLOSURE_DIGITS decimals."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(gap_base > 0, credited / gap_base, np.nan)
    return np.asarray(np.round(np.clip(ratio, 0.0, 1.0), CLOSURE_DIGITS))
