"""One answer per member and year by source precedence, then BISG for the rest.

For measurement year y only records dated on or before Dec 31 of y count. The
strongest source wins (dimension `precedence`, e.g. self-reported over
provider-reported); within a source the latest `recorded_date`; on the same
date a category code before the declined code, then the smallest code.

The winning record decides the member's `source` for the year:

- a category code: `self_reported` / `provider_reported`, `category` = the code,
  probability 1.0 on it;
- the declined code (from either channel): `declined`, `category` = the declined
  code; it is an answer for completeness, but the probabilities are imputed;
- no record: `imputed` when BISG has a surname or a geography to go on,
  otherwise (or when the dimension has no imputation) `unknown`; `category` null.

Members without a reported category (declined, imputed, unknown) get the BIFSG/BISG
probabilities (`imputation_model` says which), or the dimension's prior when
imputation has nothing to go on.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from p4e.config.dimension import Dimension, prob_column
from p4e.demographics.bisg import NO_BASIS, bisg_probabilities
from p4e.tables.vocabulary import DECLINED, IMPUTED, UNKNOWN


def answers_in_force(records: DataFrame, dim: Dimension, years: list[int]) -> DataFrame:
    """The record that decides each member's answer in each year.

    Args:
        records: validated answers (member_id, source, code, recorded_date).
        dim: the dimension (its reported sources in precedence order).
        years: measurement years.

    Returns:
        member_id, year INT, source, code: one row per member and year with a record
        dated on or before Dec 31 of that year.
    """
    rank = F.array_position(F.array(*[F.lit(s) for s in dim.reported_sources]), F.col("source"))
    order = Window.partitionBy("member_id", "year").orderBy(
        rank.asc(),
        F.col("recorded_date").desc(),
        (F.col("code") == F.lit(dim.declined_code)).asc(),
        F.col("code").asc(),
    )
    return (
        records.select("member_id", "source", "code", "recorded_date", _years(years))
        .filter(F.col("recorded_date") <= F.make_date(F.col("year"), F.lit(12), F.lit(31)))
        .withColumn("_rank", F.row_number().over(order))
        .filter(F.col("_rank") == 1)
        .select("member_id", "year", "source", "code")
    )


def member_demographics(
    spark: SparkSession, members: DataFrame, records: DataFrame, dim: Dimension, years: list[int]
) -> DataFrame:
    """silver/member_demographics: one row per member and year with source and probabilities.

    Args:
        spark: session (BISG reads the Census tables with it).
        members: silver/members.
        records: the dimension's validated answers (silver/<dim.source_table>).
        dim: the dimension configuration.
        years: measurement years.

    Returns:
        member_id STRING, year INT, dimension STRING, category STRING, source STRING,
        answer_source STRING, imputation_model STRING, then p_<code> DOUBLE per category
        (summing to 1).
    """
    member_years = members.select("member_id", _years(years))
    df = member_years.join(
        answers_in_force(records, dim, years), on=["member_id", "year"], how="left"
    )
    if dim.bisg is not None:
        imputed = bisg_probabilities(spark, members, dim.bisg, dim.codes)
        df = df.join(imputed, on="member_id", how="left")
        has_estimate = F.col("basis").isNotNull() & (F.col("basis") != F.lit(NO_BASIS))
        model = F.col("imputation_model")
    else:
        has_estimate, model = F.lit(False), F.lit(None)
    is_declined = F.col("code") == F.lit(dim.declined_code)
    is_reported = F.col("code").isNotNull() & ~is_declined
    source = (
        F.when(is_reported, F.col("source"))
        .when(is_declined, F.lit(DECLINED))
        .when(has_estimate, F.lit(IMPUTED))
        .otherwise(F.lit(UNKNOWN))
    )
    return df.select(
        "member_id",
        "year",
        F.lit(dim.name).alias("dimension"),
        F.col("code").alias("category"),
        source.alias("source"),
        F.col("source").alias("answer_source"),
        F.when(~is_reported & has_estimate, model).cast("string").alias("imputation_model"),
        *[
            _probability(dim, code, is_reported, has_estimate).alias(prob_column(code))
            for code in dim.codes
        ],
    )


def _probability(dim: Dimension, code: str, is_reported: Column, has_estimate: Column) -> Column:
    estimate = F.col(prob_column(code)) if dim.bisg is not None else F.lit(None)
    return (
        F.when(is_reported, F.when(F.col("code") == F.lit(code), 1.0).otherwise(0.0))
        .when(has_estimate, estimate)
        .otherwise(F.lit(float(dim.prior[code])))
        .cast("double")
    )


def _years(years: list[int]) -> Column:
    return F.explode(F.array(*[F.lit(int(y)) for y in years])).alias("year")
