"""Member -> profile aggregation in Spark: the small table the bootstrap resamples.

A member's profile in a (group, year) is its subgroup probability vector plus its
outcome on every measure (0 = not in the rate population, 1 = in the population and
not in the numerator, 2 = in the population and in the numerator). Members with the
same profile are interchangeable in a member-level bootstrap, so each distinct
profile is kept once with its member count `n_members`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.errors import P4eError

PROB_PREFIX = "p_"
OUTCOME_PREFIX = "o_"
NOT_IN_POPULATION, NOT_NUMERATOR, NUMERATOR = 0, 1, 2


def categories_of(member_demographics: DataFrame) -> list[str]:
    """Category codes of the dimension, from the `p_<code>` columns (in column order).

    Raises:
        P4eError: the table has no `p_` column.
    """
    cats = [c[len(PROB_PREFIX) :] for c in member_demographics.columns if c.startswith(PROB_PREFIX)]
    if not cats:
        raise P4eError("member_demographics has no p_<category> probability columns")
    return cats


def member_outcomes(
    member_measures: DataFrame, measures: Sequence[str], *, plan_only: bool
) -> DataFrame:
    """One row per (member, group, year) with an outcome column `o_<measure>` per measure.

    Args:
        member_measures: gold/member_measures rows.
        measures: measure ids, in the order of the outcome columns.
        plan_only: keep only rows with `is_plan_member`.

    Returns:
        member_id, group_id, year, o_<measure>... (TINYINT, 0 when the member has no row).
    """
    rows = member_measures.filter(F.col("is_plan_member")) if plan_only else member_measures
    in_population = F.col("is_denominator") & ~F.col("is_excluded")
    outcome = (
        F.when(in_population & F.col("is_numerator"), F.lit(NUMERATOR))
        .when(in_population, F.lit(NOT_NUMERATOR))
        .otherwise(F.lit(NOT_IN_POPULATION))
    )
    rows = rows.withColumn("outcome", outcome)
    return rows.groupBy("member_id", "group_id", "year").agg(
        *[
            F.coalesce(F.max(F.when(F.col("measure_id") == m, F.col("outcome"))), F.lit(0))
            .cast("tinyint")
            .alias(OUTCOME_PREFIX + m)
            for m in measures
        ]
    )


def profiles(
    member_measures: DataFrame,
    member_demographics: DataFrame,
    measures: Sequence[str],
    categories: Sequence[str],
    *,
    dimension: str,
    plan_only: bool,
) -> DataFrame:
    """Distinct member profiles and their member counts per (group, year).

    Members without a demographics row for the year keep all-zero probabilities: they
    count in the `ALL` subgroup only.

    Returns:
        group_id, year, p_<category>... (DOUBLE), o_<measure>... (TINYINT), n_members (BIGINT).
        UNATTRIBUTED is a group here (the plan-wide ALL_GROUPS is summed from the
        groups' replicates, see `p4e.stats.bootstrap.plan_wide_cells`).
    """
    probs = [PROB_PREFIX + c for c in categories]
    outcomes = [OUTCOME_PREFIX + m for m in measures]
    demo = member_demographics.filter(F.col("dimension") == dimension).select(
        "member_id", "year", *probs
    )
    members = member_outcomes(member_measures, measures, plan_only=plan_only)
    joined = members.join(demo, on=["member_id", "year"], how="left").select(
        "group_id",
        "year",
        *[F.coalesce(F.col(p).cast("double"), F.lit(0.0)).alias(p) for p in probs],
        *outcomes,
    )
    keys = [*probs, *outcomes]
    return joined.groupBy("group_id", "year", *keys).agg(F.count(F.lit(1)).alias("n_members"))


def check_one_row_per_member_year(member_demographics: DataFrame, dimension: str) -> None:
    """Raise when a member has more than one demographics row in a year (it would count twice).

    Raises:
        P4eError: naming one duplicated (member_id, year).
    """
    dup = (
        member_demographics.filter(F.col("dimension") == dimension)
        .groupBy("member_id", "year")
        .count()
        .filter(F.col("count") > 1)
        .limit(1)
        .collect()
    )
    if dup:
        raise P4eError(
            f"member_demographics has {dup[0]['count']} rows for member {dup[0]['member_id']} "
            f"in {dup[0]['year']}; expected one row per member and year"
        )
