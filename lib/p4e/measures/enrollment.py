"""The continuous-enrollment rule: the plan's own coverage over each measure's periods.

HEDIS counts enrollment in the organisation's own coverage only (another payer does
not fill a gap): per period (COL: MY-1 and MY, each calendar year on its own; BCS:
Oct 1-Dec 31 of MY-2 with no gap, then MY-1 and MY) at most `max_gaps` gaps of at
most `max_gap_days` days, and covered on the anchor date (Dec 31 of MY). A check is
one (start, end, max_gaps, max_gap_days); the anchor is the check of its single day
with no gap allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from p4e.config.measures import Measure

Check = tuple[date, date, int, int]


def check_key(check: Check) -> str:
    """Column name of a check's result: `enrolled_<start>_<end>_<gaps>_<days>`."""
    start, end, gaps, days = check
    return f"enrolled_{start:%Y%m%d}_{end:%Y%m%d}_{gaps}_{days}"


def enrollment_checks(
    spark: SparkSession, enrollment: DataFrame, checks: Sequence[Check], payers: Sequence[str]
) -> DataFrame:
    """Whether each member's coverage by the plan's own payers passes each check.

    Spans are clipped to the check's period; overlapping or abutting spans merge (a
    span starting the day after the furthest end so far leaves no gap); uncovered days
    before the first span and after the last are gaps too.

    Args:
        spark: session (builds the small table of checks).
        enrollment: spans (member_id, payer, start_date, end_date inclusive; open-ended
            spans already closed by `p4e.membership.spans`).
        checks: the distinct checks of the measures of a year.
        payers: the plan's own payers (`plan.payers`).

    Returns:
        member_id and one BOOLEAN column per check (`check_key`), true when passed, null
        when the member has no plan span in its period; members with a plan span in
        some period only.
    """
    table = F.broadcast(
        spark.createDataFrame(
            [(check_key(c), *c) for c in sorted(set(checks))],
            "check STRING, first DATE, last DATE, max_gaps INT, max_gap_days INT",
        )
    )
    spans = (
        enrollment.filter(F.col("payer").isin(*payers))
        .join(
            table,
            (F.col("start_date") <= F.col("last")) & (F.col("end_date") >= F.col("first")),
        )
        .select(
            "member_id",
            "check",
            "first",
            "last",
            "max_gaps",
            "max_gap_days",
            F.greatest("start_date", "first").alias("start"),
            F.least("end_date", "last").alias("end"),
        )
    )
    before = Window.partitionBy("member_id", "check").orderBy("start", "end")
    covered_until = F.max("end").over(before.rowsBetween(Window.unboundedPreceding, -1))
    gap_before = F.datediff("start", F.coalesce(covered_until, F.date_sub("first", 1))) - 1
    n_gaps = F.col("inner_gaps") + F.when(F.col("gap_after") > 0, 1).otherwise(0)
    per_check = (
        spans.withColumn("gap_before", gap_before)
        .groupBy("member_id", "check", "last", "max_gaps", "max_gap_days")
        .agg(
            F.sum(F.when(F.col("gap_before") > 0, 1).otherwise(0)).alias("inner_gaps"),
            F.max("gap_before").alias("longest_inner"),
            F.datediff(F.col("last"), F.max("end")).alias("gap_after"),
        )
        .select(
            "member_id",
            "check",
            (
                (n_gaps <= F.col("max_gaps"))
                & (F.greatest("longest_inner", "gap_after") <= F.col("max_gap_days"))
            ).alias("passed"),
        )
    )
    keys = [check_key(c) for c in sorted(set(checks))]
    return per_check.groupBy("member_id").agg(
        *[F.max(F.when(F.col("check") == key, F.col("passed"))).alias(key) for key in keys]
    )


def is_continuously_enrolled(measure: Measure, year: int) -> Column:
    """The measure's rule on the columns of `enrollment_checks`: every check passed."""
    passed = F.lit(True)
    for check in measure.enrollment.checks(year):
        passed &= F.coalesce(F.col(check_key(check)), F.lit(False))
    return passed
