"""The aggregated figures a settlement needs, read from the gold tables and collected once.

A few Spark jobs over aggregates (never member rows): the subgroup rates of the
contracts' groups, the performance-year equity gaps, completeness, the baseline and
change figures of `p4e.settlement.baseline`, and member months for PMPM pools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.config.contracts import Contract
from p4e.config.stats import Eligibility, StatsSettings
from p4e.settlement import baseline as base
from p4e.settlement.exposure import member_months
from p4e.tables import DATA_COMPLETENESS, EQUITY_GAPS, GAP_REPLICATES, SUBGROUP_RATES, Table
from p4e.tables.inputs import ATTRIBUTION, ENROLLMENT
from p4e.tables.vocabulary import SUMMARY_LEVEL

SILVER_ATTRIBUTION = ATTRIBUTION.in_layer("silver")
SILVER_ENROLLMENT = ENROLLMENT.in_layer("silver")
INPUTS: tuple[Table, ...] = (
    SUBGROUP_RATES,
    EQUITY_GAPS,
    GAP_REPLICATES,
    DATA_COMPLETENESS,
    SILVER_ATTRIBUTION,
    SILVER_ENROLLMENT,
)


@dataclass(frozen=True)
class Figures:
    """The aggregated figures of every contract being settled, collected once.

    Attributes:
        rates: (group, measure) -> gold/subgroup_rates rows (year, subgroup, rate, se,
            is_scored).
        performance: (group, measure, year) -> performance gap and CI.
        completeness: (group, year, dimension) -> share_self_reported.
        baseline: (eligibility rule, group, measure) -> eligibility row of the baseline.
        change: (eligibility rule, group, measure, year) -> change CI.
        months: (scope, group, year) -> member months.
    """

    rates: dict[tuple[str, str], list[dict[str, Any]]]
    performance: dict[tuple[str, str, int], dict[str, Any]]
    completeness: dict[tuple[str, int, str], float | None]
    baseline: dict[tuple[Eligibility, str, str], dict[str, Any]]
    change: dict[tuple[Eligibility, str, str, int], dict[str, Any]]
    months: dict[tuple[str, str, int], int]


def gather(
    tables: dict[Table, DataFrame],
    pairs: Sequence[tuple[Contract, Sequence[int]]],
    settings: StatsSettings,
    payers: Sequence[str],
) -> Figures:
    """Collect the aggregated figures the settlement of `pairs` needs (a few Spark jobs).

    Args:
        tables: the inputs (`INPUTS`).
        pairs: (contract, performance years) to settle.
        settings: stats settings (from the configuration the gold tables were built with).
        payers: the plan's own payers (member months of scope 'plan').

    Raises:
        ConfigError: a contract does not match the gold tables' settings.
    """
    groups = sorted({g for c, _ in pairs for g in c.groups})
    measures = sorted({m.measure_id for c, _ in pairs for m in c.measures})
    perf_years = sorted({y for _, ys in pairs for y in ys})
    all_years = sorted({*perf_years, *(y for c, _ in pairs for y in c.baseline_years)})
    chosen = F.col("group_id").isin(groups) & F.col("measure_id").isin(measures)
    rates: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in (
        tables[SUBGROUP_RATES]
        .filter(chosen & F.col("year").isin(all_years))
        .select("group_id", "measure_id", "year", "subgroup", "rate", "se", "is_scored")
        .collect()
    ):
        rates.setdefault((row["group_id"], row["measure_id"]), []).append(row.asDict())
    performance = {
        (row["group_id"], row["measure_id"], row["year"]): row.asDict()
        for row in tables[EQUITY_GAPS]
        .filter(chosen & F.col("year").isin(perf_years) & (F.col("level") == SUMMARY_LEVEL))
        .select(
            "group_id",
            "measure_id",
            "year",
            F.col("gap").alias("performance_gap"),
            F.col("ci_low").alias("performance_ci_low"),
            F.col("ci_high").alias("performance_ci_high"),
        )
        .collect()
    }
    completeness = {
        (row["group_id"], row["year"], row["dimension"]): row["share_self_reported"]
        for row in tables[DATA_COMPLETENESS]
        .filter(F.col("group_id").isin(groups) & F.col("year").isin(perf_years))
        .select("group_id", "year", "dimension", "share_self_reported")
        .collect()
    }
    by_rule: dict[Eligibility, tuple[StatsSettings, set[str]]] = {}
    for contract, _ in pairs:
        rules = base.contract_settings(settings, contract)
        by_rule.setdefault(rules.eligibility, (rules, set()))[1].update(contract.groups)
    baseline, change = {}, {}
    for rule, (rules, rule_groups) in by_rule.items():
        picked = sorted(rule_groups)
        for row in base.baseline(
            tables[SUBGROUP_RATES],
            tables[EQUITY_GAPS],
            tables[GAP_REPLICATES],
            rules,
            picked,
            measures,
        ).collect():
            baseline[(rule, row["group_id"], row["measure_id"])] = row.asDict()
        for row in base.change(
            tables[GAP_REPLICATES], rules, picked, measures, perf_years
        ).collect():
            change[(rule, row["group_id"], row["measure_id"], row["year"])] = row.asDict()
    months = {}
    for scope in sorted({c.scope for c, _ in pairs if c.pool.kind == "pmpm"}):
        for row in member_months(
            tables[SILVER_ATTRIBUTION], tables[SILVER_ENROLLMENT], groups, perf_years, scope, payers
        ).collect():
            months[(scope, row["group_id"], row["year"])] = int(row["member_months"])
    return Figures(rates, performance, completeness, baseline, change, months)
