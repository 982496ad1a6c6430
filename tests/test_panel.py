"""The panel bootstrap: profiles built by Spark, and resampling that agrees with a naive
member-level panel resample (members drawn once for all years) within Monte-Carlo error."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from p4e.settlement.closure import Focus, contract_gap
from p4e.stats.panel import OUTCOMES, PANELS_SCHEMA, panel_profiles, panel_rates
from p4e.stats.resample import generator
from p4e.tables import MEMBER_DEMOGRAPHICS, MEMBER_MEASURES

CATEGORIES = ("white", "black")


def _mm(member, group, measure, year, population, numerator, excluded=False, plan=True):
    in_rate = population and not excluded
    return (member, group, measure, year, "base", plan, population, excluded, None, in_rate,
            numerator, None)  # fmt: skip


def test_profiles_follow_each_member_across_the_years_of_their_group(spark):
    rows = [
        _mm("a", "G1", "M", 2021, True, True), _mm("a", "G1", "M", 2022, True, False),
        _mm("a", "G2", "M", 2023, True, True),  # moved: not G1's in 2023
        _mm("b", "G1", "M", 2021, True, False), _mm("b", "G1", "M", 2023, True, True),
        _mm("c", "G1", "M", 2022, True, True, excluded=True),  # excluded: not in the rate
        _mm("d", "G1", "M", 2021, True, True, plan=False),  # another payer's patient
        _mm("e", "G1", "N", 2021, True, True), _mm("e", "G1", "M", 2021, True, True),
    ]  # fmt: skip
    demo = [
        (m, year, "race_ethnicity", None, "imputed", None, "bisg", pw, 1 - pw)
        for m, pw in (("a", 1.0), ("b", 0.25), ("c", 0.5), ("d", 0.0), ("e", 0.0))
        for year in (2022, 2023)
    ]
    mm = spark.createDataFrame(rows, MEMBER_MEASURES.schema())
    demographics = spark.createDataFrame(demo, MEMBER_DEMOGRAPHICS.schema(CATEGORIES))
    panels = spark.createDataFrame(
        [("base", "G1", [2021, 2022], 2022), ("perf", "G1", [2021, 2022, 2023], 2023)],
        PANELS_SCHEMA,
    )
    got = {
        (r["panel_id"], tuple(r[OUTCOMES]), r["p_white"]): r["n_members"]
        for r in panel_profiles(
            mm, demographics, panels, ["M", "N"], CATEGORIES, plan_only=True
        ).collect()
    }
    # outcomes: measure M over years 0..2, then N over years 0..2 (0 absent, 1 rate, 2 numerator)
    assert got == {
        ("base", (2, 1, 0, 0, 0, 0), 1.0): 1,   # a
        ("base", (1, 0, 0, 0, 0, 0), 0.25): 1,  # b
        ("base", (0, 0, 0, 0, 0, 0), 0.5): 1,   # c: in the panel, in no rate
        ("base", (2, 0, 0, 2, 0, 0), 0.0): 1,   # e
        ("perf", (2, 1, 0, 0, 0, 0), 1.0): 1,   # a: 2023 belongs to G2
        ("perf", (1, 0, 2, 0, 0, 0), 0.25): 1,  # b: the 2023 answers
        ("perf", (0, 0, 0, 0, 0, 0), 0.5): 1,
        ("perf", (2, 0, 0, 2, 0, 0), 0.0): 1,
    }  # fmt: skip


def _members(rng: np.random.Generator, n: int = 600):
    """Members with fractional probabilities and persistent outcomes on two measures over
    three years (some years out of the population)."""
    p_white = np.where(rng.random(n) < 0.5, rng.integers(0, 2, n), rng.random(n))
    own = rng.random((n, 1, 1))
    draws = np.where(rng.random((n, 2, 3)) < 0.8, own, rng.random((n, 2, 3)))
    rate = np.where(p_white[:, None, None] > 0.5, 0.75, 0.55)
    outcomes = 1 + (draws < rate).astype(np.int8)
    outcomes[rng.random((n, 2, 3)) < 0.15] = 0
    return np.column_stack([p_white, 1 - p_white]), outcomes.reshape(n, 6)


def _table(probs: np.ndarray, outcomes: np.ndarray) -> pa.Table:
    return pa.table({
        "p_white": probs[:, 0], "p_black": probs[:, 1],
        OUTCOMES: pa.array(outcomes.tolist(), pa.list_(pa.int8())),
        "n_members": np.ones(len(probs), dtype=np.int64),
    })  # fmt: skip


def _naive(probs, outcomes, replicates, rng):
    """Rates (B, 2 measures, 3 years, 2 subgroups) of member-level panel resamples."""
    n = len(probs)
    codes = outcomes.reshape(n, 2, 3)
    out = np.empty((replicates, 2, 3, 2))
    for b in range(replicates):
        pick = rng.integers(0, n, n)
        w, c = probs[pick], codes[pick]
        den = np.einsum("is,imy->mys", w, (c >= 1).astype(float))
        num = np.einsum("is,imy->mys", w, (c == 2).astype(float))
        out[b] = num / den
    return out


def test_the_panel_bootstrap_agrees_with_a_naive_member_panel_resample():
    rng = np.random.default_rng(5)
    probs, outcomes = _members(rng)
    replicates = 3000
    panel = panel_rates(
        _table(probs, outcomes), CATEGORIES, 2, 3, replicates, generator(1, "p", 1)
    )["weighted"]
    naive = _naive(probs, outcomes, replicates, np.random.default_rng(9))
    ours = panel.rates_rep[..., :2]
    focus = Focus(0, (1,), (1.0,))
    for name, a, b in [
        ("rates", ours, naive),
        ("gap", contract_gap(ours, focus, 1.0), contract_gap(naive, focus, 1.0)),
        ("change", contract_gap(ours[:, :, 2], focus, 1.0)
         - contract_gap(ours[:, :, :2].mean(axis=2), focus, 1.0),
         contract_gap(naive[:, :, 2], focus, 1.0)
         - contract_gap(naive[:, :, :2].mean(axis=2), focus, 1.0)),
    ]:  # fmt: skip
        sd_a, sd_b = a.std(axis=0, ddof=1), b.std(axis=0, ddof=1)
        # the SD of a replicate SD is about SD / sqrt(2B): 1.3% at B = 3000; allow 4 of them
        assert np.allclose(sd_a, sd_b, rtol=4 * np.sqrt(2 / replicates)), name
        se_mean = np.sqrt(sd_a**2 / replicates + sd_b**2 / replicates)
        assert np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) <= 4 * se_mean), name
    # the panel keeps the year-to-year correlation an independent resample would lose
    by_year = contract_gap(ours, focus, 1.0)[:, 0]
    assert np.corrcoef(by_year[:, 0], by_year[:, 1])[0, 1] > 0.3
