"""The continuous-enrollment rule: coverage gaps per member and year, and plan membership."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from p4e.config.measures import Measure


def enrollment_gaps(enrollment: DataFrame, year: int, payers: Sequence[str]) -> DataFrame:
    """Coverage gaps of each member in the calendar year, any payer.

    Spans are clipped to the year; overlapping or abutting spans merge (a span
    starting the day after the furthest end so far leaves no gap). Uncovered days
    before the first span and after the last count as gaps too.

    Args:
        enrollment: spans (member_id, payer, start_date, end_date inclusive).
        year: calendar year.
        payers: the plan's own payers (`plan.payers`).

    Returns:
        member_id, n_gaps INT, longest_gap INT (days), is_plan_member BOOLEAN (a
        span of the plan's own payers overlaps the year); only members with a span
        overlapping the year.
    """
    first, last = date(year, 1, 1), date(year, 12, 31)
    spans = enrollment.select(
        "member_id",
        F.col("payer").isin(*payers).alias("is_plan"),
        F.greatest(F.col("start_date"), F.lit(first)).alias("start"),
        F.least(F.col("end_date"), F.lit(last)).alias("end"),
    ).filter(F.col("start") <= F.col("end"))
    before = Window.partitionBy("member_id").orderBy("start", "end")
    covered_until = F.max("end").over(before.rowsBetween(Window.unboundedPreceding, -1))
    gap_before = F.datediff(
        F.col("start"), F.coalesce(covered_until, F.lit(first - timedelta(days=1)))
    ) - F.lit(1)
    gaps = (
        spans.withColumn("gap_before", gap_before)
        .groupBy("member_id")
        .agg(
            F.sum(F.when(F.col("gap_before") > 0, 1).otherwise(0)).alias("inner_gaps"),
            F.max("gap_before").alias("longest_inner"),
            F.datediff(F.lit(last), F.max("end")).alias("gap_after"),
            F.max(F.col("is_plan")).alias("is_plan_member"),
        )
    )
    return gaps.select(
        "member_id",
        (F.col("inner_gaps") + F.when(F.col("gap_after") > 0, 1).otherwise(0))
        .cast("int")
        .alias("n_gaps"),
        F.greatest(F.col("longest_inner"), F.col("gap_after"), F.lit(0))
        .cast("int")
        .alias("longest_gap"),
        F.coalesce(F.col("is_plan_member"), F.lit(False)).alias("is_plan_member"),
    )


def is_continuously_enrolled(measure: Measure) -> Column:
    """The measure's rule on the columns of `enrollment_gaps`: at most `max_gaps` gaps,
    none longer than `max_gap_days` (false for a member without a span in the year)."""
    return F.coalesce(
        (F.col("n_gaps") <= measure.max_gaps) & (F.col("longest_gap") <= measure.max_gap_days),
        F.lit(False),
    )
