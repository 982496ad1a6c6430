"""Validation of the input layer into silver, with bad rows sent to `gold/quarantine`.

For every input table: the schema is checked (a missing required column or a
wrong type stops the run, naming table and column; a missing optional column
reads as nulls; columns p4e does not read are ignored), every row rule is
evaluated, rows that break a rejecting rule go to quarantine with all their
reasons and the original row as JSON, exact duplicate rows beyond the first are
quarantined as duplicates, and the rest is written to `silver/<table>` with the
declared columns. Eligibility and provider_groups come first: a row of another
table whose person eligibility does not hold, or an attribution to an
organization provider_groups does not list, is an orphan and is rejected. The
identity `raw = silver + rejected` is checked per table and returned for the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from p4e.context import RunContext
from p4e.errors import P4eError
from p4e.membership.attribution import ORGANIZATION
from p4e.sail import window_order
from p4e.tables import INPUTS, QUARANTINE, Table
from p4e.tables.inputs import (
    ELIGIBILITY,
    PERSON_TABLES,
    PROVIDER_ATTRIBUTION,
    PROVIDER_GROUPS,
    RACE_ETHNICITY,
)
from p4e.tables.vocabulary import FLAGGED, REJECTED
from p4e.validation.rules import (
    ORPHAN_GROUP,
    ORPHAN_PERSON,
    UNIQUE,
    Rule,
    orphan_rule,
    table_rules,
)

# Parents first: eligibility and provider_groups before the tables whose rows they own.
ORDER = ("provider_groups", "eligibility", "practitioner", *PERSON_TABLES)
# The two hashes of a row digest (`_digest`).
DIGEST_FIELDS = ("xx", "mm")

log = logging.getLogger(__name__)


def check_input_schema(df: DataFrame, table: Table) -> DataFrame:
    """The declared columns of `df`, in order; an optional column it lacks as nulls.

    Raises:
        P4eError: a required column is missing or a column has another type, naming
            table and column.
    """
    have = {f.name: f.dataType for f in df.schema.fields}
    declared = {c.name: c for c in table.columns}
    expected = table.schema()
    problems = [
        f"column {f.name!r} is {have[f.name].simpleString()}, expected {f.dataType.simpleString()}"
        if f.name in have
        else f"column {f.name!r} is missing"
        for f in expected.fields
        if (f.name in have and have[f.name] != f.dataType)
        or (f.name not in have and declared[f.name].required)
    ]
    if problems:
        raise P4eError(f"input table {table.name!r}: " + "; ".join(problems))
    extra = sorted(set(have) - set(expected.names))
    if extra:
        log.info("input table %r: not read by p4e: %s", table.name, extra)
    return df.select(
        *[
            F.col(f.name) if f.name in have else F.lit(None).cast(f.dataType).alias(f.name)
            for f in expected.fields
        ]
    )


def split_rows(
    df: DataFrame,
    table: str,
    rules: list[Rule],
    *,
    columns: Sequence[str] | None = None,
    unique: tuple[tuple[str, ...], tuple[str, ...] | None] | None = None,
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Split `df` into (accepted, quarantine rows, the marked rows both read).

    Args:
        df: rows with the table's columns (and any helper columns the rules read).
        table: table name written into the quarantine rows.
        rules: row rules; flagging rules null their column and keep the row.
        columns: the table's columns (default: all of `df`); helper columns are dropped.
        unique: (key, values): the key identifies one row; all rows of a key whose
            `values` (None: every column) differ are rejected, since no rule says which
            one is right. Exact duplicates are found within the key (one shuffle).

    Returns:
        accepted rows (`columns`), quarantine rows (`p4e.tables.QUARANTINE`), and the
        rows with their verdicts, from which both are selected: persist it to compute the
        checks once for both writes.
    """
    columns = list(columns or df.columns)
    reject = [r for r in rules if r.flags is None]
    flag = [r for r in rules if r.flags is not None]
    checks = [F.when(r.broken, F.lit(r.reason)) for r in reject]
    row = _digest(columns)
    if unique is None:
        every = Window.partitionBy(row).orderBy(*window_order(row, DIGEST_FIELDS))
        checks.append(F.when(F.row_number().over(every) > 1, F.lit("duplicate row")))
    else:
        keys, values = unique
        ordered = Window.partitionBy(*keys).orderBy(*window_order(row, DIGEST_FIELDS))
        checks.append(F.when(F.lag(row).over(ordered) == row, F.lit("duplicate row")))
        agreed = _digest(values) if values else row
        by_key = Window.partitionBy(*keys)
        differ = F.min(agreed).over(by_key) != F.max(agreed).over(by_key)
        checks.append(F.when(differ, F.lit(f"conflicting rows for {', '.join(keys)}")))
    marked = df.select(
        *columns,
        # The reasons met, "; "-joined ("" = none): concat_ws skips nulls, compiled.
        F.concat_ws("; ", *checks).alias("_rejected"),
        F.concat_ws("; ", *[F.when(r.broken, F.lit(r.reason)) for r in flag]).alias("_flagged"),
    )
    is_rejected = F.col("_rejected") != ""
    flagged_columns = {r.flags: r.broken for r in flag}
    accepted = marked.filter(~is_rejected).select(
        *[
            F.when(~flagged_columns[c], F.col(c)).alias(c) if c in flagged_columns else F.col(c)
            for c in columns
        ]
    )
    row_json = F.to_json(F.struct(*columns), {"ignoreNullFields": "false"})
    quarantined = marked.filter(is_rejected | (F.col("_flagged") != "")).select(
        F.lit(table).alias("table"),
        F.when(is_rejected, F.lit(REJECTED)).otherwise(F.lit(FLAGGED)).alias("action"),
        F.when(is_rejected, F.col("_rejected")).otherwise(F.col("_flagged")).alias("reason"),
        row_json.alias("row_json"),
    )
    return accepted, quarantined, marked


def _digest(columns: Sequence[str]) -> Column:
    """Two independent hashes (xxhash64, murmur3) of the values and of which are null (a
    hash alone skips nulls): equal for equal rows; for different rows a collision has a
    chance of about 2^-96, so duplicates and conflicts are found without sorting or
    comparing whole rows."""
    nulls = F.concat(*[F.when(F.col(c).isNull(), "1").otherwise("0") for c in columns])
    return F.struct(
        F.xxhash64(nulls, *columns).alias(DIGEST_FIELDS[0]),
        F.hash(nulls, *columns).alias(DIGEST_FIELDS[1]),
    )


def input_tables(ctx: RunContext) -> list[Table]:
    """The input tables in validation order (parents first), the dimension's answers under
    its `source_table` name."""
    source = ctx.settings.dimension.source_table
    tables = {
        name: RACE_ETHNICITY.in_layer("raw", source) if name == RACE_ETHNICITY.name else table
        for name, table in INPUTS.items()
    }
    return [tables[name] for name in ORDER]


def run(ctx: RunContext) -> dict[str, dict[str, int]]:
    """Validate every input table into silver and replace its rows in `gold/quarantine`.

    Returns:
        table -> {"raw", "silver", "rejected", "flagged"} row counts.

    Raises:
        P4eError: an input table is missing, has a bad schema, or the count identity fails.
    """
    dimension = ctx.settings.dimension
    counts: dict[str, dict[str, int]] = {}
    for table in input_tables(ctx):
        kind = RACE_ETHNICITY.name if table.name == dimension.source_table else table.name
        declared = INPUTS[kind]
        raw = check_input_schema(ctx.read(table), declared)
        rules = table_rules(
            kind,
            ctx.settings,
            answer_codes=[*dimension.codes, dimension.declined_code],
            answer_sources=list(dimension.reported_sources),
        )
        if kind in PERSON_TABLES:
            raw = _mark_orphans(ctx, raw, kind)
            rules.append(orphan_rule())
        accepted, quarantined, marked = split_rows(
            raw, table.name, rules, columns=declared.names, unique=UNIQUE.get(kind)
        )
        silver = table.in_layer("silver")
        marked.persist(StorageLevel.DISK_ONLY)  # the checks run once for both writes
        try:
            ctx.write(silver, accepted)
            ctx.write(QUARANTINE, quarantined, replace_where={"table": table.name})
        finally:
            marked.unpersist()
        counts[table.name] = _check_counts(ctx, table, silver)
        log.info("validated %s: %s", table.name, _describe(counts[table.name]))
    return counts


def _mark_orphans(ctx: RunContext, df: DataFrame, kind: str) -> DataFrame:
    """`df` with ORPHAN_PERSON (and, for attribution, ORPHAN_GROUP): True where no parent."""
    persons = (
        ctx.read(ELIGIBILITY.in_layer("silver"))
        .select("person_id")
        .distinct()
        .withColumn("_known", F.lit(True))
    )
    marked = df.join(persons, on="person_id", how="left").withColumn(
        ORPHAN_PERSON, F.col("_known").isNull()
    )
    marked = marked.drop("_known")
    if kind == PROVIDER_ATTRIBUTION.name:
        column = ORGANIZATION[ctx.settings.plan.attribution_organization]
        groups = (
            ctx.read(PROVIDER_GROUPS.in_layer("silver"))
            .select(F.col("group_id").alias(column), F.lit(True).alias("_known"))
            .distinct()
        )
        marked = (
            marked.join(groups, on=column, how="left")
            .withColumn(ORPHAN_GROUP, F.col(column).isNotNull() & F.col("_known").isNull())
            .drop("_known")
        )
    return marked


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
