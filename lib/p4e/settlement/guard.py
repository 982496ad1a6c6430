"""The decline guard: no reward when a gap closes because a subgroup got worse.

A subgroup takes part when it is scored (weighted denominator >= stats.min_scored) in
every baseline year and in the performance year; the reference subgroup takes part
like any other. Its baseline rate is the mean of its yearly baseline rates (as the
baseline gap is the mean of the yearly gaps). Its decline is oriented by the
measure's direction: `base - perf` when higher is better, `perf - base` when lower
is better. The guard fails when some decline exceeds the contract's tolerance; the
failing subgroup with the largest decline (first by name on ties) is recorded.

`guard_test: point` (the default) compares the point decline with
the tolerance. Subgroup rates of a few hundred members move by several points from
sampling alone, so a contract may choose `guard_test: significant`: the decline must
exceed the tolerance by more than z standard errors (one-sided, z from stats.ci_level,
1.645 at 0.95), i.e. a decline the data show beyond chance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from p4e.stats.gaps import SIGN
from p4e.tables.vocabulary import ALL_SUBGROUP


@dataclass(frozen=True)
class GuardResult:
    """Outcome of the guard: passed or not, and the worst declining subgroup (if any)."""

    is_passed: bool
    subgroup: str | None = None
    decline: float | None = None


@dataclass(frozen=True)
class SubgroupPeriods:
    """A subgroup scored in both periods: its rates and their bootstrap standard errors."""

    subgroup: str
    rate_baseline: float
    rate_performance: float
    se_baseline: float = 0.0
    se_performance: float = 0.0


def period_rates(
    rows: Iterable[Mapping[str, Any]], baseline_years: Sequence[int], year: int
) -> list[SubgroupPeriods]:
    """The subgroups scored in every baseline year and in the performance year.

    The baseline rate is the mean of the yearly rates; its SE assumes independent years
    (sqrt of the sum of the yearly variances, over the number of years).

    Args:
        rows: gold/subgroup_rates rows (year, subgroup, rate, se, is_scored) of one
            (group, measure).
        baseline_years: the contract's baseline years.
        year: the performance year.
    """
    baseline: dict[str, list[tuple[float, float]]] = {}
    performance: dict[str, tuple[float, float]] = {}
    for row in rows:
        if row["subgroup"] == ALL_SUBGROUP or not row["is_scored"]:
            continue
        figures = (row["rate"], row["se"] or 0.0)
        if row["year"] in baseline_years:
            baseline.setdefault(row["subgroup"], []).append(figures)
        elif row["year"] == year:
            performance[row["subgroup"]] = figures
    k = len(baseline_years)
    return [
        SubgroupPeriods(
            subgroup,
            sum(rate for rate, _ in yearly) / k,
            performance[subgroup][0],
            math.sqrt(sum(se * se for _, se in yearly)) / k,
            performance[subgroup][1],
        )
        for subgroup, yearly in sorted(baseline.items())
        if len(yearly) == k and subgroup in performance
    ]


def decline_guard(
    subgroups: Sequence[SubgroupPeriods], direction: str, tolerance: float, z: float = 0.0
) -> GuardResult:
    """Check the subgroups' declines.

    Args:
        subgroups: every subgroup scored in both periods.
        direction: 'higher' or 'lower' (which way the measure is better).
        tolerance: largest decline allowed (rate units, 0.01 = 1 pp).
        z: 0 for the point test (the decline itself must exceed the tolerance); else
            the normal quantile of a one-sided test: the decline minus z standard errors
            (sqrt(se_baseline^2 + se_performance^2)) must exceed the tolerance.

    Returns:
        The guard result; when it failed, the failing subgroup with the largest decline
        and that (point) decline.
    """
    failing = []
    for periods in subgroups:
        decline = SIGN[direction] * (periods.rate_baseline - periods.rate_performance)
        spread = z * math.hypot(periods.se_baseline, periods.se_performance)
        if decline - spread > tolerance:
            failing.append((-decline, periods.subgroup))
    if not failing:
        return GuardResult(True)
    decline, subgroup = min(failing)
    return GuardResult(False, subgroup, -decline)
