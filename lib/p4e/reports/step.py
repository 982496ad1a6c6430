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
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
from pyspark.sql import functions as F

from p4e.context import RunContext
from p4e.reports.catalog import TABLES, render_dictionary
from p4e.reports.group import group_data, render_group
from p4e.reports.labels import load_labels
from p4e.reports.public import public_data, render_public
from p4e.tables import ALL_GROUPS, UNATTRIBUTED

log = logging.getLogger("p4e")


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
    labels = load_labels(ctx.cfg)
    years = sorted(years or ctx.configured_years)
    rates = _rows(ctx, "subgroup_rates")
    gaps = _rows(ctx, "equity_gaps")
    eligibility = _rows(ctx, "eligibility")
    completeness = _rows(ctx, "data_completeness")
    settlements = []
    if ctx.exists("gold", "settlements"):
        settlements = _rows(ctx, "settlements", F.col("year").isin(years))
    names = {
        r["group_id"]: r["group_name"] for r in ctx.read("silver", "provider_groups").collect()
    }
    chosen = sorted(
        {r["group_id"] for r in rates} - {ALL_GROUPS, UNATTRIBUTED}
        if groups is None
        else set(groups)
    )
    tables = {"rates": rates, "gaps": gaps, "eligibility": eligibility,
              "settlements": settlements, "completeness": completeness}  # fmt: skip
    by_group: dict[str, dict[str, list[dict[str, Any]]]] = {name: {} for name in tables}
    for name, rows in tables.items():
        for r in rows:
            by_group[name].setdefault(r["group_id"], []).append(r)
    fs, root = _filesystem(ctx.cfg.lakehouse)
    counts = {"public": 0, "group": 0, "dictionary": 0}
    for year in years:
        plan = {name: by_group[name].get(ALL_GROUPS, []) for name in by_group}
        html = render_public(
            public_data(labels, year, plan["rates"], plan["gaps"], plan["completeness"])
        )
        _write(fs, f"{root}/reports/{year}/equity_report_{year}.html", html)
        counts["public"] += 1
        for group in chosen:
            own = {name: by_group[name].get(group, []) for name in by_group}
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


def dictionary(ctx: RunContext) -> str:
    """The data dictionary of the output tables present in the lakehouse."""
    schemas = {}
    for name in TABLES:
        layer, table = name.split("/")
        if ctx.exists(layer, table):
            schema, partitions = ctx.store.schema(ctx.path(layer, table))
            schemas[name] = ([(f.name, f.dataType.simpleString()) for f in schema], partitions)
    return render_dictionary(schemas)


def _rows(ctx: RunContext, table: str, condition: Any = None) -> list[dict[str, Any]]:
    df = ctx.read("gold", table)
    if condition is not None:
        df = df.filter(condition)
    return [r.asDict() for r in df.collect()]


def _filesystem(lakehouse: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and root path of the lakehouse (a local folder or a URI)."""
    uri = lakehouse if "://" in lakehouse else str(Path(lakehouse).resolve())
    return pafs.FileSystem.from_uri(uri)


def _write(fs: pafs.FileSystem, path: str, text: str) -> None:
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(text.encode())
