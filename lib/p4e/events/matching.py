"""Matching coded events to value sets: exact codes and code families (`E11*`).

Codes are compared normalised on both sides: trimmed, upper case, without dots
('z00.121 ' -> 'Z00121'; ICD-10 matches with or without the dot); NDCs keep their
digits only. A value-set code ending in `*` is a prefix. Each event is looked up
under its code and under its first L characters + '*' for every prefix length L
the value sets use, in one broadcast equi-join.
"""

from __future__ import annotations

import re

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.config.valuesets import ValueSets

PREFIX = "*"


def normalize_code(col: Column) -> Column:
    """Code as compared: trimmed, dots removed, upper case ('z00.121 ' -> 'Z00121')."""
    return F.upper(F.translate(F.trim(col), ".", ""))


def _normalized(namespace: str, code: str) -> str:
    """The Python twin of `normalize_code` for value-set rows (NDC: digits only)."""
    if namespace == "NDC":
        return re.sub(r"[^0-9*]", "", code)
    return code.strip().replace(".", "").upper()


def valueset_frame(spark: SparkSession, valuesets: ValueSets) -> DataFrame:
    """value_set, namespace, key (the normalised code, or prefix + '*') of every row.

    Two spellings of one code ('Z00.121', 'Z00121') give one row.
    """
    rows = sorted({(name, ns, _normalized(ns, code)) for name, ns, code in valuesets.rows})
    return spark.createDataFrame(rows, "value_set STRING, namespace STRING, key STRING")


def prefix_lengths(valuesets: ValueSets) -> list[int]:
    """The lengths of the prefixes the value sets list."""
    return sorted(
        {len(_normalized(ns, code)) - 1 for _, ns, code in valuesets.rows if code.endswith(PREFIX)}
    )


def match_value_sets(spark: SparkSession, events: DataFrame, valuesets: ValueSets) -> DataFrame:
    """`events` (with normalised `namespace`, `code`) joined to every value set listing the
    code: one row per (event, value set), column `value_set` added."""
    code = F.col("code")
    prefixes = [F.concat(F.substring(code, 1, n), F.lit(PREFIX)) for n in prefix_lengths(valuesets)]
    keys = [code, *prefixes]
    return (
        events.withColumn("key", F.explode(F.array_distinct(F.array(*keys))))
        .join(F.broadcast(valueset_frame(spark, valuesets)), on=["namespace", "key"], how="inner")
        .drop("key")
    )
