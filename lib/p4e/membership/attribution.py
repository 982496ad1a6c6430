"""One provider group per member and year, from the monthly `provider_attribution`.

`plan.attribution.rule`: `latest_month` (default) takes the group of the latest
attributed month of the year; `most_months` the group attributed in most months
of the year, ties going to the one attributed latest. A month attributed to two
groups has been quarantined by validation, a repeated month deduplicated.
`plan.attribution.organization` picks the column that names the group (payer's or
custom attribution).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.config.sections import PlanSettings

ORGANIZATION = {
    "payer": "payer_attributed_provider_organization",
    "custom": "custom_attributed_provider_organization",
}


def monthly_attribution(attribution: DataFrame, plan: PlanSettings) -> DataFrame:
    """member_id, year, month, group_id of every attributed month."""
    return attribution.select(
        F.col("person_id").alias("member_id"),
        F.substring("year_month", 1, 4).cast("int").alias("year"),
        F.substring("year_month", 5, 2).cast("int").alias("month"),
        F.col(ORGANIZATION[plan.attribution_organization]).alias("group_id"),
    ).filter(F.col("group_id").isNotNull())


def yearly_attribution(attribution: DataFrame, plan: PlanSettings) -> DataFrame:
    """member_id, group_id, year: the member's group in each year with an attributed month.

    `attribution` is validated: one row per person and month (duplicates and conflicts
    quarantined), so months are counted as rows, with no pass to deduplicate them."""
    months = monthly_attribution(attribution, plan)
    if plan.attribution_rule == "most_months":
        per_group = months.groupBy("member_id", "year", "group_id").agg(
            F.count("month").alias("months"), F.max("month").alias("last")
        )
        order = F.struct("months", "last", "group_id")
        source = per_group
    else:
        order = F.struct("month", "group_id")
        source = months
    return (
        source.groupBy("member_id", "year")
        .agg(F.max_by("group_id", order).alias("group_id"))
        .select("member_id", "group_id", "year")
    )
