"""The settlement rules and the cent rounding on hand-made figures (no Spark)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from p4e.config.contracts import parse_contract
from p4e.settlement.closure import Focus, subgroup_declines
from p4e.settlement.guard import decline_guard
from p4e.settlement.payout import allocate, measure_weights, pool_amount
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


def test_guard_orients_declines_by_direction():
    base, perf = np.array([[0.80, 0.50, 0.80]]), np.array([[0.78, 0.70, 0.80]])
    focus = Focus(0, (1, 2), (0.5, 0.5))
    present = np.array([True, True])
    # white is the reference: only black and the third take part
    higher = decline_guard(subgroup_declines(base, perf, focus, 1.0), np.zeros(2), present, 0.01)
    assert higher.is_passed[0]  # black improved
    lower = decline_guard(subgroup_declines(base, perf, focus, -1.0), np.zeros(2), present, 0.01)
    assert (lower.is_passed[0], lower.worst[0]) == (False, 0)
    assert lower.decline[0] == pytest.approx(0.2)  # a rise is a decline when lower is better
    assert decline_guard(np.empty((1, 0)), np.empty(0), np.empty(0, bool), 0.01).is_passed[0]


def test_significant_guard_needs_the_decline_beyond_z_standard_errors():
    # declines 0.06 and 0.20, SE 0.05: 0.06 - 1.645 * 0.05 < 0.01 passes, 0.20 - 0.082 fails
    declines, se, present = np.array([[0.06, 0.20]]), np.array([0.05, 0.05]), np.ones(2, bool)
    assert decline_guard(declines[:, :1], se[:1], present[:1], 0.01, 1.645).is_passed[0]
    assert not decline_guard(declines[:, :1], se[:1], present[:1], 0.01).is_passed[0]
    both = decline_guard(declines, se, present, 0.01, 1.645)
    assert (both.is_passed[0], both.worst[0]) == (False, 1)


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
