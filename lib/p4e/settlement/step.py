"""The settle step: gold/settlements per (contract, performance year).

The aggregated figures of the contracts' groups are read from the gold stats tables
with Spark and collected once (`p4e.settlement.figures`); the rules of
`p4e.settlement.payout` are then applied on the driver in Decimal
(`p4e.settlement.rows`). A contract naming several groups settles each against its
own baseline with its own pool. The table is partitioned by (contract_id, year);
settling a (contract, year) replaces exactly its partition, and the same inputs give
the same rows. Every column is described in `p4e.tables.SETTLEMENTS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from p4e.config.contracts import Contract
from p4e.context import RunContext
from p4e.errors import ConfigError, P4eError
from p4e.settlement import baseline as base
from p4e.settlement.figures import INPUTS, gather
from p4e.settlement.rows import COLUMNS, settle_year
from p4e.tables import EQUITY_GAPS, SETTLEMENTS


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
        P4eError: a performance year has not been computed by the rates step.
    """
    settings = ctx.settings.stats
    pairs = select_contracts(ctx.settings.contracts, contract_ids, years, ctx.configured_years)
    tables = {table: ctx.read(table) for table in INPUTS}
    versions = {table.key: int(ctx.versions_read[table.key]) for table in INPUTS}
    computed = {r["year"] for r in tables[EQUITY_GAPS].select("year").distinct().collect()}
    for contract, contract_years in pairs:
        missing = sorted(set(contract_years) - computed)
        if missing:
            raise P4eError(
                f"gold/equity_gaps has no year {missing}; run the rates step for those years "
                f"before settling contract {contract.contract_id}"
            )
    figures = gather(tables, pairs, settings, ctx.settings.plan.payers)
    written = {}
    for contract, contract_years in pairs:
        rules = base.contract_settings(settings, contract)
        for year in contract_years:
            rows = settle_year(contract, year, figures, rules, versions)
            df = ctx.spark.createDataFrame(
                [tuple(row[c] for c in COLUMNS) for row in rows], SETTLEMENTS.schema()
            )
            ctx.write(
                SETTLEMENTS,
                df,
                replace_where={"contract_id": contract.contract_id, "year": year},
            )
            written[f"{contract.contract_id}/{year}"] = len(rows)
    return written
