"""Validation of the raw inputs into silver, with bad rows sent to `gold/quarantine`.

For every input table: the schema is checked (a missing column or a wrong type
stops the run, naming table and column), every row rule is evaluated, rows that
break a rejecting rule go to quarantine with all their reasons and the original
row as JSON, exact duplicate rows beyond the first are quarantined as
duplicates, and the rest is written to `silver/<table>`. The identity
`raw = silver + rejected` is checked and returned for the run log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from p4e.context import RunContext
from p4e.errors import P4eError
from p4e.tables import INPUTS, QUARANTINE, Table
from p4e.tables.inputs import RACE_ETHNICITY
from p4e.tables.vocabulary import FLAGGED, REJECTED
from p4e.validation.rules import Rule, table_rules

log = logging.getLogger(__name__)


def check_input_schema(df: DataFrame, table: str, expected: StructType) -> DataFrame:
    """The contract's columns of `df`, in order.

    Raises:
        P4eError: a column is missing or has another type, naming table and column.
    """
    have = {f.name: f.dataType for f in df.schema.fields}
    problems = [
        f"column {f.name!r} is missing"
        if f.name not in have
        else f"column {f.name!r} is {have[f.name].simpleString()}, "
        f"expected {f.dataType.simpleString()}"
        for f in expected.fields
        if have.get(f.name) != f.dataType
    ]
    if problems:
        raise P4eError(f"input table {table!r}: " + "; ".join(problems))
    extra = sorted(set(have) - set(expected.names))
    if extra:
        log.warning("input table %r: ignoring columns not in the data contract: %s", table, extra)
    return df.select(*expected.names)


def split_rows(
    df: DataFrame, table: str, rules: list[Rule], *, unique_keys: tuple[str, ...] = ()
) -> tuple[DataFrame, DataFrame]:
    """Split `df` into (accepted, quarantine rows).

    Args:
        df: rows with the contract's columns.
        table: table name written into the quarantine rows.
        rules: row rules; flagging rules null their column and keep the row.
        unique_keys: columns that must identify one row (e.g. member and year of an
            attribution); all rows of a key held more than once with different
            values are rejected, since no rule says which one is right.

    Returns:
        accepted rows (same columns), and quarantine rows (`p4e.tables.QUARANTINE`).
    """
    columns = df.columns
    reject = [r for r in rules if r.flags is None]
    flag = [r for r in rules if r.flags is not None]
    duplicate = F.row_number().over(Window.partitionBy(*columns).orderBy(*columns)) > 1
    checks = [F.when(r.broken, F.lit(r.reason)) for r in reject]
    checks.append(F.when(duplicate, F.lit("duplicate row")))
    if unique_keys:
        variants = F.size(F.collect_set(F.struct(*columns)).over(Window.partitionBy(*unique_keys)))
        checks.append(F.when(variants > 1, F.lit(f"conflicting rows for {', '.join(unique_keys)}")))
    marked = df.select(
        *columns,
        F.array_compact(F.array(*checks)).alias("_rejected"),
        F.array_compact(F.array(*[F.when(r.broken, F.lit(r.reason)) for r in flag])).alias(
            "_flagged"
        )
        if flag
        else F.array().cast("array<string>").alias("_flagged"),
    )
    is_rejected = F.size("_rejected") > 0
    flagged_columns = {r.flags: r.broken for r in flag}
    accepted = marked.filter(~is_rejected).select(
        *[
            F.when(~flagged_columns[c], F.col(c)).alias(c) if c in flagged_columns else F.col(c)
            for c in columns
        ]
    )
    row_json = F.to_json(F.struct(*columns), {"ignoreNullFields": "false"})
    quarantined = marked.filter(is_rejected | (F.size("_flagged") > 0)).select(
        F.lit(table).alias("table"),
        F.when(is_rejected, F.lit(REJECTED)).otherwise(F.lit(FLAGGED)).alias("action"),
        F.concat_ws(
            "; ", F.when(is_rejected, F.col("_rejected")).otherwise(F.col("_flagged"))
        ).alias("reason"),
        row_json.alias("row_json"),
    )
    return accepted, quarantined


def input_tables(ctx: RunContext) -> list[Table]:
    """The raw input tables, the dimension's answers under its `source_table` name."""
    source = ctx.settings.dimension.source_table
    return [t for t in INPUTS.values() if t is not RACE_ETHNICITY] + [
        RACE_ETHNICITY.in_layer("raw", source)
    ]


def run(ctx: RunContext) -> dict[str, dict[str, int]]:
    """Validate every raw input into silver and replace its rows in `gold/quarantine`.

    Returns:
        table -> {"raw", "silver", "rejected", "flagged"} row counts.

    Raises:
        P4eError: a raw table is missing, has a bad schema, or the count identity fails.
    """
    dimension = ctx.settings.dimension
    counts: dict[str, dict[str, int]] = {}
    for table in input_tables(ctx):
        raw = check_input_schema(ctx.read(table), table.name, table.schema())
        rules = table_rules(
            RACE_ETHNICITY.name if table.name == dimension.source_table else table.name,
            answer_codes=[*dimension.codes, dimension.declined_code],
            answer_sources=list(dimension.reported_sources),
            validation=ctx.settings.validation,
        )
        unique = ("member_id", "year") if table.name == "attribution" else ()
        accepted, quarantined = split_rows(raw, table.name, rules, unique_keys=unique)
        silver = table.in_layer("silver")
        ctx.write(silver, accepted)
        ctx.write(QUARANTINE, quarantined, replace_where={"table": table.name})
        counts[table.name] = _check_counts(ctx, table, silver)
        log.info("validated %s: %s", table.name, _describe(counts[table.name]))
    return counts


def _check_counts(ctx: RunContext, raw: Table, silver: Table) -> dict[str, int]:
    """Counts of the versions just written; raises unless raw = silver + rejected."""
    by_action = {
        row["action"]: row["count"]
        for row in ctx.read(QUARANTINE)
        .filter(F.col("table") == raw.name)
        .groupBy("action")
        .count()
        .collect()
    }
    counts = {
        "raw": ctx.read(raw).count(),
        "silver": ctx.read(silver).count(),
        "rejected": int(by_action.get(REJECTED, 0)),
        "flagged": int(by_action.get(FLAGGED, 0)),
    }
    if counts["raw"] != counts["silver"] + counts["rejected"]:
        raise P4eError(f"{raw.name}: raw rows != silver + rejected ({_describe(counts)})")
    return counts


def _describe(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in counts.items())
