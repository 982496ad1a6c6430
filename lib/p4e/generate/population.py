"""Members, provider groups, monthly attribution and eligibility, built by Spark from the plan.

Member i (0-based) gets the position `(a * i + b) mod N` of an affine permutation;
the planted groups take consecutive blocks of positions (exact sizes), the others
are spread over the background groups by their Zipf weights. Everything else about
a member is drawn from hashes of (seed, member_id).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.generate.census import CENSUS_COLUMN, SLOTS, invented_surnames, slot_tables
from p4e.generate.hashing import below, day_of_year, pick, uniform, year_start
from p4e.generate.plan import Plan
from p4e.generate.scenarios import CATEGORIES
from p4e.generate.slots import draw, inverse_cdf, to_spark

PERMUTATION_MULTIPLIER = 2_654_435_761  # prime, so coprime with any member count below it
GROUP_SLOTS = 10_000
CATEGORY_SLOTS = 1_000
MAX_AGE = 90
FEMALE_SHARE = 0.51
TRACT_SHARE = 0.70
INVENTED_SURNAME_SHARE = 0.02
DEATH_SHARE_OLD, DEATH_SHARE_OTHER, OLD_AGE = 0.06, 0.005, 70
UNATTRIBUTED_SHARE = 0.06
UNKNOWN_GENDER_SHARE = 0.005
# Shares of members per enrollment pattern (one gap <= 45 days, one gap of 46-150 days,
# two gaps <= 45 days, first enrolled mid-period, disenrolled mid-period); the rest are
# continuously enrolled.
ENROLLMENT_MIX = {
    "one_short_gap": 0.12,
    "one_long_gap": 0.08,
    "two_gaps": 0.05,
    "joins": 0.07,
    "leaves": 0.03,
}
OPEN_END_SHARE = 0.85  # of spans running to the end of the last year: no end date
OTHER_PAYER = "other-payer"
OTHER_PAYER_SHARE = 0.5  # of long gaps: covered by another payer (which fills no gap)
SWITCH_SHARE = 0.05  # of attributed member-years: the first months attributed elsewhere


def members_frame(spark: SparkSession, plan: Plan) -> DataFrame:
    """Every member with its hidden truth (home group, true category) and public attributes.

    Returns:
        Columns member_id, group_id, category, birth_date, sex (F or M, the truth), gender
        (as recorded: female, male, or unknown for a few), first_name, surname, zip,
        tract, death_date.
    """
    seed, n = plan.seed, plan.members
    position = (F.col("id") * (PERMUTATION_MULTIPLIER % n) + seed % n) % n
    df = spark.range(n).select(
        F.format_string("M%08d", F.col("id") + 1).alias("member_id"), position.alias("position")
    )

    def u(salt: str) -> Column:
        return uniform(seed, salt, "member_id")

    df = _assign_groups(spark, df, plan, u("group"))
    df = draw(
        df,
        to_spark(spark, _mix_slots(plan)),
        ["group_id"],
        u("category"),
        CATEGORY_SLOTS,
        "category",
    )
    tables = {name: to_spark(spark, t) for name, t in slot_tables().items()}
    census_race = F.create_map(*[F.lit(x) for pair in CENSUS_COLUMN.items() for x in pair])
    df = df.withColumn("census_race", F.element_at(census_race, F.col("category")))
    for name, table in tables.items():
        df = draw(df, table, ["census_race"], u(name), SLOTS[name], name)
    age = below(u("age"), 0, MAX_AGE)
    birth_year = F.lit(plan.last_year) - age
    death_share = F.when(age >= OLD_AGE, DEATH_SHARE_OLD).otherwise(DEATH_SHARE_OTHER)
    can_die = (birth_year < plan.first_year) & (u("death") < death_share)
    death_offset = below(u("death_day"), 0, _days(plan.first_year, plan.last_year) - 1)
    return df.select(
        "member_id",
        "group_id",
        "category",
        day_of_year(birth_year, u("birth_day")).alias("birth_date"),
        F.when(u("sex") < FEMALE_SHARE, "F").otherwise("M").alias("sex"),
        F.when(u("gender_unknown") < UNKNOWN_GENDER_SHARE, "unknown")
        .when(u("sex") < FEMALE_SHARE, "female")
        .otherwise("male")
        .alias("gender"),
        F.initcap("first_name").alias("first_name"),
        F.when(u("invented") < INVENTED_SURNAME_SHARE, pick(invented_surnames(), u("inv_name")))
        .otherwise(F.initcap("surname"))
        .alias("surname"),
        "zip",
        F.when(u("has_tract") < TRACT_SHARE, F.col("tract")).alias("tract"),
        F.when(can_die, F.date_add(year_start(F.lit(plan.first_year)), death_offset)).alias(
            "death_date"
        ),
    )


def _days(first_year: int, last_year: int) -> int:
    return int((pd.Timestamp(last_year + 1, 1, 1) - pd.Timestamp(first_year, 1, 1)).days)


def _assign_groups(spark: SparkSession, df: DataFrame, plan: Plan, u: Column) -> DataFrame:
    """Planted groups by position block; background groups by Zipf weight."""
    background = plan.groups[plan.groups["weight"] > 0]
    slots = inverse_cdf(
        background["group_id"].to_numpy(), background["weight"].to_numpy(), GROUP_SLOTS
    )
    df = draw(df, to_spark(spark, slots), [], u, GROUP_SLOTS, "background_group")
    planted = plan.groups[plan.groups["size"] > 0]
    group = F.col("background_group")
    for row in planted.itertuples(index=False):
        block = (F.col("position") >= row.first_index) & (
            F.col("position") < row.first_index + row.size
        )
        group = F.when(block, F.lit(row.group_id)).otherwise(group)
    return df.withColumn("group_id", group).drop("background_group", "position")


def _mix_slots(plan: Plan) -> pd.DataFrame:
    """Slot table of each group's true-category mix (group_id, slot, value)."""
    frames = [
        inverse_cdf(
            np.array(CATEGORIES),
            np.array([getattr(row, f"mix_{c}") for c in CATEGORIES], dtype=float),
            CATEGORY_SLOTS,
        ).assign(group_id=row.group_id)
        for row in plan.groups.itertuples(index=False)
    ]
    return pd.concat(frames, ignore_index=True)


def provider_groups(spark: SparkSession, plan: Plan) -> DataFrame:
    """provider_groups(group_id, group_name) of every background and planted group."""
    return spark.createDataFrame(plan.groups[["group_id", "group_name"]])


def provider_attribution(members: DataFrame, plan: Plan, payer: str) -> DataFrame:
    """provider_attribution(person_id, year_month, payer, payer_attributed_provider_organization,
    custom_attributed_provider_organization): every month of each measurement year the
    member was alive and enrolled (gaps included), to the home group, except a share of
    unattributed member-years and, in a share of them, the first 1-6 months attributed
    to another group (the latest month, which picks the year's group, stays home)."""
    start, end = _enrollment_bounds(plan)
    year = F.col("year")
    first = F.greatest(F.col("start"), year_start(year), F.col("birth_date"))
    last = F.least(F.col("end"), F.make_date(year, F.lit(12), F.lit(31)))
    attributed = uniform(plan.seed, "unattributed", "member_id", "year") >= UNATTRIBUTED_SHARE
    switches = uniform(plan.seed, "switch", "member_id", "year") < SWITCH_SHARE
    until = below(uniform(plan.seed, "switch_month", "member_id", "year"), 1, 6)
    groups = plan.groups["group_id"].tolist()
    other = F.element_at(
        F.array(*[F.lit(g) for g in groups]),
        below(uniform(plan.seed, "switch_group", "member_id", "year"), 1, len(groups)),
    )
    month = F.col("month")
    organization = F.when(switches & (month <= until) & (month < F.month("last")), other)
    return (
        members.select(
            "member_id", "group_id", "birth_date", start.alias("start"), end.alias("end")
        )
        .withColumn("year", F.explode(F.sequence(F.lit(plan.first_year), F.lit(plan.last_year))))
        .where(attributed)
        .withColumn("last", last)
        .where(first <= F.col("last"))
        .withColumn("month", F.explode(F.sequence(F.month(first), F.month("last"))))
        .select(
            F.col("member_id").alias("person_id"),
            F.format_string("%04d%02d", year, month).alias("year_month"),
            F.lit(payer).alias("payer"),
            F.coalesce(organization, F.col("group_id")).alias(
                "payer_attributed_provider_organization"
            ),
            F.lit(None).cast("string").alias("custom_attributed_provider_organization"),
        )
    )


def ever_enrolled(plan: Plan) -> Column:
    """True for a member enrolled on some day (not one who would join after dying): the
    plan's feed holds no one else."""
    start, end = _enrollment_bounds(plan)
    return start <= end


def _enrollment_bounds(plan: Plan) -> tuple[Column, Column]:
    """First and last enrolled day of a member (before gaps)."""
    u = uniform(plan.seed, "enroll_type", "member_id")
    period_start = year_start(F.lit(plan.event_years[0]))
    period_days = _days(plan.event_years[0], plan.last_year) - 1
    start = F.greatest(period_start, F.col("birth_date"))
    joins = (u >= 1.0 - ENROLLMENT_MIX["joins"]) & (u < 1.0)
    leaves = (u >= 1.0 - ENROLLMENT_MIX["joins"] - ENROLLMENT_MIX["leaves"]) & ~joins
    join_day = F.date_add(
        period_start, below(uniform(plan.seed, "join_day", "member_id"), 0, period_days)
    )
    leave_day = F.date_add(
        period_start, below(uniform(plan.seed, "leave_day", "member_id"), 0, period_days)
    )
    start = F.when(joins, F.greatest(start, join_day)).otherwise(start)
    end = F.make_date(F.lit(plan.last_year), F.lit(12), F.lit(31))
    end = F.when(leaves & (leave_day >= start), leave_day).otherwise(end)
    end = F.least(end, F.coalesce(F.col("death_date"), end))
    return start, end


def eligibility(members: DataFrame, plan: Plan, payer: str) -> DataFrame:
    """eligibility: one row per coverage span, repeating who the person is.

    Members are enrolled with `payer` from Jan 1 of the first event year (or birth, or a
    uniform join day for mid-period joiners) to Dec 31 of the last year (or death, or a
    uniform leave day for leavers), with the planned gap mix: gaps start at a uniform
    point of the enrolled period (the first of two gaps in its first half, the second in
    its second half); short gaps last 1-45 days, long ones 46-150 days, and half of the
    long ones are covered by another payer. A span running to the end of the last year
    is mostly open (no end date), as a current enrollment is.
    """
    seed = plan.seed
    start, end = _enrollment_bounds(plan)
    u = uniform(seed, "enroll_type", "member_id")
    mix = ENROLLMENT_MIX
    one_short = u < mix["one_short_gap"]
    one_long = (u >= mix["one_short_gap"]) & (u < mix["one_short_gap"] + mix["one_long_gap"])
    two = (u >= mix["one_short_gap"] + mix["one_long_gap"]) & (
        u < mix["one_short_gap"] + mix["one_long_gap"] + mix["two_gaps"]
    )
    length = F.datediff("end", "start")

    def gap_start(salt: str, low: float, high: float) -> Column:
        fraction = F.lit(low) + uniform(seed, salt, "member_id") * (high - low)
        return F.date_add("start", F.floor(fraction * length).cast("int"))

    short = below(uniform(seed, "gap1_len", "member_id"), 1, 45)
    gap1_len = F.when(one_long, below(uniform(seed, "gap1_long", "member_id"), 46, 150)).otherwise(
        short
    )
    gap1 = F.when(two, gap_start("gap1_at", 0.05, 0.45)).otherwise(gap_start("gap1_at", 0.05, 0.95))
    gap2 = gap_start("gap2_at", 0.55, 0.95)
    gap2_len = below(uniform(seed, "gap2_len", "member_id"), 1, 45)
    after1 = F.date_add(gap1, gap1_len)
    other = one_long & (uniform(seed, "other_payer", "member_id") < OTHER_PAYER_SHARE)
    spans = (
        F.when(
            one_short | one_long,
            F.array(
                _span("start", F.date_sub(gap1, 1), payer),
                _span(after1, "end", payer),
                _span(gap1, F.date_sub(after1, 1), F.when(other, OTHER_PAYER)),
            ),
        )
        .when(
            two,
            F.array(
                _span("start", F.date_sub(gap1, 1), payer),
                _span(after1, F.date_sub(gap2, 1), payer),
                _span(F.date_add(gap2, gap2_len), "end", payer),
            ),
        )
        .otherwise(F.array(_span("start", "end", payer)))
    )
    last_day = F.make_date(F.lit(plan.last_year), F.lit(12), F.lit(31))
    is_open = (F.col("span.end_date") == last_day) & (
        uniform(seed, "open_end", "member_id") < OPEN_END_SHARE
    )
    return (
        members.select("*", start.alias("start"), end.alias("end"))
        .where(F.col("start") <= F.col("end"))
        .select("*", F.explode(spans).alias("span"))
        .where(
            F.col("span.payer").isNotNull() & (F.col("span.start_date") <= F.col("span.end_date"))
        )
        .select(
            F.col("member_id").alias("person_id"),
            "gender",
            "birth_date",
            "death_date",
            F.col("span.start_date").alias("enrollment_start_date"),
            F.when(~is_open, F.col("span.end_date")).alias("enrollment_end_date"),
            F.col("span.payer").alias("payer"),
            F.lit("commercial").alias("plan"),
            "first_name",
            F.col("surname").alias("last_name"),
            F.col("zip").alias("zip_code"),
            F.col("tract").alias("census_tract"),
        )
    )


def _span(start: Column | str, end: Column | str, payer: str | Column) -> Column:
    return F.struct(
        _col(start).alias("start_date"),
        _col(end).alias("end_date"),
        (F.lit(payer) if isinstance(payer, str) else payer).alias("payer"),
    )


def _col(column: Column | str) -> Column:
    return F.col(column) if isinstance(column, str) else column
