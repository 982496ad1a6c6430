"""BISG and BIFSG imputation as Spark joins against the Census 2010 tables.

For a member with surname s, first name f and geography g, over the six Census races r:

    BISG   P(r | s, g)    ∝ P(r | s) · P(g | r)            (surgeo's SurgeoModel)
    BIFSG  P(r | s, f, g) ∝ P(r | s) · P(f | r) · P(g | r)  (surgeo's BIFSGModel; Voicu 2018)

The geography is the member's census tract (11-digit GEOID) when it is in the Census
tract table, else the ZIP code read as a ZCTA, else none. BIFSG (`bisg.model: bifsg`,
the default) applies per member where the first name is on the first-name list and
the product is not zero for every race; elsewhere the member gets BISG. surgeo
returns NaN in the cases below; p4e falls back instead:

- surname not on the Census list (or empty): the national prior P(r) stands in
  for P(r | s);
- no usable geography (none given, malformed, not in the tables, or every
  P(r | s) · P(g | r) is 0): the geography factor is left out;
- no first name on the list (or model `bisg`): the first-name factor is left out;
- none of the three: the national prior (the member's source is then `unknown`).

`basis` records the evidence used, "+"-joined out of first_name, surname, and tract
or zcta ("none" when nothing was); `imputation_model` is "bifsg" where the first
name was used, "bisg" otherwise, null when the basis is "none".
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.config.dimension import BIFSG, BISG, CENSUS_RACES, BisgSpec, prob_column
from p4e.demographics.census import (
    read_first_name_table,
    read_surname_table,
    read_tract_table,
    read_zcta_table,
)
from p4e.demographics.names import normalize_name

NO_BASIS = "none"


def census_race_probabilities(spark: SparkSession, members: DataFrame, bisg: BisgSpec) -> DataFrame:
    """BISG/BIFSG probabilities over the six Census races, one row per member.

    Args:
        spark: session used to read the Census tables.
        members: at least member_id, surname, zip, tract, and first_name when the
            model is BIFSG (the members contract).
        bisg: the dimension's imputation settings (model, national prior, data location).

    Returns:
        member_id, basis, imputation_model, and q_<race> DOUBLE for white, black, api,
        native, multiple, hispanic, summing to 1.
    """
    first_name = normalize_name("first_name") if bisg.model == BIFSG else F.lit("")
    keys = members.select(
        "member_id",
        normalize_name("surname").alias("name"),
        first_name.alias("first"),
        F.when(F.col("zip").rlike(r"^[0-9]{5}$"), F.col("zip")).alias("zcta"),
        F.when(F.col("tract").rlike(r"^[0-9]{11}$"), F.col("tract")).alias("tract"),
    )
    joined = (
        keys.join(read_surname_table(spark, bisg.census_data), on="name", how="left")
        .join(F.broadcast(read_first_name_table(spark, bisg.census_data)), on="first", how="left")
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
    geo = {
        r: F.when(use_tract, tract[r]).when(use_zcta, zcta[r]).otherwise(surname[r])
        for r in CENSUS_RACES
    }
    first = {r: geo[r] * F.col(f"f_{r}") for r in CENSUS_RACES}
    use_first = _sum(list(first.values())) > 0  # null (not on the list) counts as false
    numer = {r: F.when(use_first, first[r]).otherwise(geo[r]) for r in CENSUS_RACES}
    evidence = [
        F.when(use_first, F.lit("first_name")),
        F.when(has_surname, F.lit("surname")),
        F.when(use_tract, F.lit("tract")).when(use_zcta, F.lit("zcta")),
    ]
    basis = F.concat_ws("+", *evidence)
    basis = F.when(basis == "", F.lit(NO_BASIS)).otherwise(basis)
    model = F.when(basis == NO_BASIS, F.lit(None)).when(use_first, F.lit(BIFSG)).otherwise(BISG)
    return (
        joined.select(
            "member_id",
            basis.alias("basis"),
            model.cast("string").alias("imputation_model"),
            *[numer[r].alias(r) for r in CENSUS_RACES],
        )
        .withColumn("total", _sum([F.col(r) for r in CENSUS_RACES]))
        .select(
            "member_id",
            "basis",
            "imputation_model",
            *[(F.col(r) / F.col("total")).alias(f"q_{r}") for r in CENSUS_RACES],
        )
    )


def bisg_probabilities(
    spark: SparkSession, members: DataFrame, bisg: BisgSpec, codes: tuple[str, ...]
) -> DataFrame:
    """BISG/BIFSG probabilities folded into the dimension's categories.

    Args:
        spark: session used to read the Census tables.
        members: at least member_id, surname, zip, tract (and first_name for BIFSG).
        bisg: the dimension's imputation settings; `mapping` sends each Census race to a
            category.
        codes: the dimension's category codes, in order. A category no Census race
            maps to (nhpi and other for race_ethnicity) gets probability 0.

    Returns:
        member_id, basis, imputation_model, and p_<code> DOUBLE per category, summing to 1.
    """
    races = census_race_probabilities(spark, members, bisg)
    return races.select(
        "member_id",
        "basis",
        "imputation_model",
        *[_fold(bisg, code).alias(prob_column(code)) for code in codes],
    )


def _fold(bisg: BisgSpec, code: str) -> Column:
    mapped = [F.col(f"q_{r}") for r in CENSUS_RACES if bisg.mapping[r] == code]
    return _sum(mapped) if mapped else F.lit(0.0)


def _sum(columns: list[Column]) -> Column:
    return reduce(lambda a, b: a + b, columns)
