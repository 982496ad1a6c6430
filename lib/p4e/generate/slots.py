"""Categorical draws in Spark through inverse-CDF slot tables joined by broadcast.

A distribution over values is tabulated as `k` equal-mass slots (slot i holds the
value at quantile (i + 0.5) / k); a row draws by joining its stratum and
`floor(u * k)`. An equi-join on a broadcast table scales to any row count, unlike
a range join on cumulative probabilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F


def inverse_cdf(values: np.ndarray, weights: np.ndarray, k: int) -> pd.DataFrame:
    """Slot table of one distribution: columns slot (0..k-1) and value."""
    cdf = np.cumsum(weights) / np.sum(weights)
    index = np.searchsorted(cdf, (np.arange(k) + 0.5) / k, side="right")
    return pd.DataFrame({"slot": np.arange(k, dtype="int32"), "value": values[index]})


def to_spark(spark: SparkSession, table: pd.DataFrame) -> DataFrame:
    """A small pandas table as a broadcast-hinted Spark DataFrame."""
    return F.broadcast(spark.createDataFrame(table))


def draw(
    df: DataFrame, table: DataFrame, strata: list[str], u: Column, k: int, name: str
) -> DataFrame:
    """Add column `name`: a value drawn from `table` in the row's stratum with uniform `u`.

    Args:
        df: rows to draw for; must hold the `strata` columns.
        table: slot table with the `strata` columns, slot and value.
        strata: columns naming the distribution of a row (e.g. ["category"]).
        u: uniform [0, 1) draw of the row.
        k: slots per stratum in `table`.
        name: name of the added column.
    """
    slot = "_slot"
    return (
        df.withColumn(slot, F.floor(u * k).cast("int"))
        .join(table.withColumnRenamed("slot", slot), on=[*strata, slot], how="left")
        .drop(slot)
        .withColumnRenamed("value", name)
    )
