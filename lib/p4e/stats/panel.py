"""The panel bootstrap: each member resampled once across the years of a window.

A panel is one provider group over a window of years (a contract's baseline years, or
those and a performance year), its members counted with their category probabilities
of one vintage year. A member's profile is the probability vector plus the outcome on
every (measure, year) of the window, so resampling profiles resamples members jointly
across measures and years and keeps the year-to-year correlation of their outcomes
(`p4e.stats.resample` does the drawing; cost O(B x profiles)). A member counts for the
group only in the years they are attributed to it: their other years are "not in the
population" (outcome 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.stats.corrected import estimator_totals
from p4e.stats.profiles import NOT_IN_POPULATION, NOT_NUMERATOR, NUMERATOR, PROB_PREFIX
from p4e.stats.resample import Totals, sort_profiles

OUTCOMES = "outcomes"
# The panels to build: one row each.
PANELS_SCHEMA = "panel_id STRING, group_id STRING, years ARRAY<INT>, vintage INT"


def panel_profiles(
    member_measures: DataFrame,
    demographics: DataFrame,
    panels: DataFrame,
    measures: Sequence[str],
    categories: Sequence[str],
    *,
    plan_only: bool,
) -> DataFrame:
    """Distinct member profiles of every panel, with their member counts.

    Args:
        member_measures: gold/member_measures (at least the panels' groups and years).
        demographics: silver/member_demographics of the dimension (the vintage years).
        panels: `PANELS_SCHEMA` rows.
        measures: measure ids, in outcome order.
        categories: category codes, in probability-column order.
        plan_only: keep only rows with `is_plan_member`.

    Returns:
        panel_id, p_<category>... DOUBLE, outcomes ARRAY<TINYINT> (index
        measure * width + year index; width = the longest window), n_members BIGINT.
    """
    width = max(len(r["years"]) for r in panels.select("years").collect())
    years = panels.select(
        "panel_id", "group_id", "vintage", F.posexplode("years").alias("index", "year")
    )
    rows = member_measures.filter(F.col("is_plan_member")) if plan_only else member_measures
    in_rate = F.col("is_denominator") & ~F.col("is_excluded")
    outcome = (
        F.when(in_rate & F.col("is_numerator"), F.lit(NUMERATOR))
        .when(in_rate, F.lit(NOT_NUMERATOR))
        .otherwise(F.lit(NOT_IN_POPULATION))
    )
    cells = rows.join(F.broadcast(years), on=["group_id", "year"], how="inner").select(
        "panel_id", "vintage", "member_id", "measure_id", "index", outcome.alias("outcome")
    )
    codes = [
        F.coalesce(
            F.max(F.when((F.col("measure_id") == m) & (F.col("index") == i), F.col("outcome"))),
            F.lit(NOT_IN_POPULATION),
        )
        for m in measures
        for i in range(width)
    ]
    members = cells.groupBy("panel_id", "vintage", "member_id").agg(
        F.array(*codes).cast("array<tinyint>").alias(OUTCOMES)
    )
    probs = [PROB_PREFIX + c for c in categories]
    vintage = demographics.select(F.col("year").alias("vintage"), "member_id", *probs)
    joined = members.join(vintage, on=["vintage", "member_id"], how="left").select(
        "panel_id",
        *[F.coalesce(F.col(p).cast("double"), F.lit(0.0)).alias(p) for p in probs],
        OUTCOMES,
    )
    return joined.groupBy("panel_id", *probs, OUTCOMES).agg(F.count(F.lit(1)).alias("n_members"))


@dataclass(frozen=True)
class PanelRates:
    """Weighted sizes and rates of one panel, observed and per replicate.

    Attributes:
        n: (M, Y, S + 1) weighted denominators (last subgroup: ALL).
        rates: (M, Y, S + 1) rates (NaN where n is 0).
        rates_rep: (B, M, Y, S + 1) replicate rates.
    """

    n: np.ndarray
    rates: np.ndarray
    rates_rep: np.ndarray


def panel_rates(
    table: pa.Table,
    categories: Sequence[str],
    n_measures: int,
    width: int,
    replicates: int,
    rng: np.random.Generator,
) -> dict[str, PanelRates]:
    """Resample one panel's profiles (`panel_profiles` rows of one panel_id): the rates
    of each estimator (weighted, corrected), from the same replicates."""
    probs = np.column_stack([table.column(PROB_PREFIX + c).to_numpy() for c in categories]).astype(
        np.float64
    )
    outcomes = np.asarray(table.column(OUTCOMES).to_pylist(), dtype=np.int8).reshape(
        table.num_rows, n_measures * width
    )
    counts = table.column("n_members").to_numpy().astype(np.int64)
    probs, outcomes, counts = sort_profiles(probs, outcomes, counts)
    totals = estimator_totals(probs, outcomes, counts, replicates, rng)
    shape = (n_measures, width, len(categories) + 1)
    return {name: _rates(t, shape) for name, t in totals.items()}


def _rates(totals: Totals, shape: tuple[int, ...]) -> PanelRates:
    n, k, n_rep, k_rep = totals
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(n > 0, k / n, np.nan).reshape(shape)
        rates_rep = np.where(n_rep > 0, k_rep / n_rep, np.nan).reshape((len(n_rep), *shape))
    return PanelRates(n.reshape(shape), rates, rates_rep)
