"""Benchmark: p4e's profile-multinomial bootstrap vs a member-level Poisson bootstrap in Spark.

Builds synthetic gold/member_measures and silver/member_demographics in Spark with
hash-based randomness (~50 groups, 6 measures, 8 categories, a share of imputed
members with fractional probabilities), caches them, then times

1. p4e: profile aggregation in Spark + multinomial bootstrap per (group, year) on the
   executors (rates, gaps, equity gaps, replicate equity gaps), at `--members` and B;
2. the usual member-level approach: every member row is repeated for b = 1..B with a
   Poisson(1) weight from a hash of (seed, member, b), weighted sums per (group, year,
   replicate, measure, subgroup) in one aggregation, then percentile CIs of the
   rates (gaps not computed: this baseline does less work than p4e);

and optionally p4e alone at `--large-members` with `--large-replicates`.

    .venv/bin/python benchmarks/bootstrap.py --members 100000 --replicates 200 \
        --large-members 1000000 --large-replicates 1000
"""

from __future__ import annotations

import argparse
import math
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.config import load_config, load_settings
from p4e.config.stats import Eligibility, StatsSettings
from p4e.session import build_session
from p4e.stats import compute_cells
from p4e.stats.profiles import OUTCOME_PREFIX, PROB_PREFIX, member_outcomes

CATEGORIES = ("hispanic", "white", "black", "asian", "aian", "nhpi", "multiracial", "other")
CATEGORY_SHARES = (0.18, 0.45, 0.16, 0.08, 0.02, 0.01, 0.05, 0.05)
MEASURES = ("BCS", "CBP", "COL", "GSD", "GSD_POOR", "WCV")
DIRECTIONS = {m: ("lower" if m == "GSD_POOR" else "higher") for m in MEASURES}
YEAR = 2023
SEED = 20230101


def _uniform(*parts) -> F.Column:
    """A deterministic uniform [0, 1) number from a hash of the parts."""
    bits = F.xxhash64(F.lit(SEED), *parts).bitwiseAND(F.lit((1 << 53) - 1))
    return bits.cast("double") / F.lit(float(1 << 53))


def synthetic_inputs(
    spark: SparkSession, members: int, groups: int, imputed_share: float
) -> tuple[DataFrame, DataFrame]:
    """member_measures and member_demographics (contract schemas) for one year."""
    base = spark.range(members).select(
        F.format_string("M%09d", F.col("id")).alias("member_id"),
        F.format_string("G%03d", (F.col("id") % groups).cast("int")).alias("group_id"),
        F.lit(YEAR).alias("year"),
    )
    u_cat = _uniform(F.col("member_id"), F.lit("category"))
    edges, total = [], 0.0
    for share in CATEGORY_SHARES[:-1]:
        total += share
        edges.append(total)
    category_index = F.lit(len(CATEGORIES) - 1)
    for index in reversed(range(len(edges))):
        category_index = F.when(u_cat < edges[index], F.lit(index)).otherwise(category_index)
    is_imputed = _uniform(F.col("member_id"), F.lit("imputed")) < imputed_share
    # imputed: Dirichlet(1)-like probabilities from 8 hashed exponentials, tilted to the truth
    gammas = [
        -F.log1p(-_uniform(F.col("member_id"), F.lit(f"g{i}")))
        + F.when(F.col("cat") == i, F.lit(2.0)).otherwise(F.lit(0.0))
        for i in range(len(CATEGORIES))
    ]
    gamma_sum = sum(gammas[1:], gammas[0])
    people = base.select("*", category_index.alias("cat"), is_imputed.alias("is_imputed"))
    demographics = people.select(
        "member_id",
        "year",
        F.lit("race_ethnicity").alias("dimension"),
        F.element_at(F.array(*[F.lit(c) for c in CATEGORIES]), F.col("cat") + 1).alias("category"),
        F.when(F.col("is_imputed"), "imputed").otherwise("self_reported").alias("source"),
        *[
            F.when(F.col("is_imputed"), gammas[i] / gamma_sum)
            .otherwise(F.when(F.col("cat") == i, 1.0).otherwise(0.0))
            .alias(PROB_PREFIX + c)
            for i, c in enumerate(CATEGORIES)
        ],
    )
    measures = spark.createDataFrame(
        [(i, m) for i, m in enumerate(MEASURES)], "mi INT, measure_id STRING"
    )
    u = {
        key: _uniform(F.col("member_id"), F.lit(key)) for key in ("age", "old", "sex", "htn", "dm")
    }
    child = u["age"] < 0.25
    adult = ~child
    older = adult & (u["old"] < 0.45)
    # Age/sex bands (a row per member in the band) and denominator events, so that, as in
    # real data, a member is in the population of a few measures, not of all six.
    band = (
        F.when(F.col("measure_id") == "WCV", child)
        .when(F.col("measure_id") == "COL", older)
        .when(F.col("measure_id") == "BCS", older & (u["sex"] < 0.5))
        .otherwise(adult)
    )
    u_den = _uniform(F.col("member_id"), F.col("measure_id"), F.lit("den"))
    denominator = (
        F.when(F.col("measure_id").isin("GSD", "GSD_POOR"), u["dm"] < 0.12)
        .when(F.col("measure_id") == "CBP", u["htn"] < 0.30)
        .otherwise(u_den < 0.9)
    )
    rate = F.lit(0.55) + F.col("mi") * F.lit(0.03) - F.col("cat") * F.lit(0.03)
    u_num = _uniform(F.col("member_id"), F.lit("num"), F.col("measure_id"))
    u_a1c = _uniform(F.col("member_id"), F.lit("a1c"))  # GSD and GSD_POOR share the test
    numerator = (
        F.when(F.col("measure_id") == "GSD", u_a1c < rate)
        .when(F.col("measure_id") == "GSD_POOR", u_a1c > rate + 0.1)
        .otherwise(u_num < rate)
    )
    member_measures = (
        people.crossJoin(F.broadcast(measures))
        .filter(band)
        .select(
            "member_id",
            "group_id",
            "measure_id",
            "year",
            F.lit(True).alias("is_plan_member"),
            denominator.alias("is_denominator"),
            (_uniform(F.col("member_id"), F.col("measure_id"), F.lit("exc")) < 0.03).alias(
                "is_excluded"
            ),
            F.lit(None).cast("string").alias("exclusion_reason"),
            numerator.alias("is_numerator"),
            F.lit(None).cast("date").alias("numerator_date"),
        )
    )
    return member_measures, demographics


def p4e_bootstrap(member_measures: DataFrame, demographics: DataFrame, replicates: int) -> None:
    """Run p4e's bootstrap to completion (cells written to the no-op sink)."""
    settings = StatsSettings(
        dimension="race_ethnicity",
        directions=DIRECTIONS,
        eligibility=Eligibility(baseline_years=(2021,)),
        reference_category="white",
        replicates=replicates,
        seed=SEED,
    )
    cells = compute_cells(member_measures, demographics, settings)
    cells.write.format("noop").mode("overwrite").save()


def _poisson_weight(u: F.Column, max_k: int = 12) -> F.Column:
    """Poisson(1) draw by inverting its CDF at the uniform u."""
    weight = F.lit(max_k)
    cdf, term = 0.0, math.exp(-1.0)
    thresholds = []
    for k in range(max_k):
        cdf += term
        term /= k + 1
        thresholds.append(cdf)
    for k in reversed(range(max_k)):
        weight = F.when(u < thresholds[k], F.lit(k)).otherwise(weight)
    return weight


def poisson_bootstrap(member_measures: DataFrame, demographics: DataFrame, replicates: int) -> None:
    """The member-level Poisson bootstrap: B weighted copies of every member, aggregated."""
    spark = member_measures.sparkSession
    wide = member_outcomes(member_measures, MEASURES, plan_only=True).join(
        demographics, on=["member_id", "year"], how="left"
    )
    subgroups = [*CATEGORIES, "ALL"]
    weight_of = {c: F.col(PROB_PREFIX + c) for c in CATEGORIES} | {"ALL": F.lit(1.0)}
    terms = {}
    for m in MEASURES:
        outcome = F.col(OUTCOME_PREFIX + m)
        for s in subgroups:
            terms[f"n__{m}__{s}"] = F.when(outcome >= 1, weight_of[s]).otherwise(0.0)
            terms[f"k__{m}__{s}"] = F.when(outcome == 2, weight_of[s]).otherwise(0.0)
    members = wide.select("member_id", "group_id", "year", *[v.alias(k) for k, v in terms.items()])
    reps = spark.range(replicates).select(F.col("id").cast("int").alias("replicate"))
    weight = _poisson_weight(_uniform(F.col("member_id"), F.col("replicate"), F.lit("poisson")))
    exploded = members.crossJoin(F.broadcast(reps)).withColumn("w", weight)
    totals = exploded.groupBy("group_id", "year", "replicate").agg(
        *[F.sum(F.col("w") * F.col(name)).alias(name) for name in terms]
    )
    plan_wide = (
        totals.groupBy("year", "replicate")
        .agg(*[F.sum(name).alias(name) for name in terms])
        .withColumn("group_id", F.lit("ALL_GROUPS"))
    )
    cells = [
        F.struct(
            F.lit(m).alias("measure_id"),
            F.lit(s).alias("subgroup"),
            (F.col(f"k__{m}__{s}") / F.col(f"n__{m}__{s}")).alias("rate"),
        )
        for m in MEASURES
        for s in subgroups
    ]
    long = (
        totals.unionByName(plan_wide)
        .select("group_id", "year", "replicate", F.explode(F.array(*cells)).alias("c"))
        .select("group_id", "year", "replicate", "c.*")
    )
    intervals = long.groupBy("group_id", "year", "measure_id", "subgroup").agg(
        F.percentile("rate", F.lit(0.025)).alias("ci_low"),
        F.percentile("rate", F.lit(0.975)).alias("ci_high"),
        F.stddev_samp("rate").alias("se"),
    )
    intervals.write.format("noop").mode("overwrite").save()


def _timed(label: str, fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    elapsed = time.perf_counter() - start
    print(f"{label}: {elapsed:.1f} s", flush=True)
    return elapsed


def _prepared(spark: SparkSession, members: int, groups: int, imputed: float):
    member_measures, demographics = synthetic_inputs(spark, members, groups, imputed)
    member_measures, demographics = member_measures.persist(), demographics.persist()
    print(
        f"inputs: {member_measures.count():,} member_measures rows, "
        f"{demographics.count():,} members, {groups} groups",
        flush=True,
    )
    return member_measures, demographics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--large-members", type=int, default=0, help="0 skips the large run")
    parser.add_argument("--large-replicates", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--imputed-share", type=float, default=0.2)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    settings = load_settings(load_config())
    spark = build_session(
        settings,
        {
            "spark.master": args.master,
            "spark.sql.shuffle.partitions": "8",
            "spark.driver.memory": "6g",
            "spark.ui.enabled": "false",
            "spark.log.level": "ERROR",
        },
    )
    mm, demo = _prepared(spark, args.members, args.groups, args.imputed_share)
    _timed("warm-up (p4e, B=10)", p4e_bootstrap, mm, demo, 10)
    p4e = _timed(
        f"p4e bootstrap, {args.members:,} members, B={args.replicates}",
        p4e_bootstrap,
        mm,
        demo,
        args.replicates,
    )
    poisson = _timed(
        f"Poisson member-level bootstrap, {args.members:,} members, B={args.replicates}",
        poisson_bootstrap,
        mm,
        demo,
        args.replicates,
    )
    print(f"ratio Poisson / p4e: {poisson / p4e:.1f}x", flush=True)
    mm.unpersist()
    demo.unpersist()
    if args.large_members:
        mm, demo = _prepared(spark, args.large_members, args.groups, args.imputed_share)
        _timed(
            f"p4e bootstrap, {args.large_members:,} members, B={args.large_replicates}",
            p4e_bootstrap,
            mm,
            demo,
            args.large_replicates,
        )


if __name__ == "__main__":
    main()
