"""The settle step: gold/settlements per (contract, performance year) (SPEC §6).

The few aggregated figures of the contracts' groups are read from the gold stats
tables with Spark and collected once (`gather`); the rules of `p4e.settlement.payout`
are then applied on the driver in Decimal. Per (contract, year, group): one row per
measure (level 'measure'), one for the completeness component ('completeness') and
one 'total'. A contract naming several groups settles each against its own baseline
with its own pool. The table is partitioned by (contract_id, year); settling a
(contract, year) replaces exactly its partition, and the same inputs give the same rows.

Columns of gold/settlements (`SETTLEMENTS_SCHEMA`):
    contract_id, year (performance year), group_id, level, measure_id (measure rows);
    dimension, baseline_years: as in the contract;
    is_eligible, eligibility_reasons: baseline eligibility under the contract's
        thresholds (reasons of p4e.stats.eligibility; 'no_data' = no rate population);
    baseline_gap, baseline_ci_low, baseline_ci_high, baseline_se: mean yearly equity gap
        over the baseline years and its bootstrap CI and SE;
    performance_gap, performance_ci_low, performance_ci_high: the year's equity gap;
    change, change_ci_low, change_ci_high: performance - baseline gap and its CI;
    has_baseline_gap: baseline gap > 0 with its CI above 0;
    closure: (baseline - performance) / baseline clipped to [0, 1] (null without a
        baseline gap or when ineligible);
    is_guard_passed, guard_subgroup, guard_decline: the decline guard, the subgroup with
        the largest decline above the tolerance and that decline (rate units);
    is_eliminated, is_widened: performance gap <= threshold with the guard passing;
        change CI entirely above 0;
    share_self_reported: the group's completeness (completeness row);
    tier, share: the rule applied (see p4e.settlement.payout) and the share of the
        component's pool it earns (negative for a downside);
    contract_weight, weight: the weight in the contract and after the `ineligible`
        rule (shown to 10 decimals; amounts use the exact value);
    pool, member_months: the group's pool for the year (member months for PMPM pools);
    amount: pool x weight x share in cents; the total row holds the rounded total, and
        the component amounts add up to it exactly (see `payout.allocate`);
    input_versions: "layer/table" -> Delta version of every input read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
)

from p4e.config import Config
from p4e.context import RunContext
from p4e.errors import ConfigError, P4eError
from p4e.measures.definitions import load_definitions
from p4e.settlement import baseline as base
from p4e.settlement.contract import Contract, load_contracts
from p4e.settlement.exposure import member_months
from p4e.settlement.guard import GuardResult, decline_guard, period_rates
from p4e.settlement.payout import (
    MeasureEvidence,
    allocate,
    completeness_outcome,
    measure_outcome,
    measure_weights,
    pool_amount,
)
from p4e.stats.settings import Eligibility, StatsSettings, load_settings

TABLE = "settlements"
INPUTS = (
    ("gold", "subgroup_rates"),
    ("gold", "equity_gaps"),
    ("gold", "gap_replicates"),
    ("gold", "data_completeness"),
    ("silver", "attribution"),
    ("silver", "enrollment"),
)
WEIGHT_QUANTUM = Decimal("0.0000000001")
_D = DoubleType()
SETTLEMENTS_SCHEMA = StructType(
    [
        StructField("contract_id", StringType(), False),
        StructField("year", IntegerType(), False),
        StructField("group_id", StringType(), False),
        StructField("level", StringType(), False),
        StructField("measure_id", StringType()),
        StructField("dimension", StringType()),
        StructField("baseline_years", ArrayType(IntegerType())),
        StructField("is_eligible", BooleanType()),
        StructField("eligibility_reasons", ArrayType(StringType())),
        StructField("baseline_gap", _D),
        StructField("baseline_ci_low", _D),
        StructField("baseline_ci_high", _D),
        StructField("baseline_se", _D),
        StructField("performance_gap", _D),
        StructField("performance_ci_low", _D),
        StructField("performance_ci_high", _D),
        StructField("change", _D),
        StructField("change_ci_low", _D),
        StructField("change_ci_high", _D),
        StructField("has_baseline_gap", BooleanType()),
        StructField("closure", _D),
        StructField("is_guard_passed", BooleanType()),
        StructField("guard_subgroup", StringType()),
        StructField("guard_decline", _D),
        StructField("is_eliminated", BooleanType()),
        StructField("is_widened", BooleanType()),
        StructField("share_self_reported", _D),
        StructField("tier", StringType()),
        StructField("share", DecimalType(9, 6)),
        StructField("contract_weight", DecimalType(18, 10)),
        StructField("weight", DecimalType(18, 10)),
        StructField("pool", DecimalType(18, 2)),
        StructField("member_months", LongType()),
        StructField("amount", DecimalType(18, 2), False),
        StructField("input_versions", MapType(StringType(), LongType())),
    ]
)
COLUMNS = [f.name for f in SETTLEMENTS_SCHEMA.fields]


def measure_directions(cfg: Config) -> dict[str, str]:
    """Measure id -> direction of the measures the measure engine loads (`paths.measures`)."""
    definitions = load_definitions(cfg.conf_path("measures"), cfg.conf_path("valuesets"))
    return {m.id: m.direction for m in definitions.measures}


def select_contracts(
    contracts: dict[str, Contract],
    contract_ids: Sequence[str] | None,
    years: Sequence[int] | None,
    run_years: Sequence[int],
) -> list[tuple[Contract, list[int]]]:
    """The (contract, performance years) pairs to settle.

    Without `years`, every term year among the run's years; with `years`, those inside
    each contract's term (contracts whose term holds none of them are skipped unless
    named in `contract_ids`).

    Raises:
        ConfigError: an unknown contract id, or a named contract's term holds none of
            the years asked for.
    """
    unknown = sorted(set(contract_ids or ()) - set(contracts))
    if unknown:
        raise ConfigError(
            f"unknown contract(s) {unknown}; known: {', '.join(sorted(contracts)) or 'none'}"
        )
    chosen = [contracts[c] for c in (contract_ids or sorted(contracts))]
    wanted = [int(y) for y in (years if years is not None else run_years)]
    pairs = []
    for contract in chosen:
        inside = [y for y in wanted if y in contract.performance_years]
        if not inside and contract_ids and years is not None:
            raise ConfigError(
                f"contract {contract.contract_id} ({contract.source}) has term years "
                f"{list(contract.performance_years)}, not {wanted}"
            )
        if inside:
            pairs.append((contract, inside))
    return pairs


def run(
    ctx: RunContext,
    *,
    contract_ids: Sequence[str] | None = None,
    years: Sequence[int] | None = None,
) -> dict[str, int]:
    """Settle contracts and write their partitions of gold/settlements.

    Args:
        ctx: run context (contracts from `paths.contracts`, stats settings from `stats:`).
        contract_ids: contracts to settle (all when None).
        years: performance years to settle (every term year among the configured years
            when None).

    Returns:
        Rows written per "contract_id/year".

    Raises:
        ConfigError: a contract is invalid or does not match the gold tables' settings.
        P4eError: a performance year has not been computed by the rates step.
    """
    settings = load_settings(ctx.cfg, measure_directions(ctx.cfg))
    contracts = load_contracts(ctx.cfg, set(settings.directions))
    pairs = select_contracts(contracts, contract_ids, years, ctx.configured_years)
    tables = {f"{layer}/{name}": ctx.read(layer, name) for layer, name in INPUTS}
    versions = {key: int(ctx.versions_read[key]) for key in tables}
    computed = {r["year"] for r in tables["gold/equity_gaps"].select("year").distinct().collect()}
    for contract, contract_years in pairs:
        missing = sorted(set(contract_years) - computed)
        if missing:
            raise P4eError(
                f"gold/equity_gaps has no year {missing}; run the rates step for those years "
                f"before settling contract {contract.contract_id}"
            )
    figures = gather(tables, pairs, settings)
    written = {}
    for contract, contract_years in pairs:
        rules = base.contract_settings(settings, contract)
        for year in contract_years:
            rows = settle_year(contract, year, figures, rules, versions)
            df = ctx.spark.createDataFrame(
                [tuple(r[c] for c in COLUMNS) for r in rows], SETTLEMENTS_SCHEMA
            )
            ctx.write(
                df,
                "gold",
                TABLE,
                "overwrite",
                partition_by=["contract_id", "year"],
                replace_where={"contract_id": contract.contract_id, "year": year},
            )
            written[f"{contract.contract_id}/{year}"] = len(rows)
    return written


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
    tables: dict[str, DataFrame],
    pairs: Sequence[tuple[Contract, Sequence[int]]],
    settings: StatsSettings,
) -> Figures:
    """Collect the aggregated figures the settlement of `pairs` needs (a few Spark jobs).

    Args:
        tables: the inputs by "layer/table" (`INPUTS`).
        pairs: (contract, performance years) to settle.
        settings: stats settings (from the configuration the gold tables were built with).

    Raises:
        ConfigError: a contract does not match the gold tables' settings.
    """
    groups = sorted({g for c, _ in pairs for g in c.groups})
    measures = sorted({m.measure_id for c, _ in pairs for m in c.measures})
    perf_years = sorted({y for _, ys in pairs for y in ys})
    all_years = sorted({*perf_years, *(y for c, _ in pairs for y in c.baseline_years)})
    chosen = F.col("group_id").isin(groups) & F.col("measure_id").isin(measures)
    rates: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in (
        tables["gold/subgroup_rates"]
        .filter(chosen & F.col("year").isin(all_years))
        .select("group_id", "measure_id", "year", "subgroup", "rate", "se", "is_scored")
        .collect()
    ):
        rates.setdefault((r["group_id"], r["measure_id"]), []).append(r.asDict())
    performance = {
        (r["group_id"], r["measure_id"], r["year"]): r.asDict()
        for r in tables["gold/equity_gaps"]
        .filter(chosen & F.col("year").isin(perf_years) & (F.col("level") == "summary"))
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
        (r["group_id"], r["year"], r["dimension"]): r["share_self_reported"]
        for r in tables["gold/data_completeness"]
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
        for r in base.baseline(
            tables["gold/subgroup_rates"],
            tables["gold/equity_gaps"],
            tables["gold/gap_replicates"],
            rules,
            picked,
            measures,
        ).collect():
            baseline[(rule, r["group_id"], r["measure_id"])] = r.asDict()
        for r in base.change(
            tables["gold/gap_replicates"], rules, picked, measures, perf_years
        ).collect():
            change[(rule, r["group_id"], r["measure_id"], r["year"])] = r.asDict()
    months = {}
    for scope in sorted({c.scope for c, _ in pairs if c.pool.kind == "pmpm"}):
        for r in member_months(
            tables["silver/attribution"], tables["silver/enrollment"], groups, perf_years, scope
        ).collect():
            months[(scope, r["group_id"], r["year"])] = int(r["member_months"])
    return Figures(rates, performance, completeness, baseline, change, months)


def settle_year(
    contract: Contract,
    year: int,
    figures: Figures,
    rules: StatsSettings,
    versions: dict[str, int],
) -> list[dict[str, Any]]:
    """Settlement rows (dicts keyed by column) of one contract and performance year.

    Args:
        contract: the contract.
        year: a performance year of its term.
        figures: the collected figures (`gather`).
        rules: `contract_settings(...)` of the contract.
        versions: "layer/table" -> Delta version read, written to `input_versions`.
    """
    rows = []
    rule = rules.eligibility
    pmpm = contract.pool.kind == "pmpm"
    z = NormalDist().inv_cdf(rules.ci_level) if contract.guard_test == "significant" else 0.0
    for group in contract.groups:
        evidence, detail = [], []
        for term in contract.measures:
            m = term.measure_id
            b = figures.baseline.get((rule, group, m))
            p = figures.performance.get((group, m, year), {})
            c = figures.change.get((rule, group, m, year), {})
            guard = decline_guard(
                period_rates(figures.rates.get((group, m), []), contract.baseline_years, year),
                rules.directions[m],
                contract.guard_tolerance,
                z,
            )
            evidence.append(_evidence(m, b, p, c, guard))
            detail.append((b or {}, p, c))
        rows += _group_rows(
            contract,
            year,
            group,
            evidence,
            detail,
            figures.completeness.get((group, year, contract.dimension)),
            figures.months.get((contract.scope, group, year), 0) if pmpm else None,
            versions,
        )
    return rows


def _evidence(
    measure_id: str,
    baseline: dict[str, Any] | None,
    perf: dict[str, Any],
    change: dict[str, Any],
    guard: GuardResult,
) -> MeasureEvidence:
    if baseline is None:  # the group has no rate population for the measure at all
        baseline = {"is_eligible": False, "reasons": ["no_data"]}
    return MeasureEvidence(
        measure_id=measure_id,
        is_eligible=bool(baseline.get("is_eligible")),
        reasons=tuple(baseline.get("reasons") or ()),
        baseline_gap=baseline.get("baseline_equity_gap"),
        baseline_ci_low=baseline.get("baseline_ci_low"),
        performance_gap=perf.get("performance_gap"),
        performance_ci_low=perf.get("performance_ci_low"),
        change_ci_low=change.get("change_ci_low"),
        guard=guard,
    )


def _group_rows(
    contract: Contract,
    year: int,
    group: str,
    evidence: list[MeasureEvidence],
    detail: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]],
    share_self_reported: float | None,
    months: int | None,
    versions: dict[str, int],
) -> list[dict[str, Any]]:
    """The measure, completeness and total rows of one group and year."""
    outcomes = [measure_outcome(e, contract) for e in evidence]
    weights = measure_weights(contract, {e.measure_id: e.is_eligible for e in evidence})
    pool = pool_amount(contract, months or 0)
    comp_tier, comp_share = completeness_outcome(share_self_reported, contract)
    comp_weight = contract.completeness.weight
    exact = [
        pool * weights[e.measure_id] * o.share for e, o in zip(evidence, outcomes, strict=True)
    ]
    amounts, total = allocate([*exact, pool * comp_weight * comp_share])
    common = {
        "contract_id": contract.contract_id,
        "year": year,
        "group_id": group,
        "dimension": contract.dimension,
        "baseline_years": list(contract.baseline_years),
        "pool": pool,
        "member_months": months,
        "input_versions": versions,
    }
    blank = dict.fromkeys(COLUMNS)
    rows = []
    for term, e, o, (b, p, c), amount in zip(
        contract.measures, evidence, outcomes, detail, amounts, strict=False
    ):
        perf_gap, base_gap = p.get("performance_gap"), b.get("baseline_equity_gap")
        rows.append(
            {
                **blank,
                **common,
                "level": "measure",
                "measure_id": e.measure_id,
                "is_eligible": e.is_eligible,
                "eligibility_reasons": list(e.reasons),
                "baseline_gap": base_gap,
                "baseline_ci_low": b.get("baseline_ci_low"),
                "baseline_ci_high": b.get("baseline_ci_high"),
                "baseline_se": b.get("se"),
                "performance_gap": perf_gap,
                "performance_ci_low": p.get("performance_ci_low"),
                "performance_ci_high": p.get("performance_ci_high"),
                "change": None if perf_gap is None or base_gap is None else perf_gap - base_gap,
                "change_ci_low": c.get("change_ci_low"),
                "change_ci_high": c.get("change_ci_high"),
                "has_baseline_gap": o.has_baseline_gap,
                "closure": o.closure,
                "is_guard_passed": e.guard.is_passed,
                "guard_subgroup": e.guard.subgroup,
                "guard_decline": e.guard.decline,
                "is_eliminated": o.is_eliminated,
                "is_widened": o.is_widened,
                "tier": o.tier,
                "share": o.share,
                "contract_weight": term.weight.quantize(WEIGHT_QUANTUM),
                "weight": weights[e.measure_id].quantize(WEIGHT_QUANTUM),
                "amount": amount,
            }
        )
    rows.append(
        {
            **blank,
            **common,
            "level": "completeness",
            "share_self_reported": share_self_reported,
            "tier": comp_tier,
            "share": comp_share,
            "contract_weight": comp_weight.quantize(WEIGHT_QUANTUM),
            "weight": comp_weight.quantize(WEIGHT_QUANTUM),
            "amount": amounts[-1],
        }
    )
    rows.append({**blank, **common, "level": "total", "amount": total})
    return rows
