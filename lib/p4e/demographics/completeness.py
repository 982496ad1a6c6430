"""gold/data_completeness: how each group's members' answers were obtained.

Per provider group and year, over the members attributed to the group that year
(members without an attribution under UNATTRIBUTED, every member once more under
ALL_GROUPS): the member count, the count per source, and the shares. The
completeness metric is `share_self_reported` = (self-reported + declined by the
member) / members: a decline the member gave is an answer; one only a provider
recorded is not.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.stats.suppression import suppression
from p4e.tables import DATA_COMPLETENESS
from p4e.tables.vocabulary import (
    ALL_GROUPS,
    COMPLETENESS_SOURCES,
    DECLINED,
    IMPUTED,
    PROVIDER_REPORTED,
    SELF_REPORTED,
    UNATTRIBUTED,
    UNKNOWN,
)

_COUNTS = {
    "n_self_reported": SELF_REPORTED,
    "n_declined": DECLINED,
    "n_provider_reported": PROVIDER_REPORTED,
    "n_imputed": IMPUTED,
    "n_unknown": UNKNOWN,
}


def data_completeness(
    demographics: DataFrame, attribution: DataFrame, min_cell_publish: float
) -> DataFrame:
    """Completeness per group and year.

    Args:
        demographics: silver/member_demographics (member_id, year, dimension, source, ...).
        attribution: silver/member_groups (member_id, group_id, year).
        min_cell_publish: smallest publishable count (`suppressed_sources`).

    Returns:
        Rows of gold/data_completeness (`p4e.tables.DATA_COMPLETENESS`).
    """
    demo = demographics.select("member_id", "year", "dimension", "source", "answer_source")
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
            F.count(
                F.when(
                    (F.col("source") == F.lit(DECLINED))
                    & (F.col("answer_source") == F.lit(SELF_REPORTED)),
                    1,
                )
            ).alias("n_declined_by_member"),
        )
    )
    members = F.col("members").cast("double")
    shares = counts.select(
        "*",
        ((F.col("n_self_reported") + F.col("n_declined_by_member")) / members).alias(
            "share_self_reported"
        ),
        (F.col("n_provider_reported") / members).alias("share_provider_reported"),
        (F.col("n_imputed") / members).alias("share_imputed"),
        (F.col("n_unknown") / members).alias("share_unknown"),
    )
    return DATA_COMPLETENESS.conform(_with_suppression(shares, min_cell_publish))


def _with_suppression(counts: DataFrame, threshold: float) -> DataFrame:
    """`counts` with `suppressed_sources`: each row is a published table of its source counts."""
    keys = ["group_id", "year", "dimension"]
    cells = F.explode(
        F.array(
            *[
                F.struct(F.lit(source).alias("source"), F.col(f"n_{source}").alias("n"))
                for source in COMPLETENESS_SOURCES
            ]
        )
    )
    long = counts.select(*keys, cells.alias("cell")).select(*keys, "cell.*")
    hidden = (
        suppression(long.filter(F.col("n") > 0), keys, "source", "n", threshold)
        .groupBy(*keys)
        .agg(
            F.sort_array(F.collect_list(F.when(F.col("is_suppressed"), F.col("source")))).alias(
                "suppressed_sources"
            )
        )
    )
    return counts.join(hidden, on=keys, how="left").withColumn(
        "suppressed_sources",
        F.coalesce(F.col("suppressed_sources"), F.array().cast("array<string>")),
    )
