"""Baseline and change-from-baseline figures of a contract's groups (Spark).

Both are read from the gold stats tables (aggregates, never member rows):

- baseline: `p4e.stats.eligibility.eligibility` run on the contract's groups with the
  contract's baseline years and eligibility thresholds (the stats defaults where the
  contract sets none), so the baseline gap, its CI and SE and every eligibility
  reason follow exactly the definition of gold/eligibility;
- change: replicate b of the change is the performance replicate b minus the mean
  over the baseline years of replicate b (periods are resampled independently: every
  (group, year) has its own bootstrap stream); percentile CI at stats.ci_level.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.config.contracts import Contract
from p4e.config.stats import StatsSettings
from p4e.errors import ConfigError
from p4e.stats.eligibility import eligibility

KEYS = ["group_id", "measure_id"]


def contract_settings(settings: StatsSettings, contract: Contract) -> StatsSettings:
    """The stats settings with the contract's baseline years and eligibility overrides.

    Raises:
        ConfigError: the contract's dimension, scope or reference rule differ from those
            the gold tables were computed with (`stats:` and `dimension:`).
    """
    for field, mine, theirs in (
        ("dimension", contract.dimension, settings.dimension),
        ("scope", contract.scope, settings.scope),
        ("reference", contract.reference, settings.reference_rule),
    ):
        if mine != theirs:
            raise ConfigError(
                f"{contract.source}: {field} is {mine!r} but the gold tables are computed "
                f"with {theirs!r}; settle it on a run configured for {mine!r}"
            )
    rule = dataclasses.replace(
        settings.eligibility, baseline_years=contract.baseline_years, **contract.eligibility
    )
    return dataclasses.replace(settings, eligibility=rule)


def _select(df: DataFrame, groups: Sequence[str], measures: Sequence[str]) -> DataFrame:
    return df.filter(
        F.col("group_id").isin(list(groups)) & F.col("measure_id").isin(list(measures))
    )


def baseline(
    subgroup_rates: DataFrame,
    equity_gaps: DataFrame,
    gap_replicates: DataFrame,
    settings: StatsSettings,
    groups: Sequence[str],
    measures: Sequence[str],
) -> DataFrame:
    """Eligibility rows (`p4e.tables.ELIGIBILITY`) of the groups' measures.

    Args:
        subgroup_rates, equity_gaps, gap_replicates: the gold stats tables.
        settings: `contract_settings(...)` of the contract.
        groups: the contract's provider groups.
        measures: the contract's measure ids.
    """
    return eligibility(
        _select(subgroup_rates, groups, measures),
        _select(equity_gaps, groups, measures),
        _select(gap_replicates, groups, measures),
        settings,
    )


def change(
    gap_replicates: DataFrame,
    settings: StatsSettings,
    groups: Sequence[str],
    measures: Sequence[str],
    years: Sequence[int],
) -> DataFrame:
    """group_id, measure_id, year, change_ci_low, change_ci_high of the (performance -
    baseline) equity gap, for every performance year in `years`.

    Only replicates present in every baseline year and in the performance year count.
    """
    baseline_years = list(settings.eligibility.baseline_years)
    reps = _select(gap_replicates, groups, measures).filter(F.col("equity_gap").isNotNull())
    base = (
        reps.filter(F.col("year").isin(baseline_years))
        .groupBy(*KEYS, "replicate")
        .agg(F.count("equity_gap").alias("n_years"), F.avg("equity_gap").alias("base"))
        .filter(F.col("n_years") == len(baseline_years))
    )
    perf = reps.filter(F.col("year").isin(list(years))).select(
        *KEYS, "year", "replicate", F.col("equity_gap").alias("perf")
    )
    low, high = (p / 100 for p in settings.percentiles)
    diff = F.col("perf") - F.col("base")
    return (
        perf.join(base, on=[*KEYS, "replicate"], how="inner")
        .groupBy(*KEYS, "year")
        .agg(
            F.percentile(diff, F.lit(low)).alias("change_ci_low"),
            F.percentile(diff, F.lit(high)).alias("change_ci_high"),
        )
    )
