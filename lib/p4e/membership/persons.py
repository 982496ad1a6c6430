"""Members and their coverage spans, from the input layer's `eligibility`.

Eligibility holds one row per person and span, each repeating who the person is.
A member's attributes are those of their latest span (latest start, then latest
end, an open end last of all; remaining ties broken by the values themselves, so
the choice is deterministic); the death date is the latest recorded on any span.
Gender spellings are resolved by `inputs.genders` to F, M or U (unknown, also for
blank or unrecognised values, which validation flags).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# The last day of an open span (enrollment_end_date null = still enrolled).
OPEN_END = "9999-12-31"
SEX = {"female": "F", "male": "M", "unknown": "U"}


def spans(eligibility: DataFrame) -> DataFrame:
    """member_id, payer, start_date, end_date (inclusive; an open span ends OPEN_END)."""
    return eligibility.select(
        F.col("person_id").alias("member_id"),
        "payer",
        F.col("enrollment_start_date").alias("start_date"),
        F.coalesce("enrollment_end_date", F.lit(OPEN_END).cast("date")).alias("end_date"),
    )


def members(eligibility: DataFrame, genders: Mapping[str, str]) -> DataFrame:
    """One row per person: member_id, birth_date, sex (F, M or U), first_name, surname,
    zip (5 digits), tract, death_date."""
    spelled = F.create_map(*[F.lit(x) for k, v in sorted(genders.items()) for x in (k, SEX[v])])
    sex = F.coalesce(F.try_element_at(spelled, F.lower(F.trim("gender"))), F.lit("U"))
    latest = F.struct(
        F.col("enrollment_start_date").alias("start"),
        F.coalesce("enrollment_end_date", F.lit(OPEN_END).cast("date")).alias("end"),
        "birth_date",
        sex.alias("sex"),
        F.col("first_name").alias("first_name"),
        F.col("last_name").alias("surname"),
        F.substring(F.regexp_replace("zip_code", "[^0-9]", ""), 1, 5).alias("zip"),
        F.col("census_tract").alias("tract"),
    )
    return (
        eligibility.groupBy(F.col("person_id").alias("member_id"))
        .agg(F.max(latest).alias("m"), F.max("death_date").alias("death_date"))
        .select(
            "member_id",
            "m.birth_date",
            "m.sex",
            "m.first_name",
            "m.surname",
            F.when(F.length("m.zip") == 5, F.col("m.zip")).alias("zip"),
            "m.tract",
            "death_date",
        )
    )
