"""The settlement rules and the cent rounding on hand-made figures (no Spark)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from p4e.config.contracts import parse_contract
from p4e.settlement.guard import GuardResult, SubgroupPeriods, decline_guard, period_rates
from p4e.settlement.payout import (
    MeasureEvidence,
    allocate,
    measure_outcome,
    measure_weights,
    pool_amount,
)
from p4e.settlement.tiers import tier_share

D = Decimal
CONTRACT = parse_contract(
    Path("c.yaml"),
    {
        "id": "C",
        "groups": ["G"],
        "term": {"start_year": 2023, "years": 3},
        "baseline_years": [2021, 2022],
        "dimension": "race_ethnicity",
        "measures": [
            {"id": "A", "weight": 0.3},
            {"id": "B", "weight": 0.3},
            {"id": "C", "weight": 0.2},
        ],
        "payout": {
            "tiers": [
                {"closure": 0.25, "share": 0.25},
                {"closure": 0.5, "share": 0.5},
                {"closure": 0.75, "share": 0.75},
            ]
        },
        "completeness": {"weight": 0.2, "tiers": [{"self_reported": 0.5, "share": 1}]},
        "pool": {"fixed": 1000},
    },
    {"A", "B", "C"},
)


def evidence(base=0.30, base_low=0.2, perf=0.10, perf_low=0.0, change_low=-0.3, guard=True):
    return MeasureEvidence(
        "A", True, (), base, base_low, perf, perf_low, change_low, GuardResult(guard)
    )


def test_allocate_adds_the_components_up_to_the_rounded_total():
    # 100 / 3 three times: exact total 100.00; floors 33.33 x 3 leave one cent for the
    # largest remainder (all equal: the first).
    third = D(100) / 3
    assert allocate([third, third, third]) == ([D("33.34"), D("33.33"), D("33.33")], D("100.00"))
    # 10.005 + 20.004 + 0.001 = 30.010 exactly; floors 10.00 + 20.00 + 0.00 = 30.00;
    # one cent to the largest remainder 0.005 (10.005).
    parts, total = allocate([D("10.005"), D("20.004"), D("0.001")])
    assert parts == [D("10.01"), D("20.00"), D("0.00")] and total == D("30.01")
    # negative components (downside) round the same way
    parts, total = allocate([D("-12.345"), D("50.005")])
    assert total == D("37.66") and sum(parts) == total and parts == [D("-12.34"), D("50.00")]


def test_tiers_step_and_linear_interpolates():
    tiers = CONTRACT.payout.tiers
    assert [tier_share(c, tiers) for c in (0.1, 0.25, 0.6, 0.75, 0.99)] == [
        D(0),
        D("0.25"),
        D("0.5"),
        D("0.75"),
        D("0.75"),
    ]
    assert tier_share(0.1, tiers, linear=True) == D("0.100000")  # through (0, 0)
    assert tier_share(0.6, tiers, linear=True) == D("0.600000")
    assert tier_share(0.9, tiers, linear=True) == D("0.75")  # flat after the last point


def test_rules_in_order_of_precedence():
    o = measure_outcome(evidence(), CONTRACT)  # closure 2/3 -> tier 0.5
    assert (o.tier, o.share, o.has_baseline_gap) == ("closure>=0.5", D("0.5"), True)
    assert o.closure == pytest.approx(2 / 3)
    assert measure_outcome(evidence(guard=False), CONTRACT).tier == "guard_failed"
    eliminated = measure_outcome(evidence(perf=0.01), CONTRACT)
    assert (eliminated.tier, eliminated.share, eliminated.is_eliminated) == ("eliminated", 1, True)
    # eliminated needs the guard too
    assert measure_outcome(evidence(perf=0.0, guard=False), CONTRACT).share == 0
    # widened significantly: no downside configured -> just nothing; with downside -> penalty
    widened = evidence(perf=0.5, change_low=0.05)
    assert measure_outcome(widened, CONTRACT).tier == "below_first_tier"
    with_downside = replace(CONTRACT, downside_share=D("0.25"))
    assert measure_outcome(widened, with_downside).share == D("-0.25")
    # no baseline gap: kept while the performance gap is not significantly positive
    no_gap = evidence(base=0.02, base_low=-0.05, perf=0.04, perf_low=-0.01)
    assert measure_outcome(no_gap, CONTRACT).tier == "no_baseline_gap_kept"
    lost = evidence(base=0.02, base_low=-0.05, perf=0.04, perf_low=0.02)
    assert measure_outcome(lost, CONTRACT).tier == "no_baseline_gap_lost"
    assert measure_outcome(replace(no_gap, guard=GuardResult(False)), CONTRACT).share == 0
    assert measure_outcome(replace(evidence(), is_eligible=False), CONTRACT).tier == "ineligible"


def test_guard_orients_declines_by_direction():
    rates = [SubgroupPeriods("white", 0.80, 0.78), SubgroupPeriods("black", 0.50, 0.70)]
    assert decline_guard(rates, "higher", 0.01) == GuardResult(False, "white", pytest.approx(0.02))
    assert decline_guard(rates, "lower", 0.01) == GuardResult(False, "black", pytest.approx(0.2))
    assert decline_guard(rates, "higher", 0.03).is_passed
    assert decline_guard([], "higher", 0.01).is_passed


def test_significant_guard_needs_the_decline_beyond_z_standard_errors():
    # decline 0.06, se sqrt(0.03^2 + 0.04^2) = 0.05: 0.06 - 1.645 * 0.05 < 0.01 -> passes;
    # decline 0.20 with the same se: 0.20 - 0.082 = 0.118 > 0.01 -> fails.
    noisy = SubgroupPeriods("asian", 0.70, 0.64, 0.03, 0.04)
    real = SubgroupPeriods("white", 0.80, 0.60, 0.03, 0.04)
    assert decline_guard([noisy], "higher", 0.01, 1.645).is_passed
    assert not decline_guard([noisy], "higher", 0.01).is_passed  # the point test fails it
    assert decline_guard([noisy, real], "higher", 0.01, 1.645) == GuardResult(
        False, "white", pytest.approx(0.20)
    )


def test_period_rates_average_the_baseline_years_of_subgroups_scored_throughout():
    rows = [
        {"year": 2021, "subgroup": "white", "rate": 0.7, "se": 0.03, "is_scored": True},
        {"year": 2022, "subgroup": "white", "rate": 0.9, "se": 0.04, "is_scored": True},
        {"year": 2023, "subgroup": "white", "rate": 0.6, "se": 0.05, "is_scored": True},
        {"year": 2021, "subgroup": "black", "rate": 0.5, "se": 0.1, "is_scored": True},
        {"year": 2022, "subgroup": "black", "rate": 0.5, "se": 0.1, "is_scored": False},
        {"year": 2023, "subgroup": "black", "rate": 0.1, "se": 0.1, "is_scored": True},
        {"year": 2023, "subgroup": "ALL", "rate": 0.1, "se": 0.1, "is_scored": True},
    ]
    assert period_rates(rows, (2021, 2022), 2023) == [
        SubgroupPeriods("white", pytest.approx(0.8), 0.6, pytest.approx(0.025), 0.05)
    ]


def test_ineligible_weights_renormalise_or_forfeit():
    weights = measure_weights(CONTRACT, {"A": True, "B": False, "C": True})
    # the measures' total 0.8 is shared by A and C in proportion 0.3 : 0.2
    assert weights == {"A": D("0.48"), "B": D(0), "C": D("0.32")}
    forfeit = replace(CONTRACT, ineligible="forfeit")
    assert measure_weights(forfeit, {"A": True}) == {"A": D("0.3"), "B": D("0.3"), "C": D("0.2")}
    assert measure_weights(CONTRACT, {}) == {"A": 0, "B": 0, "C": 0}


def test_pmpm_pool_is_rate_times_member_months_in_cents():
    pmpm = replace(CONTRACT, pool=replace(CONTRACT.pool, kind="pmpm", amount=D("2.125")))
    assert pool_amount(pmpm, 3) == D("6.38")  # 6.375 half up
    assert pool_amount(CONTRACT, 3) == D("1000.00")
