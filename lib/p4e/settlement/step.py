"""The settle step: gold/settlements per (contract, performance year).

docs/methodology.md, "Settlement". For the contracts and years to settle: the frozen
baselines (`p4e.settlement.baseline`, frozen on first use), each group-year's pool and
weights (`rows.group_year`), one performance panel per (contract, group, year) on the
executors (`panels`, `decide`), then the rows in Decimal (`rows`). A contract naming
several groups settles each against its own baseline with its own pool. Settling a
(contract, year) replaces exactly its partition (contracts settled for the same years in
one commit); the same inputs give the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import functions as F

from p4e.config.contracts import Contract
from p4e.context import RunContext
from p4e.errors import ConfigError, P4eError
from p4e.membership import spans
from p4e.settlement.baseline import Baselines, frozen_baselines
from p4e.settlement.decide import PanelSpec, decide_estimators
from p4e.settlement.exposure import member_months
from p4e.settlement.panels import Request, by_measure, request_id, run_panels
from p4e.settlement.rows import COLUMNS, GroupYear, group_year, settlement_rows
from p4e.settlement.terms import contract_settings
from p4e.stats.panel import PanelRates
from p4e.tables import (
    CONTRACT_BASELINES,
    DATA_COMPLETENESS,
    MEMBER_DEMOGRAPHICS,
    MEMBER_MEASURES,
    SETTLEMENTS,
)
from p4e.tables.inputs import ELIGIBILITY
from p4e.tables.membership import MEMBER_GROUPS

SILVER_ELIGIBILITY = ELIGIBILITY.in_layer("silver")


def select_contracts(
    contracts: Mapping[str, Contract],
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
        ctx: run context (its settings hold the contracts and the stats settings).
        contract_ids: contracts to settle (all when None).
        years: performance years to settle (every term year among the configured years
            when None).

    Returns:
        Rows written per "contract_id/year".

    Raises:
        ConfigError: a contract does not match the gold tables' settings.
        P4eError: a year has not been computed by the measures step.
    """
    pairs = select_contracts(ctx.settings.contracts, contract_ids, years, ctx.configured_years)
    for contract, _ in pairs:
        contract_settings(ctx.settings.stats, contract)  # refuses before any work
    _require_years(ctx, pairs)
    frozen = frozen_baselines(ctx, [c for c, _ in pairs])
    money = _money(ctx, pairs, frozen)
    results = _decide(ctx, money, frozen)
    written: dict[str, int] = {}
    # One commit per set of years: the contracts settled for them, and their rows.
    by_years: dict[tuple[int, ...], tuple[list[str], list[tuple[Any, ...]]]] = {}
    for contract, contract_years in pairs:
        inputs = [MEMBER_MEASURES, MEMBER_DEMOGRAPHICS, DATA_COMPLETENESS, CONTRACT_BASELINES]
        if contract.pool.kind == "pmpm":  # member months
            inputs += [MEMBER_GROUPS, SILVER_ELIGIBILITY]
        versions = {t.key: int(ctx.versions_read[t.key]) for t in inputs}
        ids, rows = by_years.setdefault(tuple(contract_years), ([], []))
        ids.append(contract.contract_id)
        for year in contract_years:
            keys = [request_id(contract.contract_id, group, year) for group in contract.groups]
            found = [
                row
                for key in keys
                for row in settlement_rows(money[key], by_measure(results.get(key, [])), versions)
            ]
            rows += [tuple(row[c] for c in COLUMNS) for row in found]
            written[f"{contract.contract_id}/{year}"] = len(found)
    for settled, (ids, rows) in by_years.items():
        df = ctx.spark.createDataFrame(rows, SETTLEMENTS.schema())
        ctx.write(SETTLEMENTS, df, replace_where={"contract_id": ids, "year": list(settled)})
    return written


def _require_years(ctx: RunContext, pairs: Sequence[tuple[Contract, Sequence[int]]]) -> None:
    computed = {r["year"] for r in ctx.read(MEMBER_MEASURES).select("year").distinct().collect()}
    for contract, contract_years in pairs:
        missing = sorted({*contract_years, *contract.baseline_years} - computed)
        if missing:
            raise P4eError(
                f"gold/member_measures has no year {missing}; run the measures step for those "
                f"years before settling contract {contract.contract_id}"
            )


def _money(
    ctx: RunContext, pairs: Sequence[tuple[Contract, Sequence[int]]], frozen: Baselines
) -> dict[str, GroupYear]:
    """Pool, member months, weights and completeness of every group-year to settle."""
    groups = sorted({g for c, _ in pairs for g in c.groups})
    perf_years = sorted({y for _, ys in pairs for y in ys})
    completeness = {
        (r["group_id"], r["year"], r["dimension"]): r["share_self_reported"]
        for r in ctx.read(DATA_COMPLETENESS)
        .filter(F.col("group_id").isin(groups) & F.col("year").isin(perf_years))
        .collect()
    }
    months: dict[tuple[str, str, int], int] = {}
    for scope in sorted({c.scope for c, _ in pairs if c.pool.kind == "pmpm"}):
        for r in member_months(
            ctx.read(MEMBER_GROUPS), spans(ctx.read(SILVER_ELIGIBILITY)), groups, perf_years,
            scope, ctx.settings.plan.payers,
        ).collect():  # fmt: skip
            months[(scope, r["group_id"], r["year"])] = int(r["member_months"])
    found = {}
    for contract, contract_years in pairs:
        for group in contract.groups:
            counted = {
                m.measure_id: frozen[(contract.contract_id, group, m.measure_id)].counts
                for m in contract.measures
            }
            for year in contract_years:
                pmpm = contract.pool.kind == "pmpm"
                found[request_id(contract.contract_id, group, year)] = group_year(
                    contract,
                    group,
                    year,
                    counted,
                    months.get((contract.scope, group, year), 0) if pmpm else None,
                    completeness.get((group, year, contract.dimension)),
                )
    return found


def _decide(
    ctx: RunContext, money: Mapping[str, GroupYear], frozen: Baselines
) -> dict[str, list[dict[str, Any]]]:
    """Every group-year's performance panel, on the executors."""
    stats = ctx.settings.stats
    measures, categories = ctx.settings.measures.ids, ctx.settings.dimension.codes
    specs, requests = {}, []
    for key, group_money in money.items():
        contract = group_money.contract
        specs[key] = PanelSpec(
            contract=contract,
            rules=contract_settings(stats, contract),
            group_id=group_money.group_id,
            year=group_money.year,
            frozen={
                m.measure_id: frozen[(contract.contract_id, group_money.group_id, m.measure_id)]
                for m in contract.measures
            },
            weights={m: float(w) for m, w in group_money.weights.items()},
            contract_weights={m.measure_id: float(m.weight) for m in contract.measures},
            pool=float(group_money.pool),
            completeness_amount=float(group_money.completeness[2]),
        )
        window = (*contract.baseline_years, group_money.year)
        requests.append(Request(key, group_money.group_id, window, group_money.year, stats.seed))

    def work(panel_id: str, rates: Mapping[str, PanelRates]) -> list[dict[str, Any]]:
        return decide_estimators(rates, specs[panel_id], measures, categories)

    demographics = ctx.read(MEMBER_DEMOGRAPHICS).filter(F.col("dimension") == stats.dimension)
    return run_panels(
        ctx.spark, ctx.read(MEMBER_MEASURES), demographics, requests, work,
        measures=measures, categories=categories, replicates=stats.decision_replicates,
        plan_only=stats.scope == "plan",
    )  # fmt: skip
