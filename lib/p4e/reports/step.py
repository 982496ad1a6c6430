"""The report step: HTML reports per year and group, and the data dictionary.

Reads the aggregated gold tables (a few thousand rows; no member-level data) once,
collects them, and writes under `<lakehouse>/reports/`:

    <year>/equity_report_<year>.html          public, plan-wide
    <year>/group_<group_id>_<year>.html       confidential, one per provider group
    data_dictionary.md                        every output table, column by column
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pyarrow.fs as pafs
from pyspark.sql import functions as F

from p4e.context import RunContext
from p4e.reports.dictionary import render_dictionary
from p4e.reports.group import group_data, render_group
from p4e.reports.labels import labels_of
from p4e.reports.public import public_data, render_public
from p4e.storage.base import location_uri
from p4e.tables import (
    DATA_COMPLETENESS,
    ELIGIBILITY,
    EQUITY_GAPS,
    OUTPUTS,
    SETTLEMENTS,
    SUBGROUP_RATES,
    Table,
)
from p4e.tables.inputs import PROVIDER_GROUPS
from p4e.tables.vocabulary import ALL_GROUPS, UNATTRIBUTED

log = logging.getLogger("p4e")
Row = dict[str, Any]


def run(
    ctx: RunContext, *, years: Sequence[int] | None = None, groups: Sequence[str] | None = None
) -> dict[str, int]:
    """Write the reports of `years` (default: the configured years) and the data dictionary.

    Args:
        ctx: run context; reads gold tables at the versions this run sees.
        years: report years.
        groups: provider groups to write group reports for (all when None).

    Returns:
        Files written per kind ("public", "group", "dictionary").
    """
    labels = labels_of(ctx.settings)
    years = sorted(years or ctx.configured_years)
    by_group = _rows_by_group(ctx, years)
    names = {
        row["group_id"]: row["group_name"]
        for row in ctx.read(PROVIDER_GROUPS.in_layer("silver")).collect()
    }
    chosen = sorted(
        set(by_group["rates"]) - {ALL_GROUPS, UNATTRIBUTED} if groups is None else set(groups)
    )
    fs, root = _filesystem(ctx.cfg.lakehouse)
    counts = {"public": 0, "group": 0, "dictionary": 0}
    for year in years:
        plan = {name: rows.get(ALL_GROUPS, []) for name, rows in by_group.items()}
        html = render_public(
            public_data(labels, year, plan["rates"], plan["gaps"], plan["completeness"])
        )
        _write(fs, f"{root}/reports/{year}/equity_report_{year}.html", html)
        counts["public"] += 1
        for group in chosen:
            own = {name: rows.get(group, []) for name, rows in by_group.items()}
            data = group_data(
                labels,
                group,
                names.get(group),
                year,
                own["rates"],
                own["gaps"],
                own["eligibility"],
                [s for s in own["settlements"] if s["year"] == year],
                own["completeness"],
            )
            _write(fs, f"{root}/reports/{year}/group_{group}_{year}.html", render_group(data))
            counts["group"] += 1
        log.info("reports %d: public report and %d group reports written", year, len(chosen))
    _write(fs, f"{root}/reports/data_dictionary.md", dictionary(ctx))
    counts["dictionary"] = 1
    return counts


def _rows_by_group(ctx: RunContext, years: Sequence[int]) -> dict[str, dict[str, list[Row]]]:
    """The gold rows the reports read (a few thousand), by kind and then by group."""
    tables = {
        "rates": _rows(ctx, SUBGROUP_RATES),
        "gaps": _rows(ctx, EQUITY_GAPS),
        "eligibility": _rows(ctx, ELIGIBILITY),
        "completeness": _rows(ctx, DATA_COMPLETENESS),
        "settlements": _rows(ctx, SETTLEMENTS, F.col("year").isin(list(years)))
        if ctx.exists(SETTLEMENTS)
        else [],
    }
    by_group: dict[str, dict[str, list[Row]]] = {name: {} for name in tables}
    for name, rows in tables.items():
        for row in rows:
            by_group[name].setdefault(row["group_id"], []).append(row)
    return by_group


def dictionary(ctx: RunContext) -> str:
    """The data dictionary of the output tables present in the lakehouse."""
    schemas = {}
    for table in OUTPUTS:
        if ctx.exists(table):
            schema, partitions = ctx.store.schema(ctx.path(table))
            schemas[table.key] = ([(f.name, f.dataType.simpleString()) for f in schema], partitions)
    return render_dictionary(schemas)


def _rows(ctx: RunContext, table: Table, condition: Any = None) -> list[Row]:
    df = ctx.read(table)
    if condition is not None:
        df = df.filter(condition)
    return [r.asDict() for r in df.collect()]


def _filesystem(lakehouse: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and root path of the lakehouse (a local folder or a URI)."""
    filesystem, root = pafs.FileSystem.from_uri(location_uri(lakehouse))
    return filesystem, str(root)


def _write(fs: pafs.FileSystem, path: str, text: str) -> None:
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(text.encode())
