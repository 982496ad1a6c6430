"""Who is in a measure's population: age, continuous enrollment, plan membership, group."""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from p4e.tables import PLAN_PAYER


def age_on(birth_date: Column, anchor: date) -> Column:
    """Age in whole years on `anchor` (a birthday on the anchor day counts)."""
    birthday_later = (F.month(birth_date) > anchor.month) | (
        (F.month(birth_date) == anchor.month) & (F.dayofmonth(birth_date) > anchor.day)
    )
    return F.lit(anchor.year) - F.year(birth_date) - F.when(birthday_later, 1).otherwise(0)


def enrollment_gaps(enrollment: DataFrame, year: int) -> DataFrame:
    """Coverage gaps of each member in the calendar year, any payer.

    Spans are clipped to the year; overlapping or abutting spans merge (a span
    starting the day after the furthest end so far leaves no gap). Uncovered days
    before the first span and after the last count as gaps too.

    Args:
        enrollment: spans (member_id, payer, start_date, end_date inclusive).
        year: calendar year.

    Returns:
        member_id, n_gaps INT, longest_gap INT (days), is_plan_member BOOLEAN (a
        span with the plan's own payer overlaps the year); only members with a span
        overlapping the year.
    """
    first, last = date(year, 1, 1), date(year, 12, 31)
    spans = enrollment.select(
        "member_id",
        (F.col("payer") == PLAN_PAYER).alias("is_plan"),
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


def attributed_group(attribution: DataFrame, year: int) -> DataFrame:
    """The member's group for the year: the lowest group_id when several are attributed.

    Members without attribution in the year do not appear (the caller labels them
    UNATTRIBUTED).

    Returns:
        member_id, group_id.
    """
    return (
        attribution.filter((F.col("year") == year) & F.col("group_id").isNotNull())
        .groupBy("member_id")
        .agg(F.min("group_id").alias("group_id"))
    )
