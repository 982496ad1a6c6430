"""Recorded race/ethnicity answers (raw race_ethnicity) from the members' true categories.

- Self-reports: completeness of a group grows linearly from SELF_REPORT_FIRST in the
  first measurement year to SELF_REPORT_LAST in the last (plus the group's
  completeness shift). A member's first self-report falls in the first year whose
  completeness exceeds the member's uniform draw, so the share with a self-report
  recorded by Dec 31 of year y is the year's completeness. First-year answers are
  spread over the two preceding years too. A share declines (code DECLINED).
- Changed answers: a share of self-reporters also have an earlier self-report with
  another code (60-700 days before, not before birth); the later one is their true answer.
- Provider-reported: a share of members, dated anywhere in the event years, true code.
- The others have no record and are left to imputation.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.generate.hashing import below, day_of_year, pick, uniform
from p4e.generate.plan import Plan
from p4e.generate.scenarios import CATEGORIES

SELF_REPORT_FIRST, SELF_REPORT_LAST = 0.35, 0.80
DECLINED = "DECLINED"
DECLINED_SHARE = 0.06
CHANGED_SHARE = 0.08
PROVIDER_SHARE = 0.35


def race_ethnicity(spark: SparkSession, members: DataFrame, plan: Plan) -> DataFrame:
    """race_ethnicity(person_id, source, code, recorded_date) for the members.

    Args:
        spark: session.
        members: output of population.members_frame (hidden category and group).
        plan: run plan.
    """
    seed = plan.seed

    def u(salt: str) -> Column:
        return uniform(seed, salt, "member_id")

    shifts = F.broadcast(spark.createDataFrame(plan.groups[["group_id", "completeness_shift"]]))
    draw = u("self_report") - F.col("completeness_shift")
    n = len(plan.years)
    report_year = F.lit(None).cast("int")
    for i, year in reversed(list(enumerate(plan.years))):
        completeness = SELF_REPORT_FIRST + (SELF_REPORT_LAST - SELF_REPORT_FIRST) * i / max(
            n - 1, 1
        )
        report_year = F.when(draw < completeness, F.lit(year)).otherwise(report_year)
    spread_back = F.when(F.col("report_year") == plan.first_year, below(u("report_back"), 0, 2))
    final_year = F.col("report_year") - F.coalesce(spread_back, F.lit(0))
    final_date = _within_life(day_of_year(final_year, u("report_day")))
    self_code = F.when(u("declined") < DECLINED_SHARE, DECLINED).otherwise(F.col("category"))
    other = pick(CATEGORIES, u("earlier_code"))
    earlier_code = F.when(other == F.col("category"), DECLINED).otherwise(other)
    earlier_date = F.date_sub(final_date, below(u("earlier_days"), 60, 700))
    has_earlier = (u("changed") < CHANGED_SHARE) & (earlier_date >= F.col("birth_date"))
    provider_year = below(u("provider_year"), plan.event_years[0], plan.last_year)
    records = F.array(
        F.when(F.col("report_year").isNotNull(), _record("self_reported", self_code, final_date)),
        F.when(
            F.col("report_year").isNotNull() & has_earlier,
            _record("self_reported", earlier_code, earlier_date),
        ),
        F.when(
            u("provider") < PROVIDER_SHARE,
            _record(
                "provider_reported",
                F.col("category"),
                _within_life(day_of_year(provider_year, u("pday"))),
            ),
        ),
    )
    return (
        members.join(shifts, on="group_id", how="left")
        .withColumn("report_year", report_year)
        .select("member_id", F.explode(records).alias("record"))
        .where(F.col("record").isNotNull())
        .select(
            F.col("member_id").alias("person_id"),
            F.col("record.source").alias("source"),
            F.col("record.code").alias("code"),
            F.col("record.recorded_date").alias("recorded_date"),
        )
    )


def _record(source: str, code: Column, recorded: Column) -> Column:
    return F.struct(
        F.lit(source).alias("source"), code.alias("code"), recorded.alias("recorded_date")
    )


def _within_life(date: Column) -> Column:
    """`date` moved into the member's lifetime (not before birth, not after death)."""
    late_enough = F.greatest(date, F.col("birth_date"))
    return F.least(late_enough, F.coalesce(F.col("death_date"), late_enough))
