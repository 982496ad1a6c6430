"""The gold tables shaped from the bootstrap's cell rows. Each transform's final `select`
is its schema contract. All three are partitioned by `year`.

gold/subgroup_rates, one row per (group_id, measure_id, year, subgroup) with n > 0:
    group_id      provider group, 'UNATTRIBUTED', or 'ALL_GROUPS' (every member of the plan)
    measure_id    measure id
    year          measurement year
    dimension     the dimension (`dimension:` of conf/p4e.yaml)
    subgroup      a category code of the dimension, or 'ALL' (every member, weight 1)
    n             weighted denominator: sum over the rate population (is_denominator and
                  not is_excluded) of the member's probability of the subgroup
    k             weighted numerator (same weights, members with is_numerator)
    rate          k / n
    ci_low, ci_high  bootstrap percentile interval of the rate (stats.ci_level)
    se            bootstrap standard error (SD of the replicate rates)
    is_suppressed n < stats.min_cell_publish (values kept; publishers must blank them)
    is_scored     n >= stats.min_scored
    replicates    bootstrap replicates B behind the interval

gold/equity_gaps, level 'subgroup': one row per focus subgroup (n > 0, not the reference);
level 'summary': one row per (group_id, measure_id, year) with a rate population:
    level         'subgroup' | 'summary'
    subgroup      the focus subgroup (null on summary rows)
    statistic     'gap' on subgroup rows; the summary method (stats.gap_summary) on summary rows
    direction     'higher' | 'lower' (which way the measure is better)
    reference     the reference subgroup (fixed category, or best scored subgroup by point
                  estimate when stats.reference is 'best'; kept fixed across replicates)
    n_reference, rate_reference   the reference subgroup's n and rate
    n_focus       subgroup rows: the focus subgroup's n; summary rows: sum of n over the
                  scored focus subgroups
    rate_focus    the focus subgroup's rate (subgroup rows)
    n_focus_scored  number of scored focus subgroups (summary rows)
    gap           subgroup rows: oriented gap, p_ref - p_s (higher is better) or
                  p_s - p_ref (lower is better), positive = the focus subgroup does worse;
                  summary rows: the equity gap = weighted_mean (n-weighted mean of the
                  scored focus gaps), max (largest scored focus gap) or variance
                  (n-weighted variance of the rates of the scored focus subgroups and the
                  reference); null when the reference or every focus subgroup is unscored
    ci_low, ci_high, se   bootstrap percentile interval and SE of `gap`
    is_scored     subgroup rows: focus and reference n >= min_scored; summary: gap not null
    replicates    B

gold/gap_replicates, one row per replicate of every non-null summary gap:
    group_id, measure_id, year, replicate (0..B-1), equity_gap (the replicate's summary gap;
    replicates of different years are independent draws)
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.stats.settings import StatsSettings

SUBGROUP_RATES_SCHEMA = (
    "group_id STRING, measure_id STRING, year INT, dimension STRING, subgroup STRING, "
    "n DOUBLE, k DOUBLE, rate DOUBLE, ci_low DOUBLE, ci_high DOUBLE, se DOUBLE, "
    "is_suppressed BOOLEAN, is_scored BOOLEAN, replicates INT"
)
EQUITY_GAPS_SCHEMA = (
    "group_id STRING, measure_id STRING, year INT, dimension STRING, level STRING, "
    "subgroup STRING, statistic STRING, direction STRING, reference STRING, "
    "n_reference DOUBLE, rate_reference DOUBLE, n_focus DOUBLE, rate_focus DOUBLE, "
    "n_focus_scored INT, gap DOUBLE, ci_low DOUBLE, ci_high DOUBLE, se DOUBLE, "
    "is_scored BOOLEAN, replicates INT"
)
GAP_REPLICATES_SCHEMA = (
    "group_id STRING, measure_id STRING, year INT, replicate INT, equity_gap DOUBLE"
)


def _kind(cells: DataFrame, kind: str) -> DataFrame:
    return cells.filter(F.col("kind") == kind)


def subgroup_rates(cells: DataFrame, settings: StatsSettings) -> DataFrame:
    """gold/subgroup_rates: one row per (group, measure, year, subgroup) with n > 0.

    `is_suppressed` flags n < min_cell_publish (values are kept; publishers blank them);
    `is_scored` flags n >= min_scored.
    """
    return _kind(cells, "rate").select(
        "group_id",
        "measure_id",
        "year",
        F.lit(settings.dimension).alias("dimension"),
        "subgroup",
        "n",
        "k",
        F.col("estimate").alias("rate"),
        "ci_low",
        "ci_high",
        "se",
        (F.col("n") < settings.min_cell_publish).alias("is_suppressed"),
        (F.col("n") >= settings.min_scored).alias("is_scored"),
        F.lit(settings.replicates).cast("int").alias("replicates"),
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
    return cells.filter(F.col("kind").isin("gap", "summary")).select(
        "group_id",
        "measure_id",
        "year",
        F.lit(settings.dimension).alias("dimension"),
        F.when(is_subgroup, F.lit("subgroup")).otherwise(F.lit("summary")).alias("level"),
        "subgroup",
        F.when(is_subgroup, F.lit("gap")).otherwise(F.lit(settings.gap_summary)).alias("statistic"),
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
        F.when(is_subgroup, F.coalesce(scored_subgroup, F.lit(False)))
        .otherwise(F.col("estimate").isNotNull())
        .alias("is_scored"),
        F.lit(settings.replicates).cast("int").alias("replicates"),
    )


def gap_replicates(cells: DataFrame) -> DataFrame:
    """gold/gap_replicates: the B replicate equity gaps of every scored (group, measure, year)."""
    return _kind(cells, "replicate").select(
        "group_id",
        "measure_id",
        "year",
        "replicate",
        F.col("estimate").alias("equity_gap"),
    )
