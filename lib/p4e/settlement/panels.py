"""The contract decisions on Spark: one panel bootstrap per request, on the executors.

A request is a (contract, group) over a window of years and a vintage: the baseline
panel (the baseline years, the answers of the last one) or a performance panel (the
baseline years and the performance year, the answers of the performance year). Spark
builds every request's profiles (`p4e.stats.panel.panel_profiles`) and runs the numpy
of `p4e.settlement.freeze` or `p4e.settlement.decide` per request with applyInArrow; the
driver gets back a few rows per request, never member rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.stats.panel import PANELS_SCHEMA, PanelRates, panel_profiles, panel_rates
from p4e.stats.resample import generator

RESULT_SCHEMA = "panel_id STRING, payload STRING"


@dataclass(frozen=True)
class Request:
    """One panel: its id, group, window of years, vintage and random stream."""

    panel_id: str
    group_id: str
    years: tuple[int, ...]
    vintage: int
    seed: int


def run_panels(
    spark: SparkSession,
    member_measures: DataFrame,
    demographics: DataFrame,
    requests: Sequence[Request],
    work: Callable[[str, Mapping[str, PanelRates]], list[dict[str, Any]]],
    *,
    measures: Sequence[str],
    categories: Sequence[str],
    replicates: int,
    plan_only: bool,
) -> dict[str, list[dict[str, Any]]]:
    """`work(panel_id, rates)` on every request's panel, on the executors.

    Args:
        work: turns one panel's rates (estimator -> rates) into result rows
            (JSON-serialisable dicts).

    Returns:
        panel_id -> its result rows (panels without any member give no rows).
    """
    if not requests:
        return {}
    panels = spark.createDataFrame(
        [(r.panel_id, r.group_id, list(r.years), r.vintage) for r in requests], PANELS_SCHEMA
    )
    groups = sorted({r.group_id for r in requests})
    years = sorted({y for r in requests for y in (*r.years, r.vintage)})
    profiles = panel_profiles(
        member_measures.filter(F.col("group_id").isin(groups) & F.col("year").isin(years)),
        demographics.filter(F.col("year").isin(years)),
        panels,
        measures,
        categories,
        plan_only=plan_only,
    )
    by_id = {r.panel_id: r for r in requests}
    width = max(len(r.years) for r in requests)
    n_measures = len(measures)

    def per_panel(table: pa.Table) -> pa.Table:
        request = by_id[table.column("panel_id")[0].as_py()]
        rng = generator(request.seed, request.panel_id, request.vintage)
        rates = panel_rates(table, categories, n_measures, width, replicates, rng)
        rows = work(
            request.panel_id,
            {name: _window(r, len(request.years)) for name, r in rates.items()},
        )
        payload = [json.dumps(row, default=_plain) for row in rows]
        return pa.table({"panel_id": [request.panel_id] * len(rows), "payload": payload})

    results = profiles.groupBy("panel_id").applyInArrow(per_panel, schema=RESULT_SCHEMA)
    found: dict[str, list[dict[str, Any]]] = {}
    for row in results.collect():
        found.setdefault(row["panel_id"], []).append(json.loads(row["payload"]))
    return found


def _window(rates: PanelRates, years: int) -> PanelRates:
    """The panel's own years (panels are built as wide as the widest request)."""
    return PanelRates(rates.n[:, :years], rates.rates[:, :years], rates.rates_rep[:, :, :years])


def _plain(value: Any) -> Any:
    """JSON for numpy values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def request_id(contract_id: str, group_id: str, year: int | None) -> str:
    """The id of a panel: 'contract/group/baseline' or 'contract/group/<year>'."""
    return f"{contract_id}/{group_id}/{'baseline' if year is None else year}"


def by_measure(rows: Sequence[Mapping[str, Any]]) -> dict[str | None, Mapping[str, Any]]:
    """A panel's result rows by measure id (None: the total row)."""
    return {row.get("measure_id"): row for row in rows}
