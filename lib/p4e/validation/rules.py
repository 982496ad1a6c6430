"""Row rules of every raw input table, as Spark expressions naming what is wrong.

A rule is (reason, condition): the row breaks the rule where the condition is
true. Rules that *reject* keep a row out of silver; rules that *flag* keep the
row but null the offending value (a malformed ZIP leaves the member in, with
unknown geography). Both write a quarantine row with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

from p4e.config.sections import ValidationSettings

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2100, 12, 31)

KEYS: dict[str, tuple[str, ...]] = {
    "provider_groups": ("group_id",),
    "members": ("member_id", "birth_date", "sex"),
    "race_ethnicity": ("member_id", "source", "code", "recorded_date"),
    "enrollment": ("member_id", "payer", "start_date", "end_date"),
    "attribution": ("member_id", "group_id", "year"),
    "claims": ("claim_id", "member_id", "service_date", "code_system", "code"),
    "observations": ("observation_id", "member_id", "observation_date", "code_system", "code"),
}
DATES: dict[str, tuple[str, ...]] = {
    "members": ("birth_date", "death_date"),
    "race_ethnicity": ("recorded_date",),
    "enrollment": ("start_date", "end_date"),
    "claims": ("service_date",),
    "observations": ("observation_date",),
}


@dataclass(frozen=True)
class Rule:
    """One check: rows where `broken` is true get `reason`; `flags` names the column
    nulled instead of rejecting the row (None = reject)."""

    reason: str
    broken: Column
    flags: str | None = None


def _out_of_range(column: str) -> Column:
    return F.col(column).isNotNull() & (
        (F.col(column) < F.lit(EARLIEST)) | (F.col(column) > F.lit(LATEST))
    )


def table_rules(
    table: str,
    *,
    answer_codes: list[str],
    answer_sources: list[str],
    validation: ValidationSettings,
) -> list[Rule]:
    """The rules of `table`.

    Args:
        table: raw table name.
        answer_codes: codes the dimension's source table may hold (categories and declined).
        answer_sources: sources the dimension's source table may name.
        validation: the accepted code systems and the plausible value range per LOINC code.
    """
    rules = [Rule(f"null key {key}", F.col(key).isNull()) for key in KEYS.get(table, ())]
    rules += [
        Rule(f"{column} out of range {EARLIEST}..{LATEST}", _out_of_range(column))
        for column in DATES.get(table, ())
    ]
    if table == "members":
        rules += _member_rules()
    elif table == "race_ethnicity":
        rules += [
            Rule(
                f"source is not one of {', '.join(answer_sources)}",
                ~F.col("source").isin(*answer_sources),
            ),
            Rule("unknown category code", ~F.col("code").isin(*answer_codes)),
        ]
    elif table == "enrollment":
        rules.append(Rule("end_date before start_date", F.col("end_date") < F.col("start_date")))
    elif table == "attribution":
        rules.append(
            Rule(
                "year out of range",
                (F.col("year") < EARLIEST.year) | (F.col("year") > LATEST.year),
            )
        )
    elif table in ("claims", "observations"):
        rules.append(
            Rule(
                "unknown code system",
                ~F.upper(F.col("code_system")).isin(*validation.code_systems),
            )
        )
    if table == "observations":
        rules += _value_rules(validation)
    return rules


def _member_rules() -> list[Rule]:
    return [
        Rule("sex is not F or M", ~F.col("sex").isin("F", "M")),
        Rule("death_date before birth_date", F.col("death_date") < F.col("birth_date")),
        Rule(
            "zip is not 5 digits (kept as unknown geography)",
            F.col("zip").isNotNull() & ~F.col("zip").rlike(r"^[0-9]{5}$"),
            flags="zip",
        ),
        Rule(
            "tract is not an 11-digit GEOID (kept as unknown tract)",
            F.col("tract").isNotNull() & ~F.col("tract").rlike(r"^[0-9]{11}$"),
            flags="tract",
        ),
    ]


def _value_rules(validation: ValidationSettings) -> list[Rule]:
    """A numeric result must be there, and inside the plausible range of its code."""
    rules = [Rule("value is missing or not a number", F.isnan("value") | F.col("value").isNull())]
    for code, (low, high) in sorted(validation.value_ranges.items()):
        outside = (F.col("value") < low) | (F.col("value") > high)
        rules.append(
            Rule(
                f"impossible value for {code} (outside {low}..{high})",
                (F.col("code") == code) & outside,
            )
        )
    return rules
