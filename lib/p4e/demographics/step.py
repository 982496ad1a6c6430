"""The demographics pipeline step: silver/member_demographics and gold/data_completeness."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.config.dimension import Dimension
from p4e.context import RunContext
from p4e.demographics.completeness import data_completeness
from p4e.demographics.precedence import member_demographics
from p4e.errors import P4eError
from p4e.tables import DATA_COMPLETENESS, MEMBER_DEMOGRAPHICS
from p4e.tables.inputs import RACE_ETHNICITY
from p4e.tables.membership import MEMBER_GROUPS, MEMBERS


def run(ctx: RunContext) -> None:
    """Assign every member a source and category probabilities per year, then completeness.

    Reads silver/members, silver/<dimension source table> and silver/member_groups;
    replaces the years of `ctx.years` in silver/member_demographics, then
    overwrites gold/data_completeness from its configured years (both partitioned
    by year).

    Raises:
        P4eError: the silver answers hold a row validation should have quarantined.
    """
    dim = ctx.settings.dimension
    records = ctx.read(RACE_ETHNICITY.in_layer("silver", dim.source_table))
    _require_valid(records, dim)
    records = records.withColumnRenamed("person_id", "member_id")
    demographics = member_demographics(ctx.spark, ctx.read(MEMBERS), records, dim, ctx.years)
    ctx.write(MEMBER_DEMOGRAPHICS, demographics, replace_where={"year": ctx.years})
    configured = F.col("year").isin(ctx.configured_years)
    completeness = data_completeness(
        ctx.read(MEMBER_DEMOGRAPHICS).filter(configured),
        ctx.read(MEMBER_GROUPS),
        ctx.settings.stats.min_cell_publish,
    )
    ctx.write(DATA_COMPLETENESS, completeness)


def _require_valid(records: DataFrame, dim: Dimension) -> None:
    """Refuse answers an unknown code or source would turn into a silent zero-probability row."""
    is_valid = (
        F.col("person_id").isNotNull()
        & F.col("recorded_date").isNotNull()
        & F.col("source").isin(*dim.reported_sources)
        & F.col("code").isin(*dim.codes, dim.declined_code)
    )
    bad = records.filter(~F.coalesce(is_valid, F.lit(False))).first()
    if bad is not None:
        raise P4eError(
            f"silver/{dim.source_table} holds a row validation should have quarantined "
            f"({bad.asDict()}): codes must be {', '.join(dim.codes)} or {dim.declined_code}, "
            f"sources {', '.join(dim.reported_sources)}; run the validate step"
        )
