"""Statistical properties of the settlement method, by seeded simulation.

Binomial outcomes of one measure for a reference and a focus subgroup at the sizes of
the planted groups (1,000 members each, self-reported), two baseline years and one
performance year, outcomes persisting from year to year as screening does (a member's
compliance draw is their own in 80% of the years). Each run goes through the code that
settles: the panel's profiles are resampled (`p4e.stats.panel.panel_rates`), the
baseline frozen (`p4e.settlement.freeze`) and the year decided (`p4e.settlement.decide`).
2,000 runs per scenario, 500 replicates per run (the method, not the Monte Carlo, is tested).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from p4e.config.contracts import parse_contract
from p4e.config.stats import Eligibility, StatsSettings
from p4e.settlement.decide import PanelSpec, decide
from p4e.settlement.freeze import freeze_measures, frozen
from p4e.settlement.rules import share_of
from p4e.stats.panel import OUTCOMES, PanelRates, panel_rates
from p4e.stats.resample import generator

RUNS, REPLICATES, SIZE, PERSISTENCE = 2000, 500, 1000, 0.8
CATEGORIES, MEASURES = ("white", "black"), ("M",)
RULES = StatsSettings(
    dimension="race_ethnicity",
    directions={"M": "higher"},
    eligibility=Eligibility(baseline_years=(2021, 2022)),
    reference_category="white",
    replicates=REPLICATES,
    decision_replicates=REPLICATES,
)
CONTRACT = parse_contract(
    Path("sim.yaml"),
    {
        "id": "SIM", "groups": ["G"], "term": {"start_year": 2023, "years": 3},
        "baseline_years": [2021, 2022], "dimension": "race_ethnicity",
        "measures": [{"id": "M", "weight": 0.9}],
        "payout": {"tiers": [{"closure": 0.25, "share": 0.25}, {"closure": 0.5, "share": 0.5},
                             {"closure": 0.75, "share": 0.75}]},
        "completeness": {"weight": 0.1, "tiers": [{"self_reported": 0.5, "share": 1}]},
        "pool": {"fixed": 100000},
    },
    {"M"},
)  # fmt: skip
BASELINE = {"white": 0.75, "black": 0.55}  # a 20-point gap


def profiles(rng: np.random.Generator, rates: dict[str, tuple[float, ...]]) -> pa.Table:
    """One run's panel profiles: each member's outcome codes (1 or 2) over the years."""
    rows = []
    for index, category in enumerate(CATEGORIES):
        years = np.array(rates[category])
        own = rng.random((SIZE, 1))
        shape = (SIZE, len(years))
        draws = np.where(rng.random(shape) < PERSISTENCE, own, rng.random(shape))
        codes = 1 + (draws < years).astype(np.int8)
        patterns, counts = np.unique(codes, axis=0, return_counts=True)
        probs = [float(i == index) for i in range(len(CATEGORIES))]
        rows += [(*probs, p.tolist(), int(c)) for p, c in zip(patterns, counts, strict=True)]
    columns = list(zip(*rows, strict=True))
    return pa.table(
        {
            **{f"p_{c}": pa.array(columns[i], pa.float64()) for i, c in enumerate(CATEGORIES)},
            OUTCOMES: pa.array(columns[2], pa.list_(pa.int8())),
            "n_members": pa.array(columns[3], pa.int64()),
        }
    )


def settle_run(seed: int, reference: float, focus: float) -> tuple[bool, float]:
    """(eligible at baseline, share paid) of one simulated group and performance year."""
    rng = np.random.default_rng(seed)
    table = profiles(
        rng,
        {"white": (BASELINE["white"],) * 2 + (reference,),
         "black": (BASELINE["black"],) * 2 + (focus,)},
    )  # fmt: skip
    panel = panel_rates(table, CATEGORIES, 1, 3, REPLICATES, generator(seed, "sim", 2025))[
        "weighted"
    ]
    base = PanelRates(panel.n[:, :2], panel.rates[:, :2], panel.rates_rep[:, :, :2])
    (baseline,) = freeze_measures(base, MEASURES, CATEGORIES, CONTRACT, RULES)
    spec = PanelSpec(
        contract=CONTRACT, rules=RULES, group_id="G", year=2025,
        frozen={"M": frozen(baseline, CONTRACT, "sim")}, weights={"M": 1.0},
        contract_weights={"M": 0.9}, pool=1.0, completeness_amount=0.0,
    )  # fmt: skip
    row = decide(panel, spec, MEASURES, CATEGORIES)[0]
    share = share_of(row["tier"], row.get("closure") or 0.0, CONTRACT)
    return baseline.decision.is_eligible, float(share)


def shares(scenario: int, reference: float, focus: float) -> tuple[np.ndarray, np.ndarray]:
    results = [settle_run(scenario * 100_000 + i, reference, focus) for i in range(RUNS)]
    eligible, paid = (np.array(x) for x in zip(*results, strict=True))
    return eligible, paid


@pytest.mark.parametrize("decline", [0.06, 0.12, 0.18])
def test_a_gap_closed_by_the_reference_declining_earns_nothing(decline):
    eligible, paid = shares(int(decline * 100), BASELINE["white"] - decline, BASELINE["black"])
    assert eligible.mean() >= 0.95  # the test is not won by ineligibility
    assert (paid > 0).mean() <= 0.02, (paid > 0).mean()


def test_half_of_a_closure_bought_by_a_reference_decline_is_not_paid():
    """Focus +2 points a year and reference -2 points a year, three years on: the gap
    fell 12 points of 20, the genuine half 6 (closure 0.3, share 0.25 alone)."""
    _, mixed = shares(1, BASELINE["white"] - 0.06, BASELINE["black"] + 0.06)
    genuine_share = 0.25  # the tier the genuine half reaches: closure 6 / 20 = 0.3
    assert mixed.mean() <= genuine_share, mixed.mean()


def test_a_true_elimination_is_paid_at_least_half_the_pool():
    eligible, paid = shares(3, BASELINE["white"], BASELINE["white"])
    assert eligible.mean() >= 0.95
    assert (paid >= 0.5).mean() >= 0.8, (paid >= 0.5).mean()
