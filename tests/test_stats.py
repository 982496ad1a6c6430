"""Tests of p4e.stats: rates, gaps, the profile bootstrap against a naive member-level
bootstrap, CI coverage on planted truth, eligibility, determinism and the step.

Inputs are simulated here with planted rates (numpy); expected values come from hand
computation, the planted truth, or a naive numpy bootstrap that resamples member rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import functions as F

from p4e.config import load_settings
from p4e.config.stats import Eligibility, StatsSettings
from p4e.stats import compute_cells, stats_tables
from p4e.tables import (
    ELIGIBILITY,
    EQUITY_GAPS,
    GAP_REPLICATES,
    MEMBER_DEMOGRAPHICS,
    MEMBER_MEASURES,
    SUBGROUP_RATES,
)

CATEGORIES = ("white", "black", "hispanic", "asian")
MEMBER_MEASURES_DDL = (
    "member_id STRING, group_id STRING, measure_id STRING, year INT, spec_version STRING, "
    "is_plan_member BOOLEAN, is_denominator BOOLEAN, is_excluded BOOLEAN, "
    "exclusion_reason STRING, is_in_rate BOOLEAN, is_numerator BOOLEAN, numerator_date DATE"
)
DEMOGRAPHICS_DDL = (
    "member_id STRING, year INT, dimension STRING, category STRING, source STRING, "
    "answer_source STRING, imputation_model STRING, "
    + ", ".join(f"p_{c} DOUBLE" for c in CATEGORIES)
)


@dataclass
class GroupSpec:
    """Members of one group-year: self-reported counts per category plus imputed members."""

    group_id: str
    counts: dict[str, int]
    imputed: int = 0
    in_population: float = 0.9  # chance a member is in each measure's rate population
    rates: dict[str, dict[str, float]] = field(default_factory=dict)  # measure -> cat -> rate


@dataclass
class Members:
    """Member-level arrays (the naive reference works on these) and their table forms."""

    group: np.ndarray  # (N,) group ids
    weights: np.ndarray  # (N, S) category probabilities
    in_population: np.ndarray  # (N, M) bool
    numerator: np.ndarray  # (N, M) bool
    measures: tuple[str, ...]
    member_measures: pd.DataFrame
    demographics: pd.DataFrame


def simulate(specs: list[GroupSpec], measures: tuple[str, ...], year: int, seed: int) -> Members:
    """Draw members: a true category, a probability vector (one-hot when self-reported,
    Dirichlet around the true category when imputed) and Bernoulli outcomes at the
    planted rate of the true category."""
    rng = np.random.default_rng(seed)
    groups, weights, truth, sources = [], [], [], []
    for spec in specs:
        for cat, count in spec.counts.items():
            one_hot = np.zeros(len(CATEGORIES))
            one_hot[CATEGORIES.index(cat)] = 1.0
            weights += [one_hot] * count
            truth += [CATEGORIES.index(cat)] * count
            groups += [spec.group_id] * count
            sources += ["self_reported"] * count
        for _ in range(spec.imputed):
            probs = rng.dirichlet(np.ones(len(CATEGORIES)))
            weights.append(probs)
            truth.append(int(rng.choice(len(CATEGORIES), p=probs)))
            groups.append(spec.group_id)
            sources.append("imputed")
    group = np.array(groups, dtype=object)
    w = np.array(weights)
    truth_arr = np.array(truth)
    n = len(group)
    by_id = {s.group_id: s for s in specs}
    rate = np.array(
        [
            [by_id[g].rates[m][CATEGORIES[t]] for m in measures]
            for g, t in zip(group, truth_arr, strict=True)
        ]
    )
    coverage = np.array([by_id[g].in_population for g in group])
    in_pop = rng.random((n, len(measures))) < coverage[:, None]
    excluded = in_pop & (rng.random((n, len(measures))) < 0.05)
    numerator = rng.random((n, len(measures))) < rate
    ids = np.array([f"{g}-{i:06d}" for i, g in enumerate(group)], dtype=object)
    rows = []
    for m, measure in enumerate(measures):
        rows.append(
            pd.DataFrame(
                {
                    "member_id": ids,
                    "group_id": group,
                    "measure_id": measure,
                    "year": year,
                    "spec_version": "base",
                    "is_plan_member": True,
                    "is_denominator": in_pop[:, m],
                    "is_excluded": excluded[:, m],
                    "exclusion_reason": np.where(excluded[:, m], "hospice", None),
                    "is_in_rate": in_pop[:, m] & ~excluded[:, m],
                    "is_numerator": numerator[:, m],
                    "numerator_date": None,
                }
            )
        )
    demographics = pd.DataFrame(
        {
            "member_id": ids,
            "year": year,
            "dimension": "race_ethnicity",
            "category": [CATEGORIES[t] for t in w.argmax(axis=1)],
            "source": sources,
            "answer_source": [s if s == "self_reported" else None for s in sources],
            "imputation_model": [None if s == "self_reported" else "bisg" for s in sources],
            **{f"p_{c}": w[:, i] for i, c in enumerate(CATEGORIES)},
        }
    )
    population = in_pop & ~excluded
    return Members(
        group, w, population, population & numerator, measures, pd.concat(rows), demographics
    )


def to_spark(spark, members: Members):
    """The member_measures and member_demographics DataFrames of `members`."""
    return (
        _frame(spark, members.member_measures, MEMBER_MEASURES_DDL),
        _frame(spark, members.demographics, DEMOGRAPHICS_DDL),
    )


def _frame(spark, pdf: pd.DataFrame, ddl: str):
    """A DataFrame from pandas through Arrow (fast for the larger simulated inputs)."""
    table = pa.Table.from_pandas(pdf, preserve_index=False)
    columns = [c.split()[0] for c in ddl.split(", ")]
    return spark.createDataFrame(table.select(columns)).selectExpr(
        *[f"CAST({c.split()[0]} AS {c.split()[1]}) AS {c.split()[0]}" for c in ddl.split(", ")]
    )


# --------------------------------------------------------------------------------------
# A hand-computed story
# --------------------------------------------------------------------------------------


DIRECTIONS = {"HI": "higher", "LO": "lower"}


def settings(**overrides) -> StatsSettings:
    values = {
        "dimension": "race_ethnicity",
        "directions": DIRECTIONS,
        "replicates": 200,
        "seed": 7,
        "reference_category": "white",
        "eligibility": Eligibility(baseline_years=(2021, 2022)),
    }
    values.update(overrides)
    return StatsSettings(**values)


# member, group, p_white, p_black, p_hispanic, (HI pop, HI num, LO pop, LO num), excluded
STORY = [
    ("w1", "G", 1, 0, 0, (1, 1, 1, 1), False),
    ("w2", "G", 1, 0, 0, (1, 1, 1, 0), False),
    ("w3", "G", 1, 0, 0, (1, 1, 1, 0), False),
    ("w4", "G", 1, 0, 0, (1, 0, 1, 0), False),
    ("b1", "G", 0, 1, 0, (1, 1, 1, 1), False),
    ("b2", "G", 0, 1, 0, (1, 0, 1, 1), False),
    ("b3", "G", 0, 1, 0, (1, 0, 1, 0), False),
    ("i1", "G", 0.5, 0.5, 0, (1, 1, 1, 0), False),
    ("h1", "G", 0, 0, 1, (1, 0, 1, 1), False),
    ("x1", "G", 1, 0, 0, (1, 1, 1, 1), True),
    ("u1", "UNATTRIBUTED", 1, 0, 0, (1, 1, 0, 0), False),
]


def story_frames(spark):
    mm, demo = [], []
    for member, group, pw, pb, ph, (hp, hn, lp, ln), excluded in STORY:
        for measure, pop, num in (("HI", hp, hn), ("LO", lp, ln)):
            mm.append(
                (
                    member,
                    group,
                    measure,
                    2023,
                    "base",
                    True,
                    bool(pop),
                    excluded,
                    "hospice" if excluded else None,
                    bool(pop) and not excluded,
                    bool(num),
                    None,
                )
            )
        demo.append(
            (
                member,
                2023,
                "race_ethnicity",
                "white",
                "self_reported",
                "self_reported",
                None,
                pw,
                pb,
                ph,
                0.0,
            )
        )
    return (
        spark.createDataFrame(mm, MEMBER_MEASURES_DDL),
        spark.createDataFrame(
            [tuple(float(v) if i >= 7 else v for i, v in enumerate(r)) for r in demo],
            DEMOGRAPHICS_DDL,
        ),
    )


def tables_of(spark, mm, demo, cfg: StatsSettings) -> dict[str, pd.DataFrame]:
    cells = compute_cells(mm, demo, cfg).persist()
    try:
        return {table.name: df.toPandas() for table, df in stats_tables(cells, cfg).items()}
    finally:
        cells.unpersist()


def test_story_rates_and_oriented_gaps(spark):
    mm, demo = story_frames(spark)
    out = tables_of(spark, mm, demo, settings(min_scored=1))
    rates = out["subgroup_rates"].set_index(["group_id", "measure_id", "subgroup"])
    expected = {
        ("G", "HI", "white"): (4.5, 3.5),
        ("G", "HI", "black"): (3.5, 1.5),
        ("G", "HI", "hispanic"): (1.0, 0.0),
        ("G", "HI", "ALL"): (9.0, 5.0),
        ("G", "LO", "white"): (4.5, 1.0),
        ("G", "LO", "black"): (3.5, 2.0),
        ("G", "LO", "hispanic"): (1.0, 1.0),
        ("G", "LO", "ALL"): (9.0, 4.0),
        ("ALL_GROUPS", "HI", "white"): (5.5, 4.5),
        ("ALL_GROUPS", "HI", "ALL"): (10.0, 6.0),
        ("ALL_GROUPS", "LO", "ALL"): (9.0, 4.0),
        ("UNATTRIBUTED", "HI", "white"): (1.0, 1.0),
    }
    for key, (n, k) in expected.items():
        row = rates.loc[key]
        assert (row["n"], row["k"]) == pytest.approx((n, k)), key
        assert row["rate"] == pytest.approx(k / n), key
        assert row["is_suppressed"] and row["is_scored"]
    assert ("G", "HI", "asian") not in rates.index  # nobody: no row
    assert ("UNATTRIBUTED", "LO", "ALL") not in rates.index  # nobody in its population

    gaps = out["equity_gaps"]
    sub = gaps[(gaps["group_id"] == "G") & (gaps["level"] == "subgroup")].set_index(
        ["measure_id", "subgroup"]
    )
    # higher is better: p_ref - p_s; lower is better: p_s - p_ref (positive = worse)
    hi_black, hi_hisp = 3.5 / 4.5 - 1.5 / 3.5, 3.5 / 4.5 - 0.0
    lo_black, lo_hisp = 2.0 / 3.5 - 1.0 / 4.5, 1.0 - 1.0 / 4.5
    assert sub.loc[("HI", "black"), "gap"] == pytest.approx(hi_black)
    assert sub.loc[("HI", "hispanic"), "gap"] == pytest.approx(hi_hisp)
    assert sub.loc[("LO", "black"), "gap"] == pytest.approx(lo_black)
    assert sub.loc[("LO", "hispanic"), "gap"] == pytest.approx(lo_hisp)
    assert set(sub["reference"]) == {"white"}
    assert sub.loc[("HI", "black"), "n_reference"] == pytest.approx(4.5)
    assert sub.loc[("HI", "black"), "n_focus"] == pytest.approx(3.5)
    assert sub.loc[("LO", "black"), "direction"] == "lower"

    summ = gaps[(gaps["group_id"] == "G") & (gaps["level"] == "summary")].set_index("measure_id")
    assert summ.loc["HI", "gap"] == pytest.approx((3.5 * hi_black + 1.0 * hi_hisp) / 4.5)
    assert summ.loc["LO", "gap"] == pytest.approx((3.5 * lo_black + 1.0 * lo_hisp) / 4.5)
    assert summ.loc["HI", "n_focus_scored"] == 2
    assert summ.loc["HI", "n_focus"] == pytest.approx(4.5)
    reps = out["gap_replicates"]
    assert len(reps[(reps["group_id"] == "G") & (reps["measure_id"] == "HI")]) == 200


def test_story_summary_alternatives_and_unscored(spark):
    mm, demo = story_frames(spark)
    pw, pb, ph = 3.5 / 4.5, 1.5 / 3.5, 0.0
    out = tables_of(spark, mm, demo, settings(min_scored=1, gap_summary="max"))
    gaps = out["equity_gaps"]
    hi = gaps.query("group_id == 'G' and level == 'summary' and measure_id == 'HI'")
    assert hi["gap"].item() == pytest.approx(pw - ph)
    assert hi["statistic"].item() == "max"

    out = tables_of(spark, mm, demo, settings(min_scored=1, gap_summary="variance"))
    gaps = out["equity_gaps"]
    hi = gaps.query("group_id == 'G' and level == 'summary' and measure_id == 'HI'")
    n = np.array([4.5, 3.5, 1.0])
    p = np.array([pw, pb, ph])
    mean = (n * p).sum() / n.sum()
    assert hi["gap"].item() == pytest.approx((n * (p - mean) ** 2).sum() / n.sum())

    # default min_scored 30: nothing is scored, the summary gap is null, no replicates
    out = tables_of(spark, mm, demo, settings(reference_rule="best"))
    gaps = out["equity_gaps"]
    summ = gaps[gaps["level"] == "summary"]
    assert summ["gap"].isna().all() and not summ["is_scored"].any()
    assert out["gap_replicates"].empty
    assert not out["subgroup_rates"]["is_scored"].any()


def test_best_reference_is_the_best_scored_subgroup(spark):
    mm, demo = story_frames(spark)
    out = tables_of(spark, mm, demo, settings(min_scored=2, reference_rule="best"))
    summ = out["equity_gaps"].query("group_id == 'G' and level == 'summary'")
    refs = dict(zip(summ["measure_id"], summ["reference"], strict=True))
    # HI: white 0.78 beats black 0.43 (hispanic n=1 is not scored); LO: white 0.22 is lowest
    assert refs == {"HI": "white", "LO": "white"}
    sub = out["equity_gaps"].query("group_id == 'G' and level == 'subgroup'")
    assert (sub.query("subgroup == 'black'")["gap"] > 0).all()


# --------------------------------------------------------------------------------------
# The profile bootstrap agrees with a naive member-row bootstrap
# --------------------------------------------------------------------------------------

RATES = {
    "HI": {"white": 0.75, "black": 0.60, "hispanic": 0.65, "asian": 0.70},
    "LO": {"white": 0.15, "black": 0.25, "hispanic": 0.20, "asian": 0.10},
}
B_REFERENCE = 2000
# Monte-Carlo error of a percentile-CI bound at B replicates. The alpha-quantile estimate
# of a bootstrap distribution with SD sigma has SD sqrt(alpha (1 - alpha) / B) / f(q),
# with density f(q) = phi(z_alpha) / sigma for a near-normal distribution: 2.67 sigma /
# sqrt(B) at alpha = 0.025. Two independent runs differ with SD sqrt(2) times that,
# 3.78 sigma / sqrt(B) (0.084 sigma at B = 2000); we allow 4 such SDs (two-sided
# p = 6e-5 per bound; about 60 bounds per dataset). The SE estimates differ with SD
# about sigma / sqrt(B) (each has SD sigma / sqrt(2B)); we allow 5 of those.
BOUND_TOL = 4 * 3.78 / np.sqrt(B_REFERENCE)
SE_TOL = 5 / np.sqrt(B_REFERENCE)


def naive_bootstrap(members: Members, group: str, replicates: int, seed: int, min_scored=30.0):
    """Resample member ROWS with replacement; return point and replicate rates, gaps and
    weighted-mean equity gaps (reference white; directions from DIRECTIONS)."""
    rows = members.group == group
    w = np.hstack([members.weights[rows], np.ones((rows.sum(), 1))])
    pop, num = members.in_population[rows], members.numerator[rows]
    sign = np.array([1.0 if DIRECTIONS[m] == "higher" else -1.0 for m in members.measures])

    def stats(idx):
        n = np.einsum("is,im->ms", w[idx], pop[idx].astype(float))
        k = np.einsum("is,im->ms", w[idx], num[idx].astype(float))
        rate = k / n
        gap = sign[:, None] * (rate[:, :1] - rate)  # reference = white, column 0
        return n, rate, gap

    n0, rate0, gap0 = stats(np.arange(rows.sum()))
    focus = n0[:, :4] >= min_scored
    focus[:, 0] = False
    rng = np.random.default_rng(seed)
    rep_rate, rep_gap, rep_eq = [], [], []
    for _ in range(replicates):
        n, rate, gap = stats(rng.integers(0, rows.sum(), rows.sum()))
        weights = np.where(focus, n[:, :4], 0.0)
        rep_rate.append(rate)
        rep_gap.append(gap[:, :4])
        rep_eq.append((weights * np.nan_to_num(gap[:, :4])).sum(1) / weights.sum(1))
    eq0 = (np.where(focus, n0[:, :4], 0) * gap0[:, :4]).sum(1) / np.where(focus, n0[:, :4], 0).sum(
        1
    )
    return n0, rate0, gap0, eq0, np.array(rep_rate), np.array(rep_gap), np.array(rep_eq)


def _check_interval(label, row, replicates, point):
    sigma = np.nanstd(replicates, ddof=1)
    low, high = np.nanpercentile(replicates, [2.5, 97.5])
    assert row["gap" if "gap" in row else "rate"] == pytest.approx(point, abs=1e-12), label
    assert abs(row["ci_low"] - low) <= BOUND_TOL * sigma, (label, row["ci_low"], low, sigma)
    assert abs(row["ci_high"] - high) <= BOUND_TOL * sigma, (label, row["ci_high"], high, sigma)
    assert abs(row["se"] - sigma) <= SE_TOL * sigma, (label, row["se"], sigma)


@pytest.mark.parametrize("imputed", [0, 600], ids=["self_reported", "imputed"])
def test_profile_bootstrap_matches_naive_member_bootstrap(spark, imputed):
    counts = {"white": 600, "black": 400, "hispanic": 250, "asian": 100}
    spec = GroupSpec("G1", counts, imputed=imputed, rates=RATES)
    members = simulate([spec], ("HI", "LO"), 2023, seed=11 + imputed)
    mm, demo = to_spark(spark, members)
    out = tables_of(spark, mm, demo, settings(replicates=B_REFERENCE, seed=99))
    n0, rate0, gap0, eq0, rep_rate, rep_gap, rep_eq = naive_bootstrap(
        members, "G1", B_REFERENCE, seed=5
    )
    subgroups = [*CATEGORIES, "ALL"]
    rates = out["subgroup_rates"].query("group_id == 'G1'").set_index(["measure_id", "subgroup"])
    gaps = out["equity_gaps"].query("group_id == 'G1'")
    sub = gaps.query("level == 'subgroup'").set_index(["measure_id", "subgroup"])
    summ = gaps.query("level == 'summary'").set_index("measure_id")
    for m, measure in enumerate(members.measures):
        for s, subgroup in enumerate(subgroups):
            row = rates.loc[(measure, subgroup)]
            assert row["n"] == pytest.approx(n0[m, s], abs=1e-9)
            _check_interval((measure, subgroup), row, rep_rate[:, m, s], rate0[m, s])
        for s, subgroup in enumerate(CATEGORIES[1:], start=1):
            _check_interval(
                (measure, subgroup, "gap"),
                sub.loc[(measure, subgroup)],
                rep_gap[:, m, s],
                gap0[m, s],
            )
        _check_interval((measure, "equity gap"), summ.loc[measure], rep_eq[:, m], eq0[m])


# --------------------------------------------------------------------------------------
# Coverage of planted gaps
# --------------------------------------------------------------------------------------

COVERAGE_GROUPS = 100
COVERAGE_RATES = {
    "HI": {"white": 0.70, "black": 0.55, "hispanic": 0.60, "asian": 0.0},
    "LO": {"white": 0.20, "black": 0.30, "hispanic": 0.25, "asian": 0.0},
}


def test_planted_gaps_fall_in_their_95pct_intervals_at_the_nominal_rate(spark):
    from scipy.stats import binom

    counts = {"white": 200, "black": 120, "hispanic": 80}
    specs = [GroupSpec(f"C{i:03d}", counts, rates=COVERAGE_RATES) for i in range(COVERAGE_GROUPS)]
    members = simulate(specs, ("HI", "LO"), 2023, seed=2024)
    mm, demo = to_spark(spark, members)
    gaps = tables_of(spark, mm, demo, settings(replicates=200, seed=3))["equity_gaps"]
    gaps = gaps[gaps["group_id"].str.startswith("C")]
    truth = {}
    for measure, sign in (("HI", 1), ("LO", -1)):
        planted = {
            s: sign * (COVERAGE_RATES[measure]["white"] - COVERAGE_RATES[measure][s])
            for s in ("black", "hispanic")
        }
        truth.update({(measure, s): g for s, g in planted.items()})
        # population selection does not depend on the category: expected weights = counts
        truth[(measure, None)] = (120 * planted["black"] + 80 * planted["hispanic"]) / 200
    # Binomial(100, 0.95): P(X <= 87) ~ 0.001; a type's coverage must reach 88 of 100.
    lowest = binom.ppf(0.001, COVERAGE_GROUPS, 0.95) + 1
    covered_all = 0
    for (measure, subgroup), planted in truth.items():
        rows = gaps[(gaps["measure_id"] == measure) & (gaps["level"] == "subgroup")]
        rows = (
            rows[rows["subgroup"] == subgroup]
            if subgroup
            else gaps[(gaps["measure_id"] == measure) & (gaps["level"] == "summary")]
        )
        assert len(rows) == COVERAGE_GROUPS
        covered = int(((rows["ci_low"] <= planted) & (planted <= rows["ci_high"])).sum())
        covered_all += covered
        assert covered >= lowest, (measure, subgroup, covered)
    # pooled over the 6 interval types (correlated, so a loose band around 0.95)
    assert 0.92 <= covered_all / (6 * COVERAGE_GROUPS) <= 0.985


# --------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------


def test_reruns_are_bit_identical_whatever_the_partitioning(spark):
    counts = {"white": 150, "black": 90, "hispanic": 40}
    specs = [GroupSpec(f"D{i}", counts, imputed=60, rates=RATES) for i in range(3)]
    members = simulate(specs, ("HI", "LO"), 2023, seed=8)
    mm, demo = to_spark(spark, members)
    cfg = settings(replicates=100)
    first = compute_cells(mm, demo, cfg).toPandas()
    shuffled = compute_cells(
        mm.repartition(5, "measure_id").orderBy(F.desc("member_id")),
        demo.repartition(3).orderBy("p_black"),
        cfg,
    ).toPandas()
    keys = ["group_id", "year", "kind", "measure_id", "subgroup", "replicate"]
    first = first.sort_values(keys, na_position="first").reset_index(drop=True)
    shuffled = shuffled.sort_values(keys, na_position="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, shuffled, check_exact=True)
    assert len(first) > 600  # rates, gaps, summaries and 100 replicates per group-measure


# --------------------------------------------------------------------------------------
# The step: Delta tables, partition replacement, eligibility with planted reasons
# --------------------------------------------------------------------------------------

ELIGIBILITY_SPECS = {
    "BIG": {"white": 3000, "black": 2500},  # eligible: a reduction of half the gap shows
    "TINY": {"white": 30, "black": 25},  # too few members to be scored
    "HOMOG": {"white": 600},  # no focus subgroup
    "NOISY": {"white": 400, "black": 60},  # a gap, but too imprecise to measure its reduction
}


def step_settings(tmp_path, base_config):
    """The shipped settings on a fresh lakehouse, computing 2021-2022 with the test's two
    measures (HI higher, LO lower), 200 replicates and seed 1."""
    shipped = load_settings(
        base_config.with_overrides(lakehouse=str(tmp_path / "lakehouse"), years=[2021, 2022])
    )
    stats = settings(seed=1, eligibility=Eligibility(baseline_years=(2021, 2022)))
    return dataclasses.replace(shipped, stats=stats)


def test_step_writes_tables_and_eligibility_reasons(spark, tmp_path, base_config):
    from p4e.context import RunContext
    from p4e.stats import run

    step = step_settings(tmp_path, base_config)
    ctx = RunContext.create(spark, step)
    sims = {}
    for year in (2021, 2022):
        specs = [GroupSpec(g, c, rates=RATES) for g, c in ELIGIBILITY_SPECS.items()]
        sims[year] = simulate(specs, ("HI", "LO"), year, seed=year)
        mm, demo = to_spark(spark, sims[year])
        mode = "overwrite" if year == 2021 else "append"
        ctx.write(MEMBER_MEASURES, mm, mode)
        ctx.write(MEMBER_DEMOGRAPHICS, demo, mode)
    run(ctx)

    out = {}
    for table in (SUBGROUP_RATES, EQUITY_GAPS, GAP_REPLICATES, ELIGIBILITY):
        df = ctx.read(table)
        assert df.schema.simpleString() == table.schema().simpleString()
        out[table.name] = df.toPandas()

    elig = out["eligibility"].set_index(["group_id", "measure_id"])
    assert set(elig.index.get_level_values(0)) == set(ELIGIBILITY_SPECS)  # no ALL_GROUPS
    for measure in DIRECTIONS:
        big = elig.loc[("BIG", measure)]
        assert big["is_eligible"] and list(big["reasons"]) == [], big
        assert 0 < big["se"] <= 0.03 and big["mdc80"] <= 0.5 * big["baseline_equity_gap"]
        assert big["replicates"] == 200 and big["max_mdc_share"] == 0.5
        # the figures: mean over the two baseline years of the planted members
        white = [
            (sims[y].weights[:, 0] * sims[y].in_population[:, list(DIRECTIONS).index(measure)])[
                sims[y].group == "BIG"
            ].sum()
            for y in (2021, 2022)
        ]
        assert big["n_reference"] == pytest.approx(np.mean(white))
        assert "reference_not_scored" in elig.loc[("TINY", measure), "reasons"]
        assert "no_focus_scored" in elig.loc[("HOMOG", measure), "reasons"]
        noisy = elig.loc[("NOISY", measure)]
        assert list(noisy["reasons"]) == ["reduction_not_detectable"], noisy
        assert noisy["mdc80"] > 0.5 * noisy["baseline_equity_gap"] > 0
        assert not (
            elig.loc[("TINY", measure), "is_eligible"]
            or elig.loc[("HOMOG", measure), "is_eligible"]
            or noisy["is_eligible"]
        )
    reps = out["gap_replicates"]
    assert len(reps.query("group_id == 'BIG' and measure_id == 'HI'")) == 2 * 200

    # rerun for 2022 only: 2021 is kept, 2022 is replaced by bit-identical rows
    rerun = RunContext.create(spark, dataclasses.replace(step, years=(2022,)))
    run(rerun)
    for table in (SUBGROUP_RATES, EQUITY_GAPS, GAP_REPLICATES):
        again = rerun.read(table).toPandas()
        keys = [c for c in again.columns if again[c].dtype == object and c != "reasons"]
        keys += ["year"] + (["replicate"] if table is GAP_REPLICATES else [])
        before = out[table.name].sort_values(keys).reset_index(drop=True)
        after = again.sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(before, after, check_exact=True)


# --------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------


def test_settings_from_config_and_clear_errors(base_config):
    from p4e.errors import ConfigError

    stats = {**base_config["stats"], "replicates": 200}
    loaded = load_settings(base_config.with_overrides(stats=stats)).stats
    assert loaded.directions == load_settings(base_config).measures.directions
    assert loaded.reference_category == "white"
    assert loaded.replicates == 200 and loaded.percentiles == pytest.approx((2.5, 97.5))
    assert loaded.eligibility.baseline_years == (2021, 2022)
    minimal = {"eligibility": {"baseline_years": [2021, 2022]}}
    defaults = load_settings(base_config.with_overrides(stats=minimal)).stats
    assert (defaults.replicates, defaults.min_scored, defaults.gap_summary) == (
        1000,
        30,
        "weighted_mean",
    )
    with pytest.raises(ConfigError, match=r"stats\.gap_summary must be one of"):
        load_settings(base_config.with_overrides(stats={**minimal, "gap_summary": "median"}))
    with pytest.raises(ConfigError, match=r"stats\.replcates is not a known field"):
        load_settings(base_config.with_overrides(stats={**minimal, "replcates": 10}))
    with pytest.raises(ConfigError, match=r"stats\.eligibility\.baseline_years is required"):
        load_settings(base_config.with_overrides(stats={"eligibility": {}}))


def test_unknown_measure_and_missing_reference_are_config_errors(spark):
    from p4e.errors import ConfigError

    mm, demo = story_frames(spark)
    with pytest.raises(ConfigError, match="LO"):
        compute_cells(mm, demo, settings(directions={"HI": "higher"}))
    with pytest.raises(ConfigError, match="nhpi"):
        compute_cells(mm, demo, settings(reference_category="nhpi"))


@pytest.mark.parametrize("per_profile", [1, 9], ids=["member-draws", "multinomial"])
def test_profile_draws_have_the_member_multinomial_moments(per_profile):
    """Both ways `draw_counts` draws (member picks after binomial thinning, or numpy's
    multinomial when members are many per profile) against a dense member-level
    resample: mean N c/N and covariance N (diag(p) - p p^T) of the profile counts."""
    from p4e.stats.resample import DRAWS_PER_PROFILE, draw_counts

    active = np.array([1, 2, 1, 3]) * per_profile
    n_members = int(active.sum()) + 5  # five members in no population
    assert (active.sum() > DRAWS_PER_PROFILE * len(active)) == (per_profile == 9)
    counts = draw_counts(np.random.default_rng(5), 100_000, n_members, active)
    member_profile = np.repeat(np.arange(len(active) + 1), [*active, 5])
    picks = np.random.default_rng(6).integers(0, n_members, size=(100_000, n_members))
    dense = np.stack([np.bincount(member_profile[p], minlength=5) for p in picks])[:, :4]
    p = active / n_members
    expected_cov = n_members * (np.diag(p) - np.outer(p, p))
    for draws in (counts, dense):
        assert np.allclose(draws.mean(axis=0), n_members * p, atol=0.03 * per_profile)
        assert np.allclose(np.cov(draws.T), expected_cov, atol=0.05 * per_profile)


def test_resampled_totals_of_members_in_no_population_are_zero():
    from p4e.stats.resample import resample_totals, sort_profiles

    probs = np.array([[1.0, 0.0], [0.2, 0.8]])
    outcomes = np.zeros((2, 3), dtype=np.int8)
    n, k, n_rep, k_rep = resample_totals(
        *sort_profiles(probs, outcomes, np.array([3, 4])), 7, np.random.default_rng(1)
    )
    assert n.shape == k.shape == (3, 3) and n_rep.shape == k_rep.shape == (7, 3, 3)
    assert not n.any() and not k.any() and not n_rep.any() and not k_rep.any()


def test_plan_wide_replicates_are_the_sums_of_the_groups_replicates():
    """ALL_GROUPS is the group-stratified bootstrap: its replicate b sums replicate b of
    every group; its interval is the percentile interval of those summed rates, whatever
    the order the groups' rows arrive in."""
    from p4e.stats.cells import estimate_group, plan_wide_cells

    rng = np.random.default_rng(8)
    cfg = settings(replicates=300)
    measures, cats = ["HI", "LO"], list(CATEGORIES)
    tables = []
    for group in ("G1", "G2", "UNATTRIBUTED"):
        size = 60
        probs = rng.dirichlet(np.ones(len(cats)), size=size)
        profile = {"group_id": [group] * size, "year": [2024] * size}
        profile |= {f"p_{c}": probs[:, i] for i, c in enumerate(cats)}
        profile |= {f"o_{m}": rng.integers(0, 3, size=size).astype(np.int8) for m in measures}
        profile["n_members"] = rng.integers(1, 4, size=size)
        tables.append(estimate_group(pa.table(profile), measures, cats, cfg))
    cells = pa.concat_tables(tables)
    plan = plan_wide_cells(cells, measures, cats, cfg).to_pandas()
    shuffled = cells.take(rng.permutation(cells.num_rows))
    assert (
        plan_wide_cells(shuffled, measures, cats, cfg)
        .to_pandas()
        .sort_values(["estimator", "group_id", "kind", "measure_id", "subgroup", "replicate"])
        .reset_index(drop=True)
        .equals(
            plan.sort_values(
                ["estimator", "group_id", "kind", "measure_id", "subgroup", "replicate"]
            ).reset_index(drop=True)
        )
    )
    assert "totals" not in set(plan["kind"])
    all_totals = cells.filter(pa.compute.equal(cells.column("kind"), "totals")).to_pandas()
    for estimator in ("weighted", "corrected"):
        totals = all_totals[all_totals["estimator"] == estimator]
        _check_plan_wide_sums(plan[plan["estimator"] == estimator], totals, measures, cats, cfg)


def _check_plan_wide_sums(plan, totals, measures, cats, cfg):
    from p4e.stats.resample import interval

    n = np.stack(totals["n_totals"]).reshape(3, 301, 2, 5)
    k = np.stack(totals["k_totals"]).reshape(3, 301, 2, 5)
    rates = plan.query("group_id == 'ALL_GROUPS' and kind == 'rate'").set_index(
        ["measure_id", "subgroup"]
    )
    for m, measure in enumerate(measures):
        for s, subgroup in enumerate([*cats, "ALL"]):
            row = rates.loc[(measure, subgroup)]
            assert row["n"] == pytest.approx(n[:, 0, m, s].sum(), rel=1e-12)
            summed = k[:, 1:, m, s].sum(axis=0) / n[:, 1:, m, s].sum(axis=0)
            low, high, _ = interval(summed, cfg.percentiles)
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-12)
