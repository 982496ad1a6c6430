"""Evaluating the configured measures per member and year (gold/member_measures).

Each year is computed with the measure versions effective that year (or, with
`spec_versions: restated`, the last run year's; `Definitions.for_year`); the row
records the version. A member is in a measure's rows when in its age/sex band;
`is_plan_member` when the plan's own coverage meets the measure's continuous-
enrollment rule; `is_denominator` when that and the denominator criteria hold.
Exclusions and the numerator are set inside the denominator only (outside:
exclusion_reason null, is_numerator false); `is_in_rate` = in the denominator and
not excluded. `exclusion_reason` is the first exclusion met in configured order:
the common ones of `_common.yaml` first, then the measure's own. A member can be
numerator and excluded at once (screened, then entered hospice). A result
numerator met only through `missing_counts_as` (GSD_POOR without a resulted test)
has no numerator_date.

group_id is the member's attributed group for the year (`p4e.membership`: one per
year from the monthly attribution); without any, UNATTRIBUTED, so the member still
counts plan-wide.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.config.measures import (
    Combined,
    Criterion,
    Definitions,
    EventCriterion,
    Measure,
    leaves_of,
)
from p4e.context import RunContext
from p4e.measures.enrollment import enrollment_checks, is_continuously_enrolled
from p4e.measures.events import coded_events, criterion_dates, member_date_column, year_events
from p4e.measures.population import age_on, attributed_group
from p4e.measures.results import representative_results
from p4e.membership import spans
from p4e.sail import typed_struct
from p4e.tables import MEMBER_MEASURES
from p4e.tables.events import EVENTS
from p4e.tables.inputs import ELIGIBILITY
from p4e.tables.membership import MEMBER_GROUPS, MEMBERS
from p4e.tables.vocabulary import UNATTRIBUTED

# One measure's flags for a member (`_measure_flags`).
MEASURE_FLAGS = (
    "struct<measure_id:string,spec_version:string,is_in_band:boolean,is_plan_member:boolean,"
    "is_denominator:boolean,exclusion_reason:string,is_numerator:boolean,numerator_date:date>"
)


def member_measures(
    spark: SparkSession,
    defs: Definitions,
    year: int,
    *,
    members: DataFrame,
    enrollment: DataFrame,
    attribution: DataFrame,
    events: DataFrame,
) -> DataFrame:
    """Measure flags of every member in each measure's age/sex band for one year.

    Args:
        spark: active session.
        defs: the measure definitions of the year (`Definitions.for_year`).
        year: measurement year.
        members: silver/members.
        enrollment: `enrollment.enrollment_checks` of their spans, with the checks of
            the year's measures (and possibly others).
        attribution: silver/member_groups.
        events: `events.coded_events` of silver/events for the year (and possibly
            others).

    Returns:
        Rows of gold/member_measures (`p4e.tables.MEMBER_MEASURES`), one per member,
        measure and year; group_id is the attributed group (lowest group_id when
        several) or UNATTRIBUTED.
    """
    events = year_events(spark, defs, year, events)
    base = members.select(
        "member_id",
        "birth_date",
        "sex",
        *[member_date_column(c, year) for c in defs.date_criteria()],
    )
    if defs.event_criteria():
        met = {c.key for m in defs.measures for c in _denominator_leaves(m)}
        base = base.join(
            criterion_dates(events, defs.event_criteria(), year, met), on="member_id", how="left"
        )
    for combined in defs.combined_criteria():
        base = base.withColumn(combined.key, _combined_date(combined))
    if defs.result_rules():
        base = base.join(
            representative_results(spark, defs, year, events), on="member_id", how="left"
        )
    base = base.join(enrollment, on="member_id", how="left").join(
        attributed_group(attribution, year), on="member_id", how="left"
    )
    flags = F.explode(F.array(*[_measure_flags(m, year) for m in defs.measures])).alias("m")
    rows = base.select(
        "member_id",
        F.coalesce(F.col("group_id"), F.lit(UNATTRIBUTED)).alias("group_id"),
        flags,
    ).filter(F.col("m.is_in_band"))
    is_excluded = F.col("m.exclusion_reason").isNotNull()
    return rows.select(
        "member_id",
        "group_id",
        F.col("m.measure_id").alias("measure_id"),
        F.lit(year).cast("int").alias("year"),
        F.col("m.spec_version").alias("spec_version"),
        F.col("m.is_plan_member").alias("is_plan_member"),
        F.col("m.is_denominator").alias("is_denominator"),
        is_excluded.alias("is_excluded"),
        F.col("m.exclusion_reason").alias("exclusion_reason"),
        (F.col("m.is_denominator") & ~is_excluded).alias("is_in_rate"),
        F.col("m.is_numerator").alias("is_numerator"),
        F.col("m.numerator_date").alias("numerator_date"),
    )


def run(ctx: RunContext) -> None:
    """Pipeline step: compute gold/member_measures for every year of the run.

    Reads silver members, eligibility, member_groups and events and replaces exactly
    the partition of each computed year, one year after another (creating the table,
    partitioned by year, on the first write).
    """
    settings, spark = ctx.settings, ctx.spark
    defs = {y: settings.measures.for_year(settings.spec_year(y)) for y in ctx.years}
    checks = [c for y, d in defs.items() for m in d.measures for c in m.enrollment.checks(y)]
    enrollment = spans(ctx.read(ELIGIBILITY.in_layer("silver")))
    # Computed once for every year, read by each year's criteria, results and
    # enrollment rule: one scan, shuffle and window for the run, not one per year.
    shared = [
        coded_events(spark, defs, ctx.read(EVENTS)),
        enrollment_checks(spark, enrollment, checks, settings.plan.payers),
    ]
    events, checked = (df.persist(StorageLevel.MEMORY_AND_DISK) for df in shared)
    try:
        for year in ctx.years:
            df = member_measures(
                spark,
                defs[year],
                year,
                members=ctx.read(MEMBERS),
                enrollment=checked,
                attribution=ctx.read(MEMBER_GROUPS),
                events=events,
            )
            ctx.write(MEMBER_MEASURES, df, replace_where={"year": year})
    finally:
        events.unpersist()
        checked.unpersist()


def _measure_flags(measure: Measure, year: int) -> Column:
    """STRUCT (`MEASURE_FLAGS`) of one measure, from the member-level criterion columns."""
    age = age_on(F.col("birth_date"), date(year, *measure.age_at))
    is_in_band = F.coalesce(age.between(measure.min_age, measure.max_age), F.lit(False))
    if measure.sexes is not None:
        is_in_band &= F.coalesce(F.col("sex").isin(*measure.sexes), F.lit(False))
    is_plan_member = is_continuously_enrolled(measure, year)
    is_denominator = is_plan_member
    for criterion in measure.denominator:
        is_denominator &= _met(criterion)
    reasons = []
    for exclusion in measure.exclusions:
        cond = F.lit(True)
        if exclusion.min_age is not None:
            cond &= F.coalesce(age >= exclusion.min_age, F.lit(False))
        for criterion in exclusion.criteria:
            cond &= _met(criterion)
        reasons.append(F.when(cond, F.lit(exclusion.reason)))
    exclusion_reason = F.coalesce(*reasons) if reasons else F.lit(None)
    rule = measure.numerator_result
    if rule is not None:
        reading = F.col(rule.key)
        is_pass = reading["is_pass"]
        if rule.after_denominator:
            is_pass = F.when(reading["event_date"] >= _met_date(measure.denominator), is_pass)
        is_numerator = F.coalesce(is_pass, F.lit(rule.missing))
        numerator_date = F.when(is_pass, reading["event_date"])
    else:
        dates = [F.col(c.key) for c in measure.numerator_events]
        numerator_date = F.greatest(*dates) if len(dates) > 1 else dates[0]
        is_numerator = numerator_date.isNotNull()
    flags = F.struct(
        F.lit(measure.id).alias("measure_id"),
        F.lit(measure.version).alias("spec_version"),
        is_in_band.alias("is_in_band"),
        is_plan_member.alias("is_plan_member"),
        is_denominator.alias("is_denominator"),
        F.when(is_denominator, exclusion_reason).cast("string").alias("exclusion_reason"),
        (is_denominator & is_numerator).alias("is_numerator"),
        F.when(is_denominator, numerator_date).cast("date").alias("numerator_date"),
    )
    return typed_struct(flags, MEASURE_FLAGS)


def _met(criterion: Criterion) -> Column:
    """True when the criterion's date column (see events.criterion_dates) is set."""
    return F.col(criterion.key).isNotNull()


def _combined_date(combined: Combined) -> Column:
    """The latest date of a met combined criterion: any_of, of the met ones; all_of, of
    all when every one is met."""
    dates = [F.col(c.key) for c in combined.criteria]
    latest = F.greatest(*dates) if len(dates) > 1 else dates[0]
    if combined.mode == "any_of":
        return latest
    return F.when(functools.reduce(operator.and_, [d.isNotNull() for d in dates]), latest)


def _denominator_leaves(measure: Measure) -> list[EventCriterion]:
    """The event criteria whose met day a result rule reads (`on_or_after: denominator`)."""
    rule = measure.numerator_result
    if rule is None or not rule.after_denominator:
        return []
    return [c for c in leaves_of(measure.denominator) if isinstance(c, EventCriterion)]


def _met_date(criteria: Sequence[Criterion]) -> Column:
    """The day all `criteria` were met: the latest of their met days (any_of: the
    earliest met one)."""

    def met(c: Criterion) -> Column:
        if isinstance(c, Combined):
            parts = [met(child) for child in c.criteria]
            if len(parts) == 1:
                return parts[0]
            return F.least(*parts) if c.mode == "any_of" else F.greatest(*parts)
        if isinstance(c, EventCriterion):
            return F.col(f"{c.key}__met")
        return F.col(c.key)

    parts = [met(c) for c in criteria]
    return F.greatest(*parts) if len(parts) > 1 else parts[0]
