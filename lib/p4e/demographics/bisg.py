"""BISG imputation as Spark joins against the Census 2010 tables.

For a member with surname s and geography g, over the six Census races r:

    P(r | s, g) = P(r | s) · P(g | r) / Σ_r' P(r' | s) · P(g | r')

which is surgeo's SurgeoModel. The geography is the member's census tract
(11-digit GEOID) when it is in the Census tract table, else the ZIP code read as a
ZCTA, else none. Fallbacks where surgeo returns NaN:

- surname not on the Census list (or empty): the national prior P(r) stands in
  for P(r | s), so the result is the geography-only estimate P(r | g);
- no usable geography (none given, malformed, not in the tables, or every
  P(r | s) · P(g | r) is 0): surname only, P(r | s) renormalised;
- neither: the national prior (the member's source is then `unknown`).

The `basis` column records which case applied: "surname+tract", "surname+zcta",
"surname", "tract", "zcta" or "none".
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.config.dimension import CENSUS_RACES, BisgSpec, prob_column
from p4e.demographics.census import read_surname_table, read_tract_table, read_zcta_table
from p4e.demographics.names import normalize_surname

NO_BASIS = "none"


def census_race_probabilities(spark: SparkSession, members: DataFrame, bisg: BisgSpec) -> DataFrame:
    """BISG probabilities over the six Census races, one row per member.

    Args:
        spark: session used to read the Census tables.
        members: at least member_id, surname, zip, tract (the members contract).
        bisg: the dimension's BISG settings (national prior, data location).

    Returns:
        member_id, basis, and q_<race> DOUBLE for white, black, api, native,
        multiple, hispanic, summing to 1.
    """
    keys = members.select(
        "member_id",
        normalize_surname("surname").alias("name"),
        F.when(F.col("zip").rlike(r"^[0-9]{5}$"), F.col("zip")).alias("zcta"),
        F.when(F.col("tract").rlike(r"^[0-9]{11}$"), F.col("tract")).alias("tract"),
    )
    joined = (
        keys.join(read_surname_table(spark, bisg.census_data), on="name", how="left")
        .join(F.broadcast(read_zcta_table(spark, bisg.census_data)), on="zcta", how="left")
        .join(F.broadcast(read_tract_table(spark, bisg.census_data)), on="tract", how="left")
    )
    has_surname = F.col("s_white").isNotNull()
    # P(r | surname), or the national P(r) for a surname not on the Census list
    surname = {r: F.coalesce(F.col(f"s_{r}"), F.lit(bisg.national_prior[r])) for r in CENSUS_RACES}
    tract = {r: surname[r] * F.col(f"t_{r}") for r in CENSUS_RACES}
    zcta = {r: surname[r] * F.col(f"z_{r}") for r in CENSUS_RACES}
    use_tract = _sum(list(tract.values())) > 0  # null (tract unknown) counts as false
    use_zcta = _sum(list(zcta.values())) > 0
    numer = {
        r: F.when(use_tract, tract[r]).when(use_zcta, zcta[r]).otherwise(surname[r])
        for r in CENSUS_RACES
    }
    geo = F.when(use_tract, F.lit("tract")).when(use_zcta, F.lit("zcta"))
    basis = (
        F.when(has_surname, F.concat_ws("+", F.lit("surname"), geo))
        .when(geo.isNotNull(), geo)
        .otherwise(F.lit(NO_BASIS))
    )
    return (
        joined.select("member_id", basis.alias("basis"), *[numer[r].alias(r) for r in CENSUS_RACES])
        .withColumn("total", _sum([F.col(r) for r in CENSUS_RACES]))
        .select(
            "member_id",
            "basis",
            *[(F.col(r) / F.col("total")).alias(f"q_{r}") for r in CENSUS_RACES],
        )
    )


def bisg_probabilities(
    spark: SparkSession, members: DataFrame, bisg: BisgSpec, codes: tuple[str, ...]
) -> DataFrame:
    """BISG probabilities folded into the dimension's categories.

    Args:
        spark: session used to read the Census tables.
        members: at least member_id, surname, zip, tract.
        bisg: the dimension's BISG settings; `mapping` sends each Census race to a category.
        codes: the dimension's category codes, in order. A category no Census race
            maps to (nhpi and other for race_ethnicity) gets probability 0.

    Returns:
        member_id, basis, and p_<code> DOUBLE per category, summing to 1.
    """
    races = census_race_probabilities(spark, members, bisg)
    return races.select(
        "member_id", "basis", *[_fold(bisg, code).alias(prob_column(code)) for code in codes]
    )


def _fold(bisg: BisgSpec, code: str) -> Column:
    mapped = [F.col(f"q_{r}") for r in CENSUS_RACES if bisg.mapping[r] == code]
    return _sum(mapped) if mapped else F.lit(0.0)


def _sum(columns: list[Column]) -> Column:
    return reduce(lambda a, b: a + b, columns)
