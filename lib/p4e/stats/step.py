"""The stats step: subgroup rates, equity gaps, replicate gaps and eligibility."""

from __future__ import annotations

import logging
import time

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.config.stats import StatsSettings
from p4e.context import RunContext
from p4e.errors import ConfigError
from p4e.stats import outputs
from p4e.stats.bootstrap import bootstrap_cells
from p4e.stats.eligibility import eligibility
from p4e.stats.profiles import categories_of, check_one_row_per_member_year, profiles
from p4e.tables import (
    ELIGIBILITY,
    EQUITY_GAPS,
    GAP_REPLICATES,
    MEMBER_DEMOGRAPHICS,
    MEMBER_MEASURES,
    SUBGROUP_RATES,
    Table,
)

log = logging.getLogger("p4e")


def measures_of(member_measures: DataFrame, settings: StatsSettings) -> list[str]:
    """The measure ids present in member_measures, sorted.

    Raises:
        ConfigError: member_measures holds a measure with no configured direction.
    """
    present = {r["measure_id"] for r in member_measures.select("measure_id").distinct().collect()}
    unknown = sorted(present - set(settings.directions))
    if unknown:
        raise ConfigError(
            f"member_measures holds measures {unknown} that are not configured "
            "(conf/measures/<id>.yaml)"
        )
    return sorted(present)


def check_reference(categories: list[str], settings: StatsSettings) -> None:
    """Raise when the fixed reference category is not a category of the dimension.

    Raises:
        ConfigError: naming the reference and the categories found.
    """
    if settings.reference_rule == "fixed" and settings.reference_category not in categories:
        raise ConfigError(
            f"the reference category {settings.reference_category!r} of dimension "
            f"{settings.dimension!r} is not among the member_demographics categories "
            f"{categories}; set stats.reference_category or the dimension's reference_category"
        )


def compute_cells(
    member_measures: DataFrame, member_demographics: DataFrame, settings: StatsSettings
) -> DataFrame:
    """Profiles aggregated in Spark, then the bootstrap per (group, year) on the executors.

    Args:
        member_measures: gold/member_measures rows of the years to compute.
        member_demographics: silver/member_demographics rows of those years.
        settings: the stats settings.

    Returns:
        Cell rows in `p4e.stats.cells.CELLS_SCHEMA`.

    Raises:
        ConfigError: a measure has no configured direction, or the fixed reference
            category is not a category of the dimension.
        P4eError: the demographics lack `p_` columns or repeat a member-year.
    """
    return bootstrap_cells(*profile_table(member_measures, member_demographics, settings), settings)


def profile_table(
    member_measures: DataFrame, member_demographics: DataFrame, settings: StatsSettings
) -> tuple[DataFrame, list[str], list[str]]:
    """(profiles, measure ids, category codes): the input of `bootstrap_cells`, checked.

    Raises:
        As `compute_cells`.
    """
    measures = measures_of(member_measures, settings)
    categories = categories_of(member_demographics)
    check_reference(categories, settings)
    check_one_row_per_member_year(member_demographics, settings.dimension)
    table = profiles(
        member_measures,
        member_demographics,
        measures,
        categories,
        dimension=settings.dimension,
        plan_only=settings.scope == "plan",
    )
    return table, measures, categories


def stats_tables(cells: DataFrame, settings: StatsSettings) -> dict[Table, DataFrame]:
    """The three yearly gold tables from the cell rows."""
    return {
        SUBGROUP_RATES: outputs.subgroup_rates(cells, settings),
        EQUITY_GAPS: outputs.equity_gaps(cells, settings),
        GAP_REPLICATES: outputs.gap_replicates(cells),
    }


def run(ctx: RunContext) -> None:
    """Compute and write gold/subgroup_rates, equity_gaps, gap_replicates and eligibility.

    The yearly tables are partitioned by year and the years of `ctx.years` are replaced
    in one commit per table (the profiles and the bootstrap cells are computed first,
    each with a log line of its time); eligibility is recomputed from the written
    tables (so baseline years from earlier runs count) and overwritten.
    """
    settings = ctx.settings.stats
    years = ctx.years
    in_years = F.col("year").isin(years)
    member_measures = ctx.read(MEMBER_MEASURES).filter(in_years)
    demographics = ctx.read(MEMBER_DEMOGRAPHICS).filter(in_years)
    profiled, measures, categories = profile_table(member_measures, demographics, settings)
    profiled = _materialized(profiled, "profiles")
    cells = _materialized(
        bootstrap_cells(profiled, measures, categories, settings), "bootstrap cells"
    )
    profiled.unpersist()
    try:
        for table, frame in stats_tables(cells, settings).items():
            ctx.write(table, frame, replace_where={"year": years})
    finally:
        cells.unpersist()
    result = eligibility(
        ctx.read(SUBGROUP_RATES), ctx.read(EQUITY_GAPS), ctx.read(GAP_REPLICATES), settings
    )
    ctx.write(ELIGIBILITY, result)


def _materialized(df: DataFrame, what: str) -> DataFrame:
    """`df` persisted and computed, with one log line of its rows and time."""
    started = time.perf_counter()
    df = df.persist()
    rows = df.count()
    log.info("step rates: %s: %d rows in %.1f s", what, rows, time.perf_counter() - started)
    return df
