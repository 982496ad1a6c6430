"""Evaluating the configured measures per member and year (gold/member_measures).

Every flag is evaluated on every row independently of the others: a member can
be `is_numerator` and `is_excluded` at once (e.g. screened, then entered
hospice). A member counts in a rate iff `is_denominator AND NOT is_excluded`.
`exclusion_reason` is the first exclusion met in configured order: the common
ones of `_common.yaml` first, then the measure's own. A result numerator met only
through `missing_counts_as` (HBD_POOR without a test) has no numerator_date.

group_id is the member's attributed group for the year (`p4e.membership`: one per
year from the monthly attribution); without any, UNATTRIBUTED, so the member still
counts plan-wide. is_plan_member: a span of the plan's own payers overlaps the year.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.config.measures import Criterion, Definitions, Measure
from p4e.context import RunContext
from p4e.measures.enrollment import enrollment_gaps, is_continuously_enrolled
from p4e.measures.events import coded_events, criterion_dates, member_date_column
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
    "struct<measure_id:string,is_in_band:boolean,is_denominator:boolean,"
    "exclusion_reason:string,is_numerator:boolean,numerator_date:date>"
)


def member_measures(
    spark: SparkSession,
    defs: Definitions,
    year: int,
    *,
    payers: Sequence[str],
    members: DataFrame,
    enrollment: DataFrame,
    attribution: DataFrame,
    events: DataFrame,
) -> DataFrame:
    """Measure flags of every member in each measure's age/sex band for one year.

    Args:
        spark: active session.
        defs: the measure definitions.
        year: measurement year.
        payers: the plan's own payers (`plan.payers`).
        members: silver/members.
        enrollment: their coverage spans (`p4e.membership.spans`).
        attribution: silver/member_groups.
        events: silver/events.

    Returns:
        Rows of gold/member_measures (`p4e.tables.MEMBER_MEASURES`), one per member,
        measure and year; group_id is the attributed group (lowest group_id when
        several) or UNATTRIBUTED.
    """
    events = coded_events(spark, defs, [year], events)
    base = members.select(
        "member_id",
        "birth_date",
        "sex",
        *[member_date_column(c, year) for c in defs.date_criteria()],
    )
    if defs.event_criteria():
        base = base.join(
            criterion_dates(events, defs.event_criteria(), year), on="member_id", how="left"
        )
    if defs.result_rules():
        base = base.join(
            representative_results(spark, defs, year, events), on="member_id", how="left"
        )
    base = base.join(enrollment_gaps(enrollment, year, payers), on="member_id", how="left").join(
        attributed_group(attribution, year), on="member_id", how="left"
    )
    flags = F.explode(F.array(*[_measure_flags(m, year) for m in defs.measures])).alias("m")
    rows = base.select(
        "member_id",
        F.coalesce(F.col("group_id"), F.lit(UNATTRIBUTED)).alias("group_id"),
        F.coalesce(F.col("is_plan_member"), F.lit(False)).alias("is_plan_member"),
        flags,
    ).filter(F.col("m.is_in_band"))
    return rows.select(
        "member_id",
        "group_id",
        F.col("m.measure_id").alias("measure_id"),
        F.lit(year).cast("int").alias("year"),
        "is_plan_member",
        F.col("m.is_denominator").alias("is_denominator"),
        F.col("m.exclusion_reason").isNotNull().alias("is_excluded"),
        F.col("m.exclusion_reason").alias("exclusion_reason"),
        F.col("m.is_numerator").alias("is_numerator"),
        F.col("m.numerator_date").alias("numerator_date"),
    )


def run(ctx: RunContext) -> None:
    """Pipeline step: compute gold/member_measures for every year of the run.

    Reads silver members, eligibility, member_groups and events and replaces exactly
    the partition of each computed year, one year after another (creating the table,
    partitioned by year, on the first write).
    """
    inputs = {
        "members": ctx.read(MEMBERS),
        "enrollment": spans(ctx.read(ELIGIBILITY.in_layer("silver"))),
        "attribution": ctx.read(MEMBER_GROUPS),
        "events": ctx.read(EVENTS),
    }
    defs, payers = ctx.settings.measures, ctx.settings.plan.payers
    for year in ctx.years:
        df = member_measures(ctx.spark, defs, year, payers=payers, **inputs)
        ctx.write(MEMBER_MEASURES, df, replace_where={"year": year})


def _measure_flags(measure: Measure, year: int) -> Column:
    """STRUCT(measure_id, is_in_band, is_denominator, exclusion_reason, is_numerator,
    numerator_date) of one measure, from the member-level criterion columns."""
    age = age_on(F.col("birth_date"), date(year, *measure.age_at))
    is_in_band = F.coalesce(age.between(measure.min_age, measure.max_age), F.lit(False))
    if measure.sexes is not None:
        is_in_band &= F.coalesce(F.col("sex").isin(*measure.sexes), F.lit(False))
    is_denominator = is_continuously_enrolled(measure)
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
    exclusion_reason = (F.coalesce(*reasons) if reasons else F.lit(None)).cast("string")
    if measure.numerator_result is not None:
        reading = F.col(measure.numerator_result.key)
        is_numerator = F.coalesce(reading["is_pass"], F.lit(measure.numerator_result.missing))
        numerator_date = F.when(reading["is_pass"], reading["event_date"])
    else:
        dates = [F.col(c.key) for c in measure.numerator_events]
        numerator_date = F.greatest(*dates) if len(dates) > 1 else dates[0]
        is_numerator = numerator_date.isNotNull()
    flags = F.struct(
        F.lit(measure.id).alias("measure_id"),
        is_in_band.alias("is_in_band"),
        is_denominator.alias("is_denominator"),
        exclusion_reason.alias("exclusion_reason"),
        is_numerator.alias("is_numerator"),
        numerator_date.cast("date").alias("numerator_date"),
    )
    return typed_struct(flags, MEASURE_FLAGS)


def _met(criterion: Criterion) -> Column:
    """True when the criterion's date column (see events.criterion_dates) is set."""
    return F.col(criterion.key).isNotNull()
