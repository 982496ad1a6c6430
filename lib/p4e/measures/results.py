"""Representative result readings (blood pressure, HbA1c, ...) for value-test numerators.

A reading is a value range [low, high]: a numeric result gives low = high =
value, one reported as a bound ("<7.0", ">9") the open range it states (a strict
bound as its value less or more 1e-9); a coded result (CPT II) gives the range
configured for its value set (open ends are -inf/+inf). On one date the lowest
reading of a component has the range [min low, min high] (the highest: [max low,
max high]), which bounds the true minimum whatever the exact values were. A test
passes only when the whole range satisfies it: `< t` iff high < t, `<= t` iff
high <= t, `> t` iff low > t, `>= t` iff low >= t.

The representative date is the most recent one with a reading of any component,
a test without a result included (HEDIS: the most recent BP or HbA1c/GMI test;
an incomplete reading, or a test without a result, is not passed over for an
older one). Readings of claims in an excluded setting (a place of service, or a
claim carrying a code of an excluded value set) do not count, nor observations
and lab results whose `encounter_id` is such a claim.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.config.measures import Definitions
from p4e.measures.events import excluded_flag, in_span

SPEC_SCHEMA = (
    "rule STRING, component STRING, value_set STRING, is_numeric BOOLEAN, range_low DOUBLE, "
    "range_high DOUBLE, sign DOUBLE, operator STRING, threshold DOUBLE, window_start DATE, "
    "window_end DATE, n_components INT"
)


STRICT = 1e-9  # "<7.0": below 7.0 by at least this


def _numeric_range() -> tuple[Column, Column]:
    """(low, high) of a numeric result, open on the side of its bound."""
    bound, value = F.col("value_bound"), F.col("value")
    low = (
        F.when(bound.startswith("<"), F.lit(float("-inf")))
        .when(bound == ">", value + STRICT)
        .otherwise(value)
    )
    high = (
        F.when(bound.startswith(">"), F.lit(float("inf")))
        .when(bound == "<", value - STRICT)
        .otherwise(value)
    )
    return low, high


def representative_results(
    spark: SparkSession, definitions: Definitions, year: int, events: DataFrame
) -> DataFrame:
    """Per member and result rule: the representative date and whether it passes.

    The representative date is the most recent date in the rule's window with a
    reading (module docstring); each component is reduced to its lowest (or highest,
    per `aggregate`) resulted reading of that date and tested.

    Args:
        spark: session (builds the small rule table).
        definitions: measure definitions; their result rules are evaluated.
        year: measurement year the windows are resolved against.
        events: output of `events.coded_events`.

    Returns:
        member_id and one column per rule key: STRUCT<event_date DATE, is_pass BOOLEAN>
        of the representative date (is_pass null when that date lacks a component or a
        result), null when the member has no reading in the window.
    """
    rules = definitions.result_rules()
    spec = F.broadcast(spark.createDataFrame(_spec_rows(definitions, year), SPEC_SCHEMA))
    low, high = _numeric_range()
    readings = (
        events.join(spec, on="value_set", how="inner")
        .filter(in_span(F.col("event_date"), F.col("window_start"), F.col("window_end")))
        .withColumn("low", F.when(F.col("is_numeric"), low).otherwise(F.col("range_low")))
        .withColumn("high", F.when(F.col("is_numeric"), high).otherwise(F.col("range_high")))
    )
    for rule in rules:  # readings of a claim (or its encounter) in an excluded setting
        if rule.excluded_places or rule.excluded_settings:
            readings = readings.filter((F.col("rule") != rule.key) | ~F.col(excluded_flag(rule)))
    keys = ["member_id", "rule", "event_date", "n_components"]
    component_keys = [*keys, "component", "sign", "operator", "threshold"]
    sign = F.col("sign")
    per_component = readings.groupBy(*component_keys).agg(
        (sign * F.min(sign * F.col("low"))).alias("low"),
        (sign * F.min(sign * F.col("high"))).alias("high"),
    )  # min skips nulls: a component is unresulted only when no reading has a value
    op, t = F.col("operator"), F.col("threshold")
    is_pass = (
        F.when(op == "<", F.col("high") < t)
        .when(op == "<=", F.col("high") <= t)
        .when(op == ">", F.col("low") > t)
        .otherwise(F.col("low") >= t)
    )
    resulted = F.col("low").isNotNull() & F.col("high").isNotNull()
    dates = per_component.groupBy(*keys).agg(
        F.count(F.when(resulted, 1)).alias("n"), F.min(F.when(resulted, is_pass)).alias("is_pass")
    )
    complete = F.when(F.col("n") == F.col("n_components"), F.col("is_pass"))
    latest = dates.groupBy("member_id", "rule").agg(
        F.max(F.struct("event_date", complete.alias("is_pass"))).alias("reading")
    )
    return latest.groupBy("member_id").agg(
        *[
            F.max(F.when(F.col("rule") == rule.key, F.col("reading"))).alias(rule.key)
            for rule in rules
        ]
    )


def _spec_rows(definitions: Definitions, year: int) -> list[tuple[object, ...]]:
    """One row per (rule, component, value set) with its range, test and window."""
    rows: list[tuple[object, ...]] = []
    for rule in definitions.result_rules():
        start, end = rule.window.bounds(year)
        sign = 1.0 if rule.aggregate == "min" else -1.0
        n = len(rule.components)
        for comp in rule.components:
            test = (sign, comp.operator, comp.threshold, start, end, n)
            for name in comp.observation_value_sets:
                rows.append((rule.key, comp.name, name, True, None, None, *test))
            for coded in comp.coded:
                rows.append(
                    (rule.key, comp.name, coded.value_set, False, coded.low, coded.high, *test)
                )
    return rows
