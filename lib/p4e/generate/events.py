"""Claim and observation events from the event families, one row per event.

Events are generated per member-year (members x event years, first measurement
year - 2 .. last) from hashes of (seed, member_id, year), with the compliance
probabilities of `rates.event_probabilities` joined by (home group, true category,
year); `p4e.generate.families` says which events each family makes. Events dated
before birth or after death are dropped.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.generate.families import families
from p4e.generate.plan import Plan


def member_years(members: DataFrame, plan: Plan, probs: DataFrame) -> DataFrame:
    """Members x event years they are alive in, with age and the event probabilities.

    Args:
        members: output of population.members_frame.
        plan: run plan.
        probs: rates.event_probabilities as a Spark DataFrame.
    """
    first = F.greatest(F.lit(plan.event_years[0]), F.year("birth_date"))
    last = F.least(F.lit(plan.last_year), F.coalesce(F.year("death_date"), F.lit(plan.last_year)))
    return (
        members.select(
            "member_id",
            "group_id",
            "category",
            "birth_date",
            "sex",
            "death_date",
            F.explode(F.sequence(first, last)).alias("year"),
        )
        .withColumn("age", F.col("year") - F.year("birth_date"))
        .join(F.broadcast(probs), on=["group_id", "category", "year"], how="left")
    )


def _explode(member_years: DataFrame, plan: Plan, kind: str) -> DataFrame:
    """One row per event of `kind` (claims or observations), id from member, year, family
    and position; each family draws its uniforms once per row, on its own rows only."""
    parts = []
    for family in families(plan):
        events = getattr(family, kind)
        if not events:
            continue
        draws = [expression.alias(name) for name, expression in family.draws.items()]
        parts.append(
            member_years.select("*", *draws)
            .where(family.rows)
            .select(
                "member_id",
                "group_id",
                "year",
                "birth_date",
                "death_date",
                F.lit(family.code).alias("family"),
                F.posexplode(F.array(*events)).alias("position", "event"),
            )
        )
    alive = (F.col("event.date") >= F.col("birth_date")) & (
        F.col("death_date").isNull() | (F.col("event.date") <= F.col("death_date"))
    )
    prefix = "C" if kind == "claims" else "O"
    return (
        reduce(DataFrame.unionByName, parts)
        .where(F.col("event").isNotNull() & alive)
        .withColumn(
            "event_id",
            F.format_string(
                "%s%s-%d-%s%02d", F.lit(prefix), "member_id", "year", "family", "position"
            ),
        )
    )


def claims(member_years: DataFrame, plan: Plan) -> DataFrame:
    """claim_id, member_id, group_id (home), service_date, code_system, code,
    place_of_service: one coded service each (`p4e.generate.feeds` writes them as a feed)."""
    return _explode(member_years, plan, "claims").select(
        F.col("event_id").alias("claim_id"),
        "member_id",
        "group_id",
        F.col("event.date").alias("service_date"),
        F.col("event.code_system").alias("code_system"),
        F.col("event.code").alias("code"),
        F.col("event.place_of_service").alias("place_of_service"),
    )


def observations(member_years: DataFrame, plan: Plan) -> DataFrame:
    """observation_id, member_id, observation_date, code (LOINC), value (null: no
    result), unit, status: one clinical result each."""
    return _explode(member_years, plan, "observations").select(
        F.col("event_id").alias("observation_id"),
        "member_id",
        F.col("event.date").alias("observation_date"),
        F.col("event.code").alias("code"),
        F.col("event.value").alias("value"),
        F.col("event.unit").alias("unit"),
        F.col("event.status").alias("status"),
    )
