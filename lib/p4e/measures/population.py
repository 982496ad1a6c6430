"""Who is in a measure's population: age on the anchor date, and the attributed group."""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def age_on(birth_date: Column, anchor: date) -> Column:
    """Age in whole years on `anchor` (a birthday on the anchor day counts)."""
    birthday_later = (F.month(birth_date) > anchor.month) | (
        (F.month(birth_date) == anchor.month) & (F.dayofmonth(birth_date) > anchor.day)
    )
    return F.lit(anchor.year) - F.year(birth_date) - F.when(birthday_later, 1).otherwise(0)


def attributed_group(attribution: DataFrame, year: int) -> DataFrame:
    """The member's group for the year: the lowest group_id when several are attributed.

    Members without attribution in the year do not appear (the caller labels them
    UNATTRIBUTED).

    Returns:
        member_id, group_id.
    """
    return (
        attribution.filter((F.col("year") == year) & F.col("group_id").isNotNull())
        .groupBy("member_id")
        .agg(F.min("group_id").alias("group_id"))
    )
