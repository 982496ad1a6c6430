"""OMOP persons and observation periods as eligibility, race/ethnicity answers, provider
groups and monthly attribution."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from p4e.imports.omop.codes import GENDERS, HISPANIC, RACE_CODES, as_input, lookup


def _birth_date() -> Column:
    """birth_datetime's date, else year/month/day_of_birth (a missing month or day: 1)."""
    month, day = F.coalesce("month_of_birth", F.lit(1)), F.coalesce("day_of_birth", F.lit(1))
    return F.coalesce(F.to_date("birth_datetime"), F.make_date("year_of_birth", month, day))


def eligibility(
    person: DataFrame,
    periods: DataFrame,
    *,
    payer: str,
    death: DataFrame | None,
    location: DataFrame | None,
) -> DataFrame:
    """One row per observation period of a person."""
    people = person.select(
        "person_id",
        "location_id",
        F.coalesce(lookup(F.col("gender_concept_id"), GENDERS), F.lit("unknown")).alias("gender"),
        _birth_date().alias("birth_date"),
    )
    if death is None:
        people = people.withColumn("death_date", F.lit(None).cast("date"))
    else:
        deaths = death.groupBy("person_id").agg(F.min("death_date").alias("death_date"))
        people = people.join(deaths, on="person_id", how="left")
    if location is None:
        people = people.withColumn("zip_code", F.lit(None).cast("string"))
    else:
        zips = location.select("location_id", F.substring("zip", 1, 5).alias("zip_code"))
        people = people.join(zips, on="location_id", how="left")
    return as_input(
        periods.join(people, on="person_id", how="inner"),
        "eligibility",
        {
            "person_id": F.col("person_id"),
            "gender": F.col("gender"),
            "birth_date": F.col("birth_date"),
            "death_date": F.col("death_date"),
            "enrollment_start_date": F.col("observation_period_start_date"),
            "enrollment_end_date": F.col("observation_period_end_date"),
            "payer": F.lit(payer),
            "zip_code": F.col("zip_code"),
        },
    )


def race_ethnicity(person: DataFrame, periods: DataFrame) -> DataFrame:
    """One provider-reported answer per person whose race or ethnicity has a category."""
    code = F.when(F.col("ethnicity_concept_id") == HISPANIC, "hispanic").otherwise(
        lookup(F.col("race_concept_id"), RACE_CODES)
    )
    first_start = periods.groupBy("person_id").agg(
        F.min("observation_period_start_date").alias("recorded_date")
    )
    answers = (
        person.select("person_id", code.alias("code"))
        .where(F.col("code").isNotNull())
        .join(first_start, on="person_id", how="inner")
    )
    return as_input(
        answers,
        "race_ethnicity",
        {
            "person_id": F.col("person_id"),
            "source": F.lit("provider_reported"),
            "code": F.col("code"),
            "recorded_date": F.col("recorded_date"),
        },
    )


def provider_groups(person: DataFrame, care_site: DataFrame | None) -> DataFrame:
    """One group per care site persons are attributed to."""
    sites = person.where(F.col("care_site_id").isNotNull()).select("care_site_id").distinct()
    if care_site is None:
        sites = sites.withColumn("care_site_name", F.lit(None).cast("string"))
    else:
        names = care_site.select("care_site_id", "care_site_name")
        sites = sites.join(names, on="care_site_id", how="left")
    return as_input(
        sites,
        "provider_groups",
        {
            "group_id": F.col("care_site_id"),
            "group_name": F.coalesce("care_site_name", F.col("care_site_id").cast("string")),
        },
    )


def provider_attribution(person: DataFrame, periods: DataFrame, *, payer: str) -> DataFrame:
    """One row per person with a care site and calendar month of their observation periods."""
    start, end = F.col("observation_period_start_date"), F.col("observation_period_end_date")
    months = F.sequence(F.trunc(start, "month"), F.trunc(end, "month"), F.expr("INTERVAL 1 MONTH"))
    attributed = (
        person.where(F.col("care_site_id").isNotNull())
        .select("person_id", "care_site_id")
        .join(periods.where(end >= start), on="person_id", how="inner")
        .select("person_id", "care_site_id", F.explode(months).alias("month"))
        .select("person_id", "care_site_id", F.date_format("month", "yyyyMM").alias("year_month"))
        .distinct()
    )
    return as_input(
        attributed,
        "provider_attribution",
        {
            "person_id": F.col("person_id"),
            "year_month": F.col("year_month"),
            "payer": F.lit(payer),
            "payer_attributed_provider_organization": F.col("care_site_id"),
        },
    )
