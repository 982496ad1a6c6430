"""Baseline eligibility of each (provider group, measure) (docs/methodology.md).

The baseline is the mean over the configured baseline years. Every figure is a
mean over those years (a year without data counts as 0):
- n_members: the measure's rate population (subgroup ALL of subgroup_rates);
- n_reference: the reference subgroup's weighted denominator (summary rows);
- max_focus_n: the largest, over focus subgroups, of the subgroup's mean weighted
  denominator (subgroup rows of equity_gaps);
- baseline_equity_gap: mean of the yearly equity gaps (null unless every baseline
  year has one); its bootstrap distribution is the mean over baseline years of
  replicate b of each year (the years' replicates are independent draws), which
  gives `se` (sample SD over replicates) and the percentile CI.

Every failed check adds its reason to `reasons`; the pair is eligible iff none failed.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.config.stats import StatsSettings
from p4e.tables import ELIGIBILITY
from p4e.tables.vocabulary import (
    ALL_GROUPS,
    ALL_SUBGROUP,
    SUBGROUP_LEVEL,
    SUMMARY_LEVEL,
    UNATTRIBUTED,
)

REASONS = (
    "too_few_members",
    "reference_too_small",
    "no_focus_large_enough",
    "no_baseline_gap",
    "standard_error_above_cap",
)
KEYS = ["group_id", "measure_id"]


def eligibility(
    subgroup_rates: DataFrame,
    equity_gaps: DataFrame,
    gap_replicates: DataFrame,
    settings: StatsSettings,
) -> DataFrame:
    """gold/eligibility: one row per provider group and measure found in equity_gaps.

    ALL_GROUPS and UNATTRIBUTED are not provider groups and get no row.

    Args:
        subgroup_rates: gold/subgroup_rates (any years; baseline years are used).
        equity_gaps: gold/equity_gaps.
        gap_replicates: gold/gap_replicates.
        settings: baseline years and thresholds (`settings.eligibility`).

    Returns:
        Rows of gold/eligibility (`p4e.tables.ELIGIBILITY`).
    """
    rule = settings.eligibility
    years = [int(y) for y in rule.baseline_years]
    n_years = float(len(years))
    groups = ~F.col("group_id").isin(ALL_GROUPS, UNATTRIBUTED)
    in_baseline = F.col("year").isin(years)
    summary = equity_gaps.filter(groups & (F.col("level") == SUMMARY_LEVEL))
    pairs = summary.select(*KEYS).distinct()
    base_summary = (
        summary.filter(in_baseline)
        .groupBy(*KEYS)
        .agg(
            (F.sum("n_reference") / n_years).alias("n_reference"),
            F.count("gap").cast("int").alias("n_baseline_years"),
            F.avg("gap").alias("mean_gap"),
        )
    )
    members = (
        subgroup_rates.filter(groups & in_baseline & (F.col("subgroup") == ALL_SUBGROUP))
        .groupBy(*KEYS)
        .agg((F.sum("n") / n_years).alias("n_members"))
    )
    focus = (
        equity_gaps.filter(groups & in_baseline & (F.col("level") == SUBGROUP_LEVEL))
        .groupBy(*KEYS, "subgroup")
        .agg((F.sum("n_focus") / n_years).alias("n_focus"))
        .groupBy(*KEYS)
        .agg(F.max("n_focus").alias("max_focus_n"))
    )
    low, high = (p / 100 for p in settings.percentiles)
    spread = (
        gap_replicates.filter(groups & in_baseline)
        .groupBy(*KEYS, "replicate")
        .agg(F.count("equity_gap").alias("years"), F.avg("equity_gap").alias("gap"))
        .filter(F.col("years") == len(years))
        .groupBy(*KEYS)
        .agg(
            F.stddev_samp("gap").alias("se"),
            F.percentile("gap", F.lit(low)).alias("baseline_ci_low"),
            F.percentile("gap", F.lit(high)).alias("baseline_ci_high"),
        )
    )
    joined = (
        pairs.join(base_summary, on=KEYS, how="left")
        .join(members, on=KEYS, how="left")
        .join(focus, on=KEYS, how="left")
        .join(spread, on=KEYS, how="left")
        .fillna(0.0, subset=["n_members", "n_reference", "max_focus_n"])
        .fillna(0, subset=["n_baseline_years"])
    )
    has_gap = F.col("n_baseline_years") == len(years)
    checks = {
        "too_few_members": F.col("n_members") < rule.min_members,
        "reference_too_small": F.col("n_reference") < rule.min_reference,
        "no_focus_large_enough": F.col("max_focus_n") < rule.min_focus,
        "no_baseline_gap": ~has_gap,
        "standard_error_above_cap": has_gap & ~F.coalesce(F.col("se") <= rule.max_se, F.lit(False)),
    }
    reasons = F.array_compact(F.array(*[F.when(checks[r], F.lit(r)) for r in REASONS]))
    return ELIGIBILITY.conform(
        joined.select(
            *KEYS,
            F.lit(settings.dimension).alias("dimension"),
            F.array(*[F.lit(y) for y in years]).cast("array<int>").alias("baseline_years"),
            "n_baseline_years",
            "n_members",
            "n_reference",
            "max_focus_n",
            F.when(has_gap, F.col("mean_gap")).alias("baseline_equity_gap"),
            F.when(has_gap, F.col("baseline_ci_low")).alias("baseline_ci_low"),
            F.when(has_gap, F.col("baseline_ci_high")).alias("baseline_ci_high"),
            F.when(has_gap, F.col("se")).alias("se"),
            F.lit(float(rule.min_members)).alias("min_members"),
            F.lit(float(rule.min_reference)).alias("min_reference"),
            F.lit(float(rule.min_focus)).alias("min_focus"),
            F.lit(float(rule.max_se)).alias("max_se"),
            (F.size(reasons) == 0).alias("is_eligible"),
            reasons.alias("reasons"),
        )
    )
