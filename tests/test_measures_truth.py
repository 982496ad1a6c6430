"""Measured rates on a generated lakehouse agree with the generator's planted truth.

The generator (`p4e.generate`) draws each member-year's compliance with the
planted rate of (home group, true category, measure, year) and writes the rate
the engine should measure to raw/truth_rates. Members are drawn independently of
one another, so within a year the engine's numerator count in a cell is
binomial (pooled over cells: a sum of independent Bernoulli draws), and the test
allows 4 standard errors: a two-sided false alarm
of about 6e-5 per comparison under the normal approximation (below 1% over all
the cells compared), while a misapplied rule (a window off by a year, a
threshold on the wrong side, a missing exclusion) moves the pooled rates by
several standard errors. The seed is fixed, so the test is deterministic.

The true category is hidden from the pipeline; the test rebuilds it with the
generator's own member frame.

A member's outcomes persist across years, as screening does (a colonoscopy counts
for ten years, a mammogram for 27 months): the panel bootstrap exists because of
that correlation, so the measured member-level correlation from one year to the
next is checked too.
"""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.config import load_settings
from p4e.context import RunContext
from p4e.generate import generate_lakehouse, population, rates
from p4e.generate.plan import make_plan
from p4e.pipeline import run_steps
from p4e.tables import MEMBER_MEASURES, TRUTH_RATES
from p4e.tables.vocabulary import UNATTRIBUTED

MEMBERS, SEED, YEARS = 5000, 11, [2024, 2025]
TOLERANCE_SE = 4.0
MIN_CELL = 30
MIN_CORRELATION = 0.5


@pytest.fixture(scope="module")
def measured(spark, base_config, tmp_path_factory) -> tuple[RunContext, DataFrame]:
    """Member measures of a generated lakehouse, with each member's true category."""
    lake = tmp_path_factory.mktemp("truth") / "lakehouse"
    settings = load_settings(base_config.with_overrides(lakehouse=str(lake), years=YEARS))
    generate_lakehouse(spark, settings, members=MEMBERS, seed=SEED)
    run_steps(spark, settings, ["validate", "membership", "events", "measures"])
    ctx = RunContext.create(spark, settings)
    plan = make_plan(settings, members=MEMBERS, seed=SEED, measures=rates.MEASURES)
    hidden = population.members_frame(spark, plan).select(
        "member_id", F.col("group_id").alias("home_group"), "category"
    )
    return ctx, hidden


def test_measured_rates_match_planted_truth(measured):
    ctx, hidden = measured
    truth = ctx.read(TRUTH_RATES).select(
        F.col("group_id").alias("home_group"), "category", "measure_id", "year", "rate"
    )
    counted = (
        ctx.read(MEMBER_MEASURES)
        .filter(F.col("is_denominator") & ~F.col("is_excluded"))
        .join(hidden, on="member_id", how="inner")
        .join(truth, on=["home_group", "category", "measure_id", "year"], how="inner")
        .withColumn("hit", F.col("is_numerator").cast("double"))
    )

    # Pooled per measure and year (every member, attributed or not).
    pooled = (
        counted.groupBy("measure_id", "year")
        .agg(
            F.sum("hit").alias("k"),
            F.sum("rate").alias("expected"),
            F.sum(F.col("rate") * (1 - F.col("rate"))).alias("variance"),
        )
        .collect()
    )
    assert len(pooled) == 6 * len(YEARS)
    for row in pooled:
        z = (row["k"] - row["expected"]) / row["variance"] ** 0.5
        assert abs(z) <= TOLERANCE_SE, (row["measure_id"], row["year"], z)

    # Per attributed group, true category and year, cells of at least MIN_CELL members.
    cells = (
        counted.filter(F.col("group_id") != UNATTRIBUTED)
        .groupBy("group_id", "category", "measure_id", "year")
        .agg(F.count("*").alias("n"), F.sum("hit").alias("k"), F.max("rate").alias("p"))
        .filter(F.col("n") >= MIN_CELL)
        .collect()
    )
    assert len(cells) >= 25
    for c in cells:
        se = (c["n"] * c["p"] * (1 - c["p"])) ** 0.5
        key = (c["group_id"], c["category"], c["measure_id"], c["year"], c["n"], c["k"], c["p"])
        assert abs(c["k"] - c["n"] * c["p"]) <= TOLERANCE_SE * se + 0.5, key


@pytest.mark.parametrize("measure_id", ["COL", "BCS"])
def test_screening_persists_from_year_to_year(measured, measure_id):
    ctx, _ = measured
    counted = (
        ctx.read(MEMBER_MEASURES)
        .filter(F.col("is_denominator") & ~F.col("is_excluded"))
        .filter(F.col("measure_id") == measure_id)
        .select("member_id", "year", F.col("is_numerator").cast("double").alias("hit"))
    )
    first, second = YEARS
    pairs = counted.filter(F.col("year") == first).join(
        counted.filter(F.col("year") == second).withColumnRenamed("hit", "next"),
        on="member_id",
    )
    row = pairs.agg(F.count("*").alias("n"), F.corr("hit", "next").alias("r")).first()
    assert row is not None and row["n"] >= 300, row
    assert row["r"] >= MIN_CORRELATION, (measure_id, row["n"], row["r"])
