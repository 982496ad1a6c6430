"""Criteria on the coded events (silver/events) and on the members' own dates.

A criterion is evaluated per member for one measurement year and reduced to one
DATE column named by its key: the latest qualifying date when the criterion is
met, null otherwise; where a result rule needs it, also the day it became met
(`<key>__met`: the `min_count`-th qualifying date). An event qualifies when it
lies in the window, and on the claim (place of service, modifiers, rendering
specialty, another code of the claim) the criterion asks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import Window as SparkWindow
from pyspark.sql import functions as F

from p4e.config.measures import (
    Definitions,
    EventCriterion,
    MemberDateCriterion,
    ResultRule,
    Window,
)


def coded_events(
    spark: SparkSession, definitions: Mapping[int, Definitions], events: DataFrame
) -> DataFrame:
    """The events (silver/events) that the criteria and result rules of the years
    (`definitions`: each year's measure definitions) read, with their claim's flags.

    Built once for every year of a run: only events inside their value set's span for
    some year (`value_set_spans`) are kept. The flags are computed in one window over
    the events of a claim and the lab results and observations whose `encounter_id`
    is that claim (`link`): per `on_claim_with` of a criterion (`claim_flag`: the claim
    carries a code of those value sets) and per excluded setting of a result rule
    (`excluded_flag`: the claim, or the encounter's claim, is in one). Events of value
    sets read only through the flags are dropped after them.

    Returns:
        Columns member_id, event_date, value_set, value, value_bound and the claim's:
        claim (the medical claim_id; null for other sources), link (that claim, or the
        encounter_id of a lab result or observation), place_of_service, modifiers,
        specialty; then the flags.
    """
    per_year = [value_set_spans(defs, [year]) for year, defs in definitions.items()]
    names = sorted({name for spans in per_year for name in spans})
    spans = {n: _union([s[n] for s in per_year if n in s]) for n in names}
    flags, direct = _claim_flags(definitions.values()), _direct_reads(definitions.values())
    return (
        in_spans(spark, events, spans)
        .select(
            "member_id",
            "event_date",
            "value_set",
            "value",
            "value_bound",
            F.when(F.col("source") == "medical_claim", F.col("claim_id")).alias("claim"),
            F.coalesce(
                F.when(F.col("source") == "medical_claim", F.col("claim_id")),
                F.col("encounter_id"),
            ).alias("link"),
            "place_of_service",
            "modifiers",
            "specialty",
        )
        # Every later aggregation groups by member first: one shuffle, reused by all.
        .repartition("member_id")
        .withColumns(flags)
        .filter(F.col("value_set").isin(*direct))
    )


def year_events(
    spark: SparkSession, definitions: Definitions, year: int, events: DataFrame
) -> DataFrame:
    """The events of `coded_events` that the criteria and result rules of `year` read."""
    return in_spans(spark, events, value_set_spans(definitions, [year]))


def in_spans(
    spark: SparkSession, events: DataFrame, spans: Mapping[str, tuple[date | None, date | None]]
) -> DataFrame:
    """The events inside their value set's span (`spans`; other value sets are dropped)."""
    table = spark.createDataFrame(
        [(name, *span) for name, span in sorted(spans.items())],
        "value_set STRING, span_start DATE, span_end DATE",
    )
    return (
        events.filter(_between(F.col("event_date"), *_union(list(spans.values()))))
        .join(F.broadcast(table), on="value_set", how="inner")
        .filter(in_span(F.col("event_date"), F.col("span_start"), F.col("span_end")))
        .drop("span_start", "span_end")
    )


def criterion_dates(
    events: DataFrame, criteria: Sequence[EventCriterion], year: int, met: Iterable[str] = ()
) -> DataFrame:
    """One row per member with an event, one DATE column per criterion key.

    Args:
        events: output of `coded_events`.
        criteria: the event criteria to evaluate.
        year: measurement year the windows are resolved against.
        met: keys of the criteria whose `<key>__met` column is wanted too.

    Returns:
        member_id and, per criterion, the latest qualifying event date when the member
        has qualifying events on at least `min_count` distinct dates, else null (and
        `<key>__met`, the `min_count`-th of those dates, for the keys in `met`).
    """
    wanted = set(met)
    aggregates = []
    for criterion in criteria:
        date = F.when(qualifies(criterion, year), F.col("event_date"))
        latest = F.max(date)
        if criterion.min_count > 1 or criterion.key in wanted:
            dates = F.array_sort(F.collect_set(date))
            enough = F.size(dates) >= criterion.min_count
            latest = F.when(enough, latest)
            if criterion.key in wanted:
                nth = F.element_at(dates, criterion.min_count)
                aggregates.append(F.when(enough, nth).alias(f"{criterion.key}__met"))
        aggregates.append(latest.alias(criterion.key))
    return events.groupBy("member_id").agg(*aggregates)


def qualifies(criterion: EventCriterion, year: int) -> Column:
    """True on an event the criterion counts (on the flagged events of `criterion_dates`)."""
    matches = F.col("value_set").isin(*criterion.value_sets) & in_window(
        F.col("event_date"), criterion.window, year
    )
    if criterion.place_of_service is not None:
        matches &= F.col("place_of_service").isin(*criterion.place_of_service)
    if criterion.modifiers is not None:
        wanted = F.array(*[F.lit(m) for m in criterion.modifiers])
        matches &= F.coalesce(F.arrays_overlap(F.col("modifiers"), wanted), F.lit(False))
    if criterion.specialties is not None:
        matches &= F.col("specialty").isin(*criterion.specialties)
    if criterion.on_claim_with:
        matches &= F.col(claim_flag(criterion.on_claim_with))
    return F.coalesce(matches, F.lit(False))


def claim_flag(names: tuple[str, ...]) -> str:
    """Column of `coded_events`: the event's claim carries a code of `names`."""
    return "_on_claim_" + "_".join(names)


def excluded_flag(rule: ResultRule) -> str:
    """Column of `coded_events`: the event's claim is in an excluded setting of `rule`."""
    return "_excluded_" + "_".join((*rule.excluded_places, *rule.excluded_settings))


def _claim_flags(definitions: Iterable[Definitions]) -> dict[str, Column]:
    """The flag columns of `coded_events` (false for an event without a claim)."""
    every = list(definitions)
    is_claim = F.col("claim").isNotNull()
    on_claim = sorted(
        {c.on_claim_with for d in every for c in d.event_criteria() if c.on_claim_with}
    )
    flags = {claim_flag(names): is_claim & F.col("value_set").isin(*names) for names in on_claim}
    for rule in (r for d in every for r in d.result_rules()):
        if rule.excluded_places or rule.excluded_settings:
            flags[excluded_flag(rule)] = is_claim & (
                F.coalesce(F.col("place_of_service").isin(*rule.excluded_places), F.lit(False))
                | F.col("value_set").isin(*rule.excluded_settings)
            )
    by_link = SparkWindow.partitionBy("member_id", "link")
    found = {
        name: F.coalesce(F.max(flag).over(by_link), F.lit(False)) for name, flag in flags.items()
    }
    for names in on_claim:  # a code on the claim: claim lines only
        found[claim_flag(names)] &= is_claim
    return found


def _direct_reads(definitions: Iterable[Definitions]) -> list[str]:
    """The value sets whose events a criterion or a result rule reads itself."""
    found: set[str] = set()
    for d in definitions:
        found.update(name for c in d.event_criteria() for name in c.value_sets)
        found.update(
            name
            for rule in d.result_rules()
            for comp in rule.components
            for name in (*comp.observation_value_sets, *(r.value_set for r in comp.coded))
        )
    return sorted(found)


def member_date_column(criterion: MemberDateCriterion, year: int) -> Column:
    """The member's date column when it falls in the criterion's window, else null."""
    col = F.col(criterion.column)
    return F.when(in_window(col, criterion.window, year), col).alias(criterion.key)


def in_window(col: Column, window: Window, year: int) -> Column:
    """True when the date column lies in the window resolved for `year` (inclusive)."""
    return _between(col, *window.bounds(year))


def value_set_spans(
    definitions: Definitions, years: Sequence[int]
) -> dict[str, tuple[date | None, date | None]]:
    """Per value set, the event dates the criteria and result rules of the years read.

    A span runs from the earliest start to the latest end of the windows that read
    the value set (open at an end where one of them is open).
    """
    reads: list[tuple[Iterable[str], Window]] = [
        (c.reads, c.window) for c in definitions.event_criteria()
    ]
    reads += [(rule.value_sets, rule.window) for rule in definitions.result_rules()]
    bounds: dict[str, list[tuple[date | None, date | None]]] = {}
    for names, window in reads:
        for name in names:
            bounds.setdefault(name, []).extend(window.bounds(year) for year in years)
    return {name: _union(spans) for name, spans in sorted(bounds.items())}


def in_events_span(col: Column, definitions: Definitions, years: Sequence[int]) -> Column:
    """True when the date lies in the union of every value set's span for the years.

    The union is one span from the earliest start to the latest end: every event a
    criterion or result rule of these years can read, and nothing dated outside it.
    """
    return _between(col, *_union(list(value_set_spans(definitions, years).values())))


def in_span(col: Column, start: Column, end: Column) -> Column:
    """True when the date column lies in [start, end] (inclusive); a null bound is open."""
    return (start.isNull() | (col >= start)) & (end.isNull() | (col <= end))


def _union(spans: list[tuple[date | None, date | None]]) -> tuple[date | None, date | None]:
    """The smallest span holding all `spans`; open at an end where one of them is."""
    starts = [s for s, _ in spans if s is not None]
    ends = [e for _, e in spans if e is not None]
    start = min(starts) if spans and len(starts) == len(spans) else None
    end = max(ends) if spans and len(ends) == len(spans) else None
    return start, end


def _between(col: Column, start: date | None, end: date | None) -> Column:
    return col.isNotNull() & in_span(col, F.lit(start).cast("date"), F.lit(end).cast("date"))
