"""Codes as compared: normalised on both the value-set side and the data side.

A code is trimmed, upper-cased and stripped of dots ('z00.121 ' -> 'Z00121');
a code system is trimmed and upper-cased.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.config.valuesets import ValueSets


def normalize_code(col: Column) -> Column:
    """Code as compared: trimmed, dots removed, upper case ('z00.121 ' -> 'Z00121')."""
    return F.upper(F.translate(F.trim(col), ".", ""))


def normalize_system(col: Column) -> Column:
    """Code system as compared: trimmed, upper case."""
    return F.upper(F.trim(col))


def valueset_frame(spark: SparkSession, valuesets: ValueSets, names: set[str]) -> DataFrame:
    """The rows of the value sets in `names` as a small DataFrame with normalised codes.

    Returns:
        Columns value_set, code_system, code (normalised). Two spellings of one code
        ('Z00.121', 'Z00121') give two equal rows; the duplicate events they match
        change no criterion (latest date, distinct dates, lowest reading).
    """
    rows = [row for row in valuesets.rows if row[0] in names]
    df = spark.createDataFrame(rows, "value_set STRING, code_system STRING, code STRING")
    return df.select(
        "value_set",
        normalize_system(F.col("code_system")).alias("code_system"),
        normalize_code(F.col("code")).alias("code"),
    )
