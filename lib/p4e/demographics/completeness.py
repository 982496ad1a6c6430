"""gold/data_completeness: how each group's members' answers were obtained (SPEC §4, §6).

Per provider group and year, over the members attributed to the group that year
(members without an attribution under UNATTRIBUTED, every member once more under
ALL_GROUPS): the member count, the count per source, and the shares. The
completeness metric is `share_self_reported` = (self-reported + declined) /
members: declining is an answer.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.demographics.dimension import DECLINED, IMPUTED, UNKNOWN
from p4e.tables import ALL_GROUPS, UNATTRIBUTED

_COUNTS = {
    "n_self_reported": "self_reported",
    "n_declined": DECLINED,
    "n_provider_reported": "provider_reported",
    "n_imputed": IMPUTED,
    "n_unknown": UNKNOWN,
}


def data_completeness(demographics: DataFrame, attribution: DataFrame) -> DataFrame:
    """Completeness per group and year.

    Args:
        demographics: silver/member_demographics (member_id, year, dimension, source, ...).
        attribution: silver/attribution (member_id, group_id, year). A member
            attributed to two groups in a year counts in both (once in ALL_GROUPS).

    Returns:
        group_id STRING, year INT, dimension STRING, members BIGINT, n_self_reported,
        n_declined, n_provider_reported, n_imputed, n_unknown BIGINT,
        share_self_reported (self-reported and declined), share_provider_reported,
        share_imputed, share_unknown DOUBLE.
    """
    demo = demographics.select("member_id", "year", "dimension", "source")
    groups = attribution.select("member_id", "group_id", "year").distinct()
    by_group = demo.join(groups, on=["member_id", "year"], how="left").withColumn(
        "group_id", F.coalesce(F.col("group_id"), F.lit(UNATTRIBUTED))
    )
    everyone = demo.withColumn("group_id", F.lit(ALL_GROUPS))
    counts = (
        by_group.unionByName(everyone)
        .groupBy("group_id", "year", "dimension")
        .agg(
            F.count(F.lit(1)).alias("members"),
            *[
                F.count(F.when(F.col("source") == F.lit(source), 1)).alias(name)
                for name, source in _COUNTS.items()
            ],
        )
    )
    members = F.col("members").cast("double")
    return counts.select(
        "group_id",
        "year",
        "dimension",
        "members",
        *_COUNTS,
        ((F.col("n_self_reported") + F.col("n_declined")) / members).alias("share_self_reported"),
        (F.col("n_provider_reported") / members).alias("share_provider_reported"),
        (F.col("n_imputed") / members).alias("share_imputed"),
        (F.col("n_unknown") / members).alias("share_unknown"),
    )
