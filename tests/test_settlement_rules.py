"""The settlement rules on hand-made figures: the contract gap, the credited reduction, the
guard, the rule precedence, the tiers and the money (no Spark)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from p4e.config.contracts import parse_contract
from p4e.settlement import rules as R
from p4e.settlement.closure import (
    Focus,
    closure,
    contract_gap,
    credited_reduction,
    freeze_focus,
    reference_decline,
)
from p4e.settlement.guard import decline_guard
from p4e.settlement.payout import allocate, exact_amount, measure_weights
from p4e.settlement.tiers import tier_labels, tier_share

D = Decimal
CONTRACT = parse_contract(
    Path("c.yaml"),
    {
        "id": "C",
        "groups": ["G"],
        "term": {"start_year": 2023, "years": 3},
        "baseline_years": [2021, 2022],
        "dimension": "race_ethnicity",
        "measures": [{"id": "COL", "weight": 0.5}, {"id": "WCV", "weight": 0.3}],
        "payout": {
            "tiers": [
                {"closure": 0.25, "share": 0.25},
                {"closure": 0.5, "share": 0.5},
                {"closure": 0.75, "share": 0.75},
            ],
        },
        "downside": {"share": 0.25},
        "completeness": {"weight": 0.2, "tiers": [{"self_reported": 0.5, "share": 1}]},
        "pool": {"fixed": 1000},
    },
    {"COL", "WCV"},
)
# categories: 0 white (reference), 1 black, 2 hispanic, 3 asian
FOCUS = Focus(reference=0, subgroups=(1, 2, 3), weights=(0.5, 0.3, 0.2))


def test_focus_is_frozen_from_the_baseline_sizes():
    n = np.array([[400, 200, 120, 20], [380, 220, 110, 40]], dtype=float)
    rates = np.array([0.8, 0.6, 0.65, 0.9])
    fixed = freeze_focus(n, rates, sign=1.0, rule="fixed", fixed=0, min_scored=30)
    assert fixed is not None
    assert (fixed.reference, fixed.subgroups) == (0, (1, 2))  # asian not scored in 2021
    assert fixed.weights == pytest.approx((210 / 325, 115 / 325))
    best = freeze_focus(n, rates, sign=1.0, rule="best", fixed=None, min_scored=30)
    assert best is not None and best.reference == 0  # asian's .9 is not scored
    assert freeze_focus(n, rates, sign=1.0, rule="fixed", fixed=3, min_scored=30) is None


def test_a_focus_subgroup_doing_better_cannot_offset_one_doing_worse():
    rates = np.array([0.80, 0.60, 0.90, 0.80])  # black -20, hispanic +10, asian 0
    assert contract_gap(rates, FOCUS, 1.0) == pytest.approx(0.5 * 0.20)  # not 0.5*.2-0.3*.1
    lower_is_better = np.array([0.20, 0.40, 0.10, 0.20])
    assert contract_gap(lower_is_better, FOCUS, -1.0) == pytest.approx(0.5 * 0.20)
    only_black = np.array([True, False, False])
    assert contract_gap(rates, FOCUS, 1.0, only_black) == pytest.approx(0.20)


def test_a_reference_decline_is_not_credited():
    base = np.array([0.80, 0.60, 0.60, 0.60])
    closes_by_decline = np.array([0.70, 0.60, 0.60, 0.60])  # gap .20 -> .10, ref -.10
    genuine = np.array([0.80, 0.70, 0.70, 0.70])  # gap .20 -> .10, focus +.10
    b = contract_gap(base, FOCUS, 1.0)
    for perf, credit in ((closes_by_decline, 0.0), (genuine, 0.10)):
        p = contract_gap(perf, FOCUS, 1.0)
        decline = reference_decline(base, perf, FOCUS, 1.0)
        assert credited_reduction(b, p, decline) == pytest.approx(credit)
    half = np.array([0.75, 0.65, 0.65, 0.65])  # ref -.05, focus +.05: half is genuine
    p = contract_gap(half, FOCUS, 1.0)
    credited = credited_reduction(b, p, reference_decline(base, half, FOCUS, 1.0))
    assert closure(credited, b) == pytest.approx(0.25)


def test_closure_is_rounded_before_the_tiers():
    almost = np.array([0.4999999999999, 0.2499999, 0.7499999999999999])
    closed = closure(almost, np.ones(3))
    assert list(tier_labels(closed, CONTRACT.payout)) == [
        "closure>=0.5", "below_first_tier", "closure>=0.75"
    ]  # fmt: skip
    assert tier_share(float(closed[0]), CONTRACT.payout.tiers) == D("0.5")


def test_the_guard_fails_on_a_focus_decline_beyond_the_tolerance():
    declines = np.array([[0.005, 0.0, -0.1], [0.02, 0.03, 0.0], [0.0, 0.05, 0.0]])
    present = np.array([True, True, False])
    guard = decline_guard(declines, np.zeros(3), present, tolerance=0.01)
    assert list(guard.is_passed) == [True, False, False]
    assert list(guard.worst) == [-1, 1, 1] and guard.decline[1] == pytest.approx(0.03)
    significant = decline_guard(declines, np.full(3, 0.02), present, 0.01, z=1.645)
    assert list(significant.is_passed) == [True, True, False]  # .03 - 1.645*.02 < .01


def evidence(**changes) -> R.Evidence:
    base = R.Evidence(
        is_eligible=True, is_maintenance=False, has_performance_gap=True, is_widened=False,
        is_credit_significant=True, is_kept=False, is_guard_passed=np.array([True, True, False]),
        is_eliminated=np.array([False, True, False]), closure=np.array([0.6, 1.0, 0.6]),
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def test_rule_precedence():
    labels = lambda e, c=CONTRACT: list(R.outcome_labels(e, c))  # noqa: E731
    assert labels(evidence()) == ["closure>=0.5", "eliminated", "guard_failed"]
    assert labels(evidence(is_credit_significant=False)) == [
        "reduction_not_significant", "reduction_not_significant", "guard_failed"
    ]  # fmt: skip
    assert labels(evidence(is_widened=True)) == ["downside"] * 3
    no_downside = dataclasses.replace(CONTRACT, downside_share=D(0))
    assert labels(evidence(is_widened=True), no_downside)[0] == "closure>=0.5"
    assert labels(evidence(has_performance_gap=False)) == ["no_performance_gap"] * 3
    assert labels(evidence(is_eligible=False)) == ["ineligible"] * 3
    maintenance = evidence(is_eligible=False, is_maintenance=True, is_kept=True)
    assert labels(maintenance) == ["maintenance_kept", "maintenance_kept", "maintenance_lost"]


def test_shares_and_money():
    assert R.share_of("closure>=0.5", 0.6, CONTRACT) == D("0.5")
    assert R.share_of("eliminated", 1.0, CONTRACT) == D(1)
    assert R.share_of("downside", 0.0, CONTRACT) == D("-0.25")
    assert R.share_of("guard_failed", 0.9, CONTRACT) == D(0)
    linear = dataclasses.replace(
        CONTRACT, payout=dataclasses.replace(CONTRACT.payout, method="linear")
    )
    labels = np.array(["linear", "eliminated"], dtype=object)
    assert list(R.shares(labels, np.array([0.375, 1.0]), linear)) == [0.375, 1.0]
    weights = measure_weights(CONTRACT, {"COL": True, "WCV": False})
    assert weights == {"COL": D("0.8"), "WCV": D(0)}  # the upside renormalised
    # a downside is capped at the measure's contract weight, never renormalised
    assert exact_amount(D(1000), weights["COL"], D("0.5"), D("-0.25")) == D("-125.000")
    assert exact_amount(D(1000), weights["COL"], D("0.5"), D("0.5")) == D("400.00")
    amounts, total = allocate([D("0.333"), D("0.333"), D("0.334")])
    assert sum(amounts) == total == D("1.00")
