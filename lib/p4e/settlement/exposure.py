"""Member months of a provider group in a year, for PMPM pools.

A member month is a calendar month of the year in which a member attributed to the
group that year (silver/member_groups) has coverage on at least one
day (`p4e.membership.spans`, end inclusive), counted once however many spans cover it.
Scope 'plan' counts the plan's own spans only (`plan.payers`); 'all' every payer.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def member_months(
    attribution: DataFrame,
    enrollment: DataFrame,
    groups: Sequence[str],
    years: Sequence[int],
    scope: str,
    payers: Sequence[str],
) -> DataFrame:
    """group_id, year, member_months (BIGINT) of each group-year with a member month.

    Args:
        attribution: the group per member and year (member_id, group_id, year).
        enrollment: coverage spans (member_id, payer, start_date, end_date).
        groups: provider groups to count.
        years: the years.
        scope: 'plan' or 'all'.
        payers: the plan's own payers.
    """
    attributed = (
        attribution.filter(F.col("year").isin(list(years)) & F.col("group_id").isin(list(groups)))
        .select("member_id", "group_id", "year")
        .distinct()
    )
    spans = enrollment if scope == "all" else enrollment.filter(F.col("payer").isin(*payers))
    first = F.make_date(F.col("year"), F.lit(1), F.lit(1))
    last = F.make_date(F.col("year"), F.lit(12), F.lit(31))
    overlaps = (F.col("start_date") <= last) & (F.col("end_date") >= first)
    months = F.sequence(
        F.month(F.greatest(F.col("start_date"), first)),
        F.month(F.least(F.col("end_date"), last)),
    )
    return (
        attributed.join(
            spans.select("member_id", "start_date", "end_date"), on="member_id", how="inner"
        )
        .filter(overlaps)
        .select("group_id", "year", "member_id", F.explode(months).alias("month"))
        .distinct()
        .groupBy("group_id", "year")
        .agg(F.count(F.lit(1)).alias("member_months"))
    )
