"""The decline guard: no reward when a gap closes because a focus subgroup got worse.

docs/methodology.md, "Settlement". Each focus subgroup scored in the performance year
takes part; its decline is oriented by the measure's direction (baseline rate minus
performance rate when higher is better), so positive means worse. `guard_test: point`
(the default) fails the guard when some decline exceeds the contract's tolerance;
`significant` only when it exceeds it by more than z bootstrap SEs (one-sided, z from
stats.ci_level), i.e. a decline the data show beyond chance. The reference is not
guarded here: its decline is subtracted from the credited reduction
(`p4e.settlement.closure`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GuardResult:
    """The guard per element (observed, replicates...): passed, worst failing subgroup.

    Attributes:
        is_passed: (R,) no focus subgroup failed.
        worst: (R,) index into the focus subgroups of the largest failing decline (-1: none).
        decline: (R,) that decline (NaN: none).
    """

    is_passed: np.ndarray
    worst: np.ndarray
    decline: np.ndarray


def decline_guard(
    declines: np.ndarray, se: np.ndarray, present: np.ndarray, tolerance: float, z: float = 0.0
) -> GuardResult:
    """Check the focus subgroups' declines.

    Args:
        declines: (R, F) oriented declines of the focus subgroups.
        se: (F,) their bootstrap SEs (used when z > 0).
        present: (F,) subgroups that take part (scored in the performance year).
        tolerance: largest decline allowed (rate units, 0.01 = 1 pp).
        z: 0 for the point test; else the one-sided normal quantile of the significant test.
    """
    failing = present & (np.nan_to_num(declines, nan=-np.inf) - z * se > tolerance)
    if failing.shape[-1] == 0:  # no focus subgroup takes part
        none = np.zeros(failing.shape[:-1], bool)
        return GuardResult(~none, np.full(none.shape, -1), np.full(none.shape, np.nan))
    masked = np.where(failing, declines, -np.inf)
    worst = np.where(failing.any(axis=-1), np.argmax(masked, axis=-1), -1)
    decline = np.where(worst >= 0, np.max(masked, axis=-1), np.nan)
    return GuardResult(~failing.any(axis=-1), worst, decline)
