"""The gold tables shaped from the bootstrap's cell rows (`p4e.stats.cells`).

Each transform conforms to its table's declaration in `p4e.tables.stats`, where
every column's meaning is written. The weighted estimator's cells fill the main
columns; the corrected estimator's sit beside them (`*_corrected`).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.config.stats import StatsSettings
from p4e.stats.suppression import suppression
from p4e.tables import EQUITY_GAPS, GAP_REPLICATES, SUBGROUP_RATES
from p4e.tables.vocabulary import (
    ALL_SUBGROUP,
    CORRECTED,
    SUBGROUP_LEVEL,
    SUMMARY_LEVEL,
    WEIGHTED,
)

KEYS = ("group_id", "year", "kind", "measure_id")


def _kind(cells: DataFrame, *kinds: str) -> DataFrame:
    """The weighted cells of `kinds`, with the corrected cell's values beside each."""
    picked = cells.filter(F.col("kind").isin(*kinds))
    weighted = picked.filter(F.col("estimator") == WEIGHTED).alias("w")
    other = picked.filter(F.col("estimator") == CORRECTED).alias("c")
    same = [F.col(f"w.{key}") == F.col(f"c.{key}") for key in KEYS]
    same += [F.col(f"w.{key}").eqNullSafe(F.col(f"c.{key}")) for key in ("subgroup", "replicate")]
    beside = [
        F.col(f"c.{name}").alias(f"{name}_corrected")
        for name in ("n", "estimate", "ci_low", "ci_high", "se")
    ]
    return weighted.join(other, on=same, how="left").select("w.*", *beside)


def subgroup_rates(cells: DataFrame, settings: StatsSettings) -> DataFrame:
    """gold/subgroup_rates: one row per (group, measure, year, subgroup) with n > 0.

    Suppression treats the subgroups of one (group, measure, year) as one published
    table (`p4e.stats.suppression`); the ALL row is its total, suppressed only when it
    is itself below the threshold. `is_scored` flags n >= min_scored.
    """
    rates = _kind(cells, "rate").withColumn("is_total", F.col("subgroup") == ALL_SUBGROUP)
    rates = suppression(
        rates,
        ["group_id", "measure_id", "year", "is_total"],
        cell="subgroup",
        size="n",
        threshold=settings.min_cell_publish,
    )
    return SUBGROUP_RATES.conform(
        rates.select(
            "*",
            F.lit(settings.dimension).alias("dimension"),
            F.col("estimate").alias("rate"),
            F.col("estimate_corrected").alias("rate_corrected"),
            (F.col("n") >= settings.min_scored).alias("is_scored"),
            F.lit(settings.replicates).cast("int").alias("replicates"),
        )
    )


def equity_gaps(cells: DataFrame, settings: StatsSettings) -> DataFrame:
    """gold/equity_gaps: subgroup-level gaps and the (group, measure, year) summary in one table.

    level 'subgroup': one row per focus subgroup with n > 0 (gap = oriented p_ref - p_s,
    `is_scored` when both the focus and the reference reach min_scored). level 'summary':
    one row per (group, measure, year) with a rate population; `gap` is null (and
    `is_scored` false) when the reference or every focus subgroup is below min_scored.
    """
    directions = F.create_map(
        *[F.lit(x) for pair in sorted(settings.directions.items()) for x in pair]
    )
    is_subgroup = F.col("kind") == "gap"
    scored_subgroup = (F.col("n") >= settings.min_scored) & (
        F.col("n_reference") >= settings.min_scored
    )
    level = F.when(is_subgroup, F.lit(SUBGROUP_LEVEL)).otherwise(F.lit(SUMMARY_LEVEL))
    return EQUITY_GAPS.conform(
        _kind(cells, "gap", "summary").select(
            "group_id",
            "measure_id",
            "year",
            F.lit(settings.dimension).alias("dimension"),
            level.alias("level"),
            "subgroup",
            F.when(is_subgroup, F.lit("gap"))
            .otherwise(F.lit(settings.gap_summary))
            .alias("statistic"),
            directions[F.col("measure_id")].alias("direction"),
            "reference",
            "n_reference",
            "rate_reference",
            F.col("n").alias("n_focus"),
            "rate_focus",
            "n_focus_scored",
            F.col("estimate").alias("gap"),
            "ci_low",
            "ci_high",
            "se",
            F.col("estimate_corrected").alias("gap_corrected"),
            "ci_low_corrected",
            "ci_high_corrected",
            F.when(is_subgroup, F.coalesce(scored_subgroup, F.lit(False)))
            .otherwise(F.col("estimate").isNotNull())
            .alias("is_scored"),
            F.lit(settings.replicates).cast("int").alias("replicates"),
        )
    )


def gap_replicates(cells: DataFrame) -> DataFrame:
    """gold/gap_replicates: the B replicate equity gaps of every scored (group, measure, year)."""
    return GAP_REPLICATES.conform(
        _kind(cells, "replicate").select(
            "*",
            F.col("estimate").alias("equity_gap"),
            F.col("estimate_corrected").alias("equity_gap_corrected"),
        )
    )
